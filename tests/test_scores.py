"""The kept figures are the same whichever way they were measured: a whole rebuild (pages
of members, each source's lines read once a page through the light reader) or the
per-member path that follows the feed after an ingest (the lines' models)."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.connectors.models import SourceName
from membergraph.identity.store.metrics_port import MetricsRow
from membergraph.settings import Settings
from tests.conftest import read_jsonl
from tests.support.mongo import EmulatedClient, load

URL = "mongodb://mongo.example:27017/membergraph?replicaSet=rs0"


@pytest.fixture(params=["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def gateway_app(request: pytest.FixtureRequest, settings: Settings, data_dir: Path) -> Any:
    """The app over the demo set as of a fixed day, on the embedded store or on MongoDB
    (emulated; store and sources: its light reader is the collections')."""
    reference = {"reference_date": date(2026, 11, 21)}
    if request.param == "sqlite":
        return create_app(settings.model_copy(update=reference))
    client = EmulatedClient()
    on_mongo = Settings(store=URL, sources=URL, cache_dir=settings.cache_dir, **reference)  # type: ignore[arg-type]
    asyncio.run(load(data_dir, URL, client, on_mongo))
    return create_app(on_mongo, mongo_client=client)


def _lines(card: str, email: str, visitor: str, contact: dict[str, Any]) -> dict[str, list[Any]]:
    """Lines that reach every figure, dated the ways sources date them."""
    purchase = {"loyalty_id": card, "channel": "store", "store_id": "S-9", "amount_cents": 4200}
    return {
        "transactions": [
            # An offset timestamp: its own month (October) is not UTC's (November).
            {**purchase, "transaction_id": "T-EVE", "occurred_at": "2026-10-31T23:30:00-02:00"},
            # A naive one is read as UTC; a refund line takes its amount off spend.
            {**purchase, "transaction_id": "T-NAIVE", "occurred_at": "2026-11-02T08:00:00"},
            {
                **purchase,
                "transaction_id": "T-REFUND",
                "occurred_at": "2026-11-03T08:00:00.123456Z",
                "amount_cents": -1500,
                "status": "refunded",
                "points_redeemed": 30,
            },
            {
                "transaction_id": "T-ONLINE",
                "email": email,
                "channel": "online",
                "occurred_at": "2025-06-01T10:00:00+05:30",
                "amount_cents": 990,
                "points_earned": 9,
            },
        ],
        "web_analytics": [
            {
                "event_id": "E-OPEN",
                "anonymous_id": visitor,
                "type": "track",
                "name": "Email Opened",
                "occurred_at": "2026-11-20T07:00:00Z",
            },
            {
                "event_id": "E-SMS",
                "anonymous_id": visitor,
                "type": "track",
                "name": "Consent Updated",
                "occurred_at": "2026-11-20T08:00:00Z",
                "properties": {"channel": "sms", "granted": False},
            },
        ],
        # A consent withdrawn in a newer version of a contact: the older one is recorded.
        "crm": [
            {
                **contact,
                "consents": {"email": False, "push": True},
                "updated_at": "2026-11-19T00:00:00Z",
            }
        ],
    }


def _every_row(client: TestClient) -> dict[str, MetricsRow | None]:
    gateway = client.app.state.gateway  # type: ignore[attr-defined]

    async def read() -> dict[str, MetricsRow | None]:
        await gateway.scores.catch_up()
        ids: list[str] = []
        after = None
        while page := await gateway.identity.store.page_members(after, 500):
            ids += page
            after = page[-1]
        kept = await gateway.scores.metrics.scored(ids)
        return {m: None if k is None else k.row for m, k in zip(ids, kept, strict=True)}

    return client.portal.call(read)  # type: ignore[union-attr,no-any-return]


def test_a_rebuild_and_the_per_member_path_keep_the_same_rows(
    gateway_app: Any, data_dir: Any
) -> None:
    # Given the demo data loaded (its figures measured whole, as a first load does), then
    # lines ingested whose members the feed has measured again one by one
    transactions = read_jsonl(data_dir / "transactions.jsonl")
    card = next(str(t["loyalty_id"]) for t in transactions if t.get("loyalty_id"))
    email = next(str(t["email"]) for t in transactions if t.get("email"))
    events = read_jsonl(data_dir / "web_analytics.jsonl")
    visitor = str(events[0]["anonymous_id"])
    contact = next(c for c in read_jsonl(data_dir / "crm.jsonl") if c.get("consents"))
    with TestClient(gateway_app, base_url="http://127.0.0.1") as client:
        keeper = client.app.state.gateway.scores  # type: ignore[attr-defined]
        for source, lines in _lines(card, email, visitor, contact).items():
            answer = client.post(f"/ingest/{source}", json=lines)
            assert answer.status_code == 200, answer.text
        followed = _every_row(client)
        assert None not in followed.values()
        # when every member is measured on its own, from the lines' models
        alone = {}
        for member in followed:
            rows, gone = client.portal.call(keeper.measure, [member])  # type: ignore[union-attr]
            assert gone == []
            alone[member] = rows[0]
        # and everyone again by a rebuild, in pages small enough to take several
        keeper.bulk_page = 64
        connector = client.app.state.gateway.sources[SourceName.TRANSACTIONS]  # type: ignore[attr-defined]
        calls = connector.calls
        client.portal.call(keeper.rebuild)  # type: ignore[union-attr]
        rebuilt = _every_row(client)
    # then the three agree, row for row, on every member
    assert alone == followed
    assert rebuilt == followed
    # and the rebuild read each source once a page at most, not once a member (a page whose
    # members have no purchase record reads none)
    assert 0 < connector.calls - calls <= -(-len(followed) // 64)

"""A refund whose purchase is not held, over HTTP on a real store: spend, tier, RFM and
memberStats agree, none negative, and the purchase arriving takes the refund then
(user30 8a: lifetimeSpendCents -100, then -85 after three purchases of 5 cents)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.conftest import gql

RITA = {
    "contact_id": "R-1",
    "first_name": "Rita",
    "last_name": "Refund",
    "emails": ["rita@mail-example.org"],
    "loyalty_id": "LD77770001",
    "updated_at": "2026-01-01T00:00:00Z",
}
REFUND = {
    "transaction_id": "RT-1",
    "loyalty_id": "LD77770001",
    "channel": "store",
    "occurred_at": "2026-03-03T10:00:00Z",
    "amount_cents": -100,
    "status": "refunded",
}
FIGURES = """{ memberByIdentifier(kind: CRM_ID, value: "R-1") {
  loyalty { lifetimeSpendCents rolling12mSpendCents tier } rfm { spend12mCents } }
  memberStats { spendCents } }"""


def _purchase(tid: str, at: str, cents: int) -> dict[str, Any]:
    return {**REFUND, "transaction_id": tid, "occurred_at": at, "amount_cents": cents,
            "status": "completed"}  # fmt: skip


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_bytes(orjson.dumps(RITA) + b"\n")
    (data / "transactions.jsonl").write_bytes(orjson.dumps(REFUND) + b"\n")
    settings = Settings(
        data=data,
        store=f"sqlite:///{tmp_path / 'id.db'}",
        cache_dir=tmp_path / "cache",
        reference_date=date(2026, 11, 21),
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as test_client:
        yield test_client


def _figures(client: TestClient) -> tuple[int, int, int, int, str]:
    data = gql(client, FIGURES)["data"]
    member = data["memberByIdentifier"]  # type: ignore[index]
    loyalty = member["loyalty"]
    [stats] = data["memberStats"]  # type: ignore[index]
    return (
        loyalty["lifetimeSpendCents"],
        loyalty["rolling12mSpendCents"],
        member["rfm"]["spend12mCents"],
        stats["spendCents"],
        loyalty["tier"],
    )


def _push(client: TestClient, *lines: dict[str, Any]) -> None:
    body = b"\n".join(orjson.dumps(line) for line in lines)
    answer = client.post("/ingest/transactions", content=body)
    assert answer.status_code == 200, answer.text


def test_a_refund_whose_purchase_is_not_held_counts_nothing_until_it_arrives(
    client: TestClient,
) -> None:
    # Given a refund of 100 whose purchase is held nowhere: no spend, not -100
    assert _figures(client) == (0, 0, 0, 0, "BRONZE")
    # When three purchases of 5 cents come after it: 15, not -85
    _push(client, *(_purchase(f"N-{n}", "2026-03-04T10:00:00Z", 5) for n in range(3)))
    assert _figures(client) == (15, 15, 15, 15, "BRONZE")
    # When the purchase it refunds arrives (sent late, dated before it): taken off it
    _push(client, _purchase("P-1", "2026-03-01T10:00:00Z", 100))
    assert _figures(client) == (15, 15, 15, 15, "BRONZE")

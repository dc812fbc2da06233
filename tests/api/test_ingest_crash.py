"""A push cut short after its lines were stored is finished, never left half-applied.

``POST /ingest`` stores the lines with a mark (in the same SQLite transaction; in the same
MongoDB document), applies identity, writes the feed, then drops the marks. Here the store
fails after the lines are stored (as a SIGKILL would stop the process there;
tests/api/test_replicas.py kills a real one): the next start, or the next push of the same
process, finishes the lines completely, and only once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.connectors.models import SourceName
from membergraph.identity.store.types import StoreError
from membergraph.settings import Settings
from tests.conftest import gql
from tests.support.mongo import EmulatedClient, load

PURCHASE = {
    "transaction_id": "T-CUT-1",
    "email": "cut.short@mailbox.org",
    "channel": "online",
    "occurred_at": "2026-11-20T10:00:00Z",
    "amount_cents": 2500,
    "points_earned": 25,
}
LOOKUP = """query ($e: String!) { memberByIdentifier(kind: EMAIL, value: $e) {
  id transactions { totalCount } } }"""
FEED = "{ changes(first: 1000) { edges { node { kind lineId memberIds } } } }"
MONGO_URL = "mongodb://127.0.0.1:27017/membergraph_crash"

Start = Callable[..., TestClient]


@pytest.fixture(
    params=["sqlite", pytest.param("mongodb-emulated", marks=pytest.mark.mongodb)],
)
def start(request: pytest.FixtureRequest, settings: Settings, data_dir: Path) -> Start:
    """Starts of one gateway over one store, as many as asked (each a new process's)."""
    if request.param == "sqlite":
        return lambda **options: TestClient(
            create_app(settings), base_url="http://127.0.0.1", **options
        )
    client = EmulatedClient()
    asyncio.run(load(data_dir, MONGO_URL, client))
    on_mongo = Settings(store=MONGO_URL, sources=MONGO_URL, cache_dir=settings.cache_dir)
    return lambda **options: TestClient(
        create_app(on_mongo, mongo_client=client), base_url="http://127.0.0.1", **options
    )


def _fail(*_: object, **__: object) -> None:
    raise StoreError("the store went away")


def _cut_short(client: TestClient, step: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Push PURCHASE while ``step`` of the identity store fails: the lines are stored first."""
    with monkeypatch.context() as patch:
        patch.setattr(client.app.state.gateway.identity.store, step, _fail)  # type: ignore[attr-defined]
        answer = client.post("/ingest/transactions", json=[PURCHASE])
    # A coded JSON answer saying to send the lines again, never a plain-text 500
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "STORE_UNAVAILABLE"
    assert "went away" not in answer.text  # what the store said goes to the log only


def _finished(client: TestClient, line_id: str, email: str) -> None:
    member = gql(client, LOOKUP, e=email)["data"]["memberByIdentifier"]  # type: ignore[index]
    assert member is not None, "the stored line has no identity record"
    assert member["transactions"]["totalCount"] == 1
    edges = gql(client, FEED)["data"]["changes"]["edges"]  # type: ignore[index]
    announced = [e["node"] for e in edges if e["node"]["lineId"] == line_id]
    assert [(a["kind"], a["memberIds"]) for a in announced] == [
        ("PURCHASE_RECORDED", [member["id"]])
    ], "one feed entry, naming the member"
    source = client.app.state.gateway.sources[SourceName.TRANSACTIONS]  # type: ignore[attr-defined]
    assert client.portal.call(source.unsettled) == [], "its mark is gone"  # type: ignore[union-attr]


@pytest.mark.parametrize("step", ["apply", "append_feed"], ids=["before-identity", "before-feed"])
def test_a_restart_finishes_a_push_cut_short_after_its_lines_were_stored(
    start: Start, step: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with start(raise_server_exceptions=False) as client:
        _cut_short(client, step, monkeypatch)
    with start() as again:
        _finished(again, "T-CUT-1", "cut.short@mailbox.org")
    with start() as third:
        _finished(third, "T-CUT-1", "cut.short@mailbox.org")  # finished once, not twice


def test_a_line_sent_again_in_a_push_cut_short_is_not_announced_again(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a purchase taken and announced, then sent again (a load of a later export that
    # still holds it) in a push cut short after its lines were stored
    with start(raise_server_exceptions=False) as client:
        assert client.post("/ingest/transactions", json=[PURCHASE]).status_code == 200
        source = client.app.state.gateway.sources[SourceName.TRANSACTIONS]  # type: ignore[attr-defined]
        with monkeypatch.context() as patch:
            patch.setattr(source, "settle", _fail)  # stopped before its marks are dropped
            answer = client.post("/ingest/transactions", json=[PURCHASE])
        assert answer.status_code == 503, answer.text
    # When the next start finishes that push
    with start() as again:
        # Then the purchase is still announced once: nothing changed when it was sent again
        _finished(again, "T-CUT-1", "cut.short@mailbox.org")


def test_the_next_push_of_the_same_process_finishes_one_cut_short(
    start: Start, monkeypatch: pytest.MonkeyPatch
) -> None:
    with start(raise_server_exceptions=False) as client:
        _cut_short(client, "apply", monkeypatch)
        other = {**PURCHASE, "transaction_id": "T-CUT-2", "email": "next.one@mailbox.org"}
        assert client.post("/ingest/transactions", json=[other]).status_code == 200
        _finished(client, "T-CUT-1", "cut.short@mailbox.org")
        _finished(client, "T-CUT-2", "next.one@mailbox.org")


def test_a_push_cut_short_is_finished_by_the_process_its_lines_are_sent_again_to(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two processes over one SQLite store, and a push through A cut short (503)
    with (
        TestClient(create_app(settings), base_url="http://127.0.0.1") as b,
        TestClient(
            create_app(settings), base_url="http://127.0.0.1", raise_server_exceptions=False
        ) as a,
    ):
        _cut_short(a, "apply", monkeypatch)
        # When the client sends its line again, to B
        again = b.post("/ingest/transactions", json=[PURCHASE])
        # Then B found it held, and finished it first: its member, one feed entry
        assert again.json()["lines"][0]["status"] == "unchanged"
        _finished(b, "T-CUT-1", "cut.short@mailbox.org")

"""A subscription lives as long as its subscriber: what it holds must not grow with the
changes it pushes. graphql-core kept one memo entry of collected fields per event pushed,
for the life of the subscription (a subscriber to every change: 1.7 KB a change, 34 MB
after 20,000); counted over the objects the interpreter tracks."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from graphql.execution.collect_fields import FieldDetails
from starlette.testclient import TestClient, WebSocketTestSession

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.conftest import gql
from tests.support.sockets import subscribed

EVERY_CHANGE = "subscription { memberChanged { cursor kind memberIds } }"
NEWEST = """query ($a: String) { changes(after: $a, first: 100) {
  pageInfo { endCursor hasNextPage } } }"""


@pytest.fixture
def subscriber(settings: Settings) -> Iterator[tuple[TestClient, WebSocketTestSession]]:
    with (
        TestClient(create_app(settings), base_url="http://127.0.0.1") as client,
        client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        subscribed(ws, EVERY_CHANGE)
        yield client, ws


def _newest(client: TestClient, after: int) -> int:
    """The newest cursor of the feed, read on from ``after``."""
    while True:
        page = gql(client, NEWEST, a=str(after))["data"]["changes"]  # type: ignore[index]
        after = int(page["pageInfo"]["endCursor"] or after)
        if not page["pageInfo"]["hasNextPage"]:
            return after


def _purchases_heard(client: TestClient, ws: WebSocketTestSession, start: int, count: int) -> int:
    """Push ``count`` purchases, one line a time, and read every change they made."""
    heard = start
    for n in range(start, start + count):
        line = {
            "transaction_id": f"T-SUB-{n}",
            "email": f"sub{n}@shop-mail.org",
            "channel": "online",
            "occurred_at": "2026-11-20T10:00:00Z",
            "amount_cents": 100,
            "status": "completed",
        }
        assert client.post("/ingest/transactions", json=[line]).status_code == 200
    head = _newest(client, start)
    while heard < head:
        message = ws.receive_json()
        assert message["type"] == "next", message
        heard = int(message["payload"]["data"]["memberChanged"]["cursor"])
    return heard


def _field_details_held() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is FieldDetails)


def test_a_subscription_holds_no_more_after_more_changes(
    subscriber: tuple[TestClient, WebSocketTestSession],
) -> None:
    client, ws = subscriber
    start = _newest(client, 0)
    first = _purchases_heard(client, ws, start, 50)
    before = _field_details_held()
    last = _purchases_heard(client, ws, first, 250)
    assert last - first >= 250  # every change was pushed and read
    assert _field_details_held() - before < 20

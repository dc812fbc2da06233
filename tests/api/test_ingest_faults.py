"""A dropped MongoDB connection at any write of a push: a coded answer, nothing half-applied.

The emulation's fault injector fails the Nth write from now with ``AutoReconnect``, as a
connection reset would. Each write of a push is hit in turn: the push is either retried to
completion (200) or answered 503 ``STORE_UNAVAILABLE`` as JSON, and in both cases the line
ends complete (its member, one feed entry) once the process pushes again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.demo import write_demo_data
from membergraph.settings import Settings
from tests.conftest import gql
from tests.support.mongo import EmulatedClient, load

pytestmark = pytest.mark.mongodb

URL = "mongodb://app:s3cret@mongo.example:27017/membergraph?replicaSet=rs0"
FEED = "{ changes(first: 1000) { edges { node { kind lineId memberIds } } } }"
LOOKUP = """query ($e: String!) { memberByIdentifier(kind: EMAIL, value: $e) { id } }"""


def _order(n: int) -> dict[str, object]:
    return {
        "transaction_id": f"T-FAULT-{n}",
        "email": f"fault.{n}@mailbox.org",
        "channel": "online",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 1200,
    }


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[tuple[TestClient, EmulatedClient]]:
    folder = tmp_path / "small"
    write_demo_data(folder, 30, seed=3)
    client = EmulatedClient()
    asyncio.run(load(folder, URL, client))
    settings = Settings(store=URL, sources=URL, cache_dir=tmp_path / "cache")
    app = create_app(settings, mongo_client=client)
    with TestClient(app, base_url="http://127.0.0.1", raise_server_exceptions=False) as http:
        yield http, client


def _quiet(client: EmulatedClient) -> None:
    """Until the background work a change starts (the scores) has written what it writes."""
    last, still = client.faults.writes, 0
    while still < 3:
        time.sleep(0.1)
        still = still + 1 if client.faults.writes == last else 0
        last = client.faults.writes


def _complete(http: TestClient, n: int) -> None:
    member = gql(http, LOOKUP, e=f"fault.{n}@mailbox.org")["data"]["memberByIdentifier"]  # type: ignore[index]
    assert member is not None, f"line {n}: stored without its member"
    edges = gql(http, FEED)["data"]["changes"]["edges"]  # type: ignore[index]
    told = [e["node"] for e in edges if e["node"]["lineId"] == f"T-FAULT-{n}"]
    assert [(t["kind"], t["memberIds"]) for t in told] == [("PURCHASE_RECORDED", [member["id"]])]


def test_a_dropped_connection_at_any_write_of_a_push_is_retried_or_a_coded_503(
    gateway: tuple[TestClient, EmulatedClient],
) -> None:
    http, client = gateway
    answered: list[int] = []
    for nth in range(1, 16):  # a push of one new order writes fewer documents than this
        _quiet(client)
        # Given the nth write from now fails as a reset connection would
        client.faults.fail_write(nth)
        # When a new order is pushed
        answer = http.post("/ingest/transactions", json=[_order(nth)])
        client.faults.clear()
        # Then it was retried to completion, or answered a coded 503 without detail
        answered.append(answer.status_code)
        assert answer.status_code in (200, 503), answer.text
        if answer.status_code == 503:
            said = answer.json()
            assert (
                said["code"] in ("STORE_UNAVAILABLE", "SOURCE_UNAVAILABLE")
                and "injected" not in said["error"]
            )
            assert "send" in said["error"]
            # And sent again it is taken as held, and complete
            again = http.post("/ingest/transactions", json=[_order(nth)])
            assert again.status_code == 200, again.text
        _complete(http, nth)
    assert 200 in answered

"""Reading your own writes on any process: a write's feed position, carried back.

user29 (finding 3): with `serve --workers 2`, 8 of 90 reads within ~50 ms of an
acknowledged push answered the balance from before it (a kept answer of the other
process, which drops it only when it next reads the feed, 0.2 s). A write now answers
`Membergraph-Feed-Position`; a read carrying it back in `Membergraph-Read-After` is answered
once the process answering it has read the feed through it, from its cache or afresh.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from tests.support.serve import serve_ready, until

CONTACT = {
    "contact_id": "C-READ-AFTER",
    "first_name": "Rita",
    "last_name": "Dafter",
    "emails": ["rita.dafter@mail-example.net"],
    "loyalty_id": "LD-4242-0001",
    "birth_date": "1985-05-05",
}
QUERY = """query ($e: String!) { memberByIdentifier(kind: EMAIL, value: $e) {
  id loyalty { pointsBalance } } }"""
ROUNDS = 15
# Behind credentials (a demo caller reads personal data unmasked: never kept).
READER, WRITER = "read-after-reader-0000001", "read-after-writer-0000001"
KEYS = json.dumps(
    {
        READER: {"name": "app", "scopes": ["profile:read"]},
        WRITER: {"name": "till", "scopes": ["ingest:write"]},
    }
)


def _purchase(n: int) -> dict[str, object]:
    return {
        "transaction_id": f"T-READ-AFTER-{n}",
        "loyalty_id": "LD42420001",
        "channel": "store",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 1000,
        "points_earned": 7,
    }


def _points(address: str, **headers: str) -> int | None:
    answer = httpx.post(
        f"http://{address}/graphql",
        json={"query": QUERY, "variables": {"e": CONTACT["emails"][0]}},  # type: ignore[index]
        headers={"x-api-key": READER, **headers},
        timeout=10,
    ).json()
    member = answer["data"]["memberByIdentifier"]
    return None if member is None else int(member["loyalty"]["pointsBalance"])


@pytest.fixture
def folder(demo_source: Path, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    shutil.copytree(demo_source, data)
    return data


def test_a_read_after_a_push_through_another_process_is_never_stale(
    folder: Path, tmp_path: Path
) -> None:
    store = tmp_path / "one.db"
    # B polls the feed seldom (every second), so only the position can make it read in time.
    with (
        serve_ready(folder, store, api_keys=KEYS) as (a, _),
        serve_ready(folder, store, api_keys=KEYS, feed_poll_s="1") as (b, _),
    ):
        push = {"x-api-key": WRITER}
        assert httpx.post(f"http://{a}/ingest/crm", json=[CONTACT], headers=push).is_success
        assert until(lambda: _points(b) is not None), "the contact never reached B"
        stale_without, stale_with = 0, 0
        for n in range(ROUNDS):
            # Given B keeps the member's answer (asked twice: the second is a kept one)
            before = _points(b)
            assert _points(b) == before
            # When a purchase is pushed through A, which answers where the feed reached
            pushed = httpx.post(
                f"http://{a}/ingest/transactions", json=[_purchase(n)], headers=push
            )
            assert pushed.status_code == 200, pushed.text
            position = pushed.headers["membergraph-feed-position"]
            assert position.isdigit()
            # (asked at once without it, B may still answer its kept answer: counted, not
            # asserted, as the docs say it is dropped at B's next read of the feed)
            stale_without += _points(b) != before + 7  # type: ignore[operator]
            # Then B, asked with that position, answers with the purchase, every time
            after = _points(b, **{"membergraph-read-after": position})
            stale_with += after != before + 7  # type: ignore[operator]
        print(f"stale answers of {ROUNDS}: {stale_without} without the position, {stale_with} with")
        assert stale_with == 0


def test_a_mutation_answers_its_position_and_a_bad_one_is_refused(client: TestClient) -> None:
    link = """mutation { linkRecords(a: {source: CRM, key: "C0000001"},
      b: {source: CRM, key: "C0000002"}, reason: "read after", dryRun: true) { id } }"""
    answered = client.post("/graphql", json={"query": link})
    assert answered.status_code == 200, answered.text
    position = answered.headers["membergraph-feed-position"]
    assert position.isdigit()
    # A query is no write: no position
    read = client.post("/graphql", json={"query": "{ __typename }"})
    assert "membergraph-feed-position" not in read.headers
    # A position reached is answered at once; a value that is no position is refused
    again = client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"membergraph-read-after": position}
    )
    assert again.json() == {
        "data": {"__typename": "Query"},
        "extensions": {"cost": {"requested": 0, "budget": 50_000}},
    }
    refused = client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"membergraph-read-after": "-1"}
    )
    assert refused.status_code == 400
    error = refused.json()["errors"][0]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert "Membergraph-Feed-Position" in error["message"]

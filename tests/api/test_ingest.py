"""POST /ingest/{source}: per-line answers, idempotence, and no stale reads."""

from __future__ import annotations

import orjson
from starlette.testclient import TestClient

from tests.conftest import gql

NEW_CONTACT = {
    "contact_id": "C-NEW",
    "first_name": "Nia",
    "last_name": "Park",
    "emails": ["Nia.Park@Example.org"],
    "loyalty_id": "LD-9999-0001",
    "birth_date": "1990-09-09",
}
PURCHASE = {
    "transaction_id": "T-NEW-1",
    "loyalty_id": "ld99990001",
    "channel": "store",
    "occurred_at": "2026-11-20T10:00:00Z",
    "amount_cents": 2500,
    "points_earned": 25,
    "status": "completed",
}

QUERY = """{ memberByIdentifier(kind: EMAIL, value: "nia.park@example.org") {
  id loyalty { pointsBalance } transactions { totalCount } records { source key } } }"""


def _lines(*items: object) -> bytes:
    return b"\n".join(orjson.dumps(i) if not isinstance(i, bytes) else i for i in items)


def test_ingested_lines_are_visible_in_the_next_query(client: TestClient) -> None:
    assert gql(client, QUERY)["data"] == {"memberByIdentifier": None}
    answer = client.post(
        "/ingest/crm", content=_lines(NEW_CONTACT), headers={"content-type": "application/x-ndjson"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["lines"] == [
        {"line": 1, "status": "created", "id": "C-NEW", "record": {"source": "crm", "key": "C-NEW"}}
    ]
    member = gql(client, QUERY)["data"]["memberByIdentifier"]  # type: ignore[index]
    assert member["transactions"]["totalCount"] == 0
    answer = client.post("/ingest/transactions", json=[PURCHASE])
    assert answer.status_code == 200
    after = gql(client, QUERY)["data"]["memberByIdentifier"]  # type: ignore[index]
    assert after["id"] == member["id"], "the member keeps its ID as a record joins"
    assert after["loyalty"]["pointsBalance"] == 25
    assert {"source": "transactions", "key": "loyalty:LD99990001"} in after["records"]


def test_the_same_line_twice_changes_nothing(client: TestClient) -> None:
    client.post("/ingest/transactions", json=[PURCHASE])
    again = client.post("/ingest/transactions", json=[PURCHASE]).json()
    assert again["lines"][0]["status"] == "unchanged"
    assert again["members_changed"] == []


def test_bad_lines_are_answered_precisely_and_good_ones_still_land(client: TestClient) -> None:
    body = _lines(NEW_CONTACT, b"{not json", {"contact_id": "", "emails": []}, b"[1]")
    answer = client.post("/ingest/crm", content=body)
    assert answer.status_code == 207
    lines = answer.json()["lines"]
    assert [line["status"] for line in lines] == ["created", "rejected", "rejected", "rejected"]
    assert lines[1]["error"].startswith("not JSON")
    assert lines[2]["error"] == "contact_id: Value error, must not be empty"
    assert lines[3]["error"] == "expected a JSON object, got list"
    assert gql(client, QUERY)["data"]["memberByIdentifier"] is not None  # type: ignore[index]


def test_unknown_source_and_unreadable_bodies(client: TestClient) -> None:
    assert client.post("/ingest/erp", content=b"{}").status_code == 404
    assert client.post("/ingest/crm", content=b"[1, 2").status_code == 400
    assert client.post("/ingest/crm", content=b"").status_code == 400
    only_bad = client.post("/ingest/crm", content=b"{}")
    assert only_bad.status_code == 422
    assert only_bad.json()["lines"][0]["error"].startswith("contact_id: Field required")

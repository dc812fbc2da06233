"""What a steward reads after deciding: one open conflict per pair however often the
contact changes, and an undone change shown undone on every member that tells it, whatever
order the link, the split and their undos came in. Embedded store and emulated MongoDB."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from tests.support.gateways import app_client

CARD = "LD0000055"
SAM = {
    "contact_id": "C-SAM",
    "first_name": "Sam",
    "last_name": "Okafor",
    "emails": ["sam.okafor@mailbox.org"],
    "phones": ["+1 737 555 0142"],
    "loyalty_id": CARD,
    "birth_date": "1991-02-13",
    "updated_at": "2026-11-01T00:00:00Z",
}
ADA = {"contact_id": "C-ADA", "first_name": "Ada", "last_name": "Lund",
       "emails": ["ada.lund@mailbox.org"], "phones": ["+1 737 555 0171"]}  # fmt: skip
BOB = {"contact_id": "C-BOB", "first_name": "Bob", "last_name": "Marsh",
       "emails": ["bob.marsh@mailbox.org"], "phones": ["+1 737 555 0199"]}  # fmt: skip
QUEUE = """{ identityConflicts(first: 100) { edges { node { id rule records { key } } } } }"""
LOOKUP = """query ($v: String!) { memberByIdentifier(kind: CRM_ID, value: $v) { id } }"""
HISTORY = """query ($id: ID!) { member(id: $id) {
  identityHistory { id kind rule undoable undoneBy } } }"""
LINK = """mutation { linkRecords(a: {source: CRM, key: "C-ADA"}, b: {source: CRM, key: "C-BOB"},
  reason: "same person") { id } }"""
SPLIT = """mutation ($m: ID!) { splitMember(memberId: $m, records: [{source: CRM, key: "C-ADA"}],
  reason: "two people") { id } }"""
SPLIT_CARD = """mutation ($m: ID!) { splitMember(memberId: $m, records: [{source: TRANSACTIONS,
  key: "loyalty:LD0000055"}], reason: "the card is her son's") { id } }"""
DISMISS = """mutation ($id: ID!) {
  resolveConflict(eventId: $id, decision: DISMISS, reason: "the card is his") { id } }"""
UNDO = """mutation ($e: ID!, $dry: Boolean! = false) {
  undo(eventId: $e, reason: "taken back", dryRun: $dry) { id } }"""


def _purchase(day: int) -> dict[str, Any]:
    return {"transaction_id": f"T-{day}", "loyalty_id": CARD, "email": None, "store_id": "S1",
            "channel": "store", "occurred_at": f"2026-12-0{day}T10:00:00Z", "amount_cents": 2000,
            "currency": "USD", "points_earned": 20, "points_redeemed": 0, "status": "completed",
            "items": []}  # fmt: skip


@pytest.fixture(params=["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def started(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    data = tmp_path / "data"
    data.mkdir()
    lines = [orjson.dumps(c) + b"\n" for c in (SAM, ADA, BOB)]
    (data / "crm.jsonl").write_bytes(b"".join(lines))
    (data / "transactions.jsonl").write_bytes(orjson.dumps(_purchase(1)) + b"\n")
    with app_client(request.param, data, tmp_path) as client:
        yield client


def _data(client: TestClient, query: str, **variables: Any) -> Any:
    answer = client.post("/graphql", json={"query": query, "variables": variables}).json()
    assert "errors" not in answer, answer
    return answer["data"]


def _ingest(client: TestClient, source: str, line: dict[str, Any]) -> None:
    answer = client.post(f"/ingest/{source}", json=[line])
    assert answer.status_code == 200, answer.text


def _sams_conflicts(client: TestClient) -> list[str]:
    edges = _data(client, QUEUE)["identityConflicts"]["edges"]
    return [
        e["node"]["id"] for e in edges if any(r["key"] == "C-SAM" for r in e["node"]["records"])
    ]


def test_a_contact_changing_again_and_again_keeps_one_open_conflict(started: TestClient) -> None:
    # Given a steward who split Sam's card off her contact: one open conflict on the pair
    member = _data(started, LOOKUP, v="C-SAM")["memberByIdentifier"]["id"]
    _data(started, SPLIT_CARD, m=member)
    first = _sams_conflicts(started)
    assert len(first) == 1
    # When purchases come on the card, and her contact changes her first name three times
    for day in (2, 3):
        _ingest(started, "transactions", _purchase(day))
    for day, name in ((2, "Samantha"), (3, "Sammy"), (4, "Sam")):
        _ingest(started, "crm", {**SAM, "first_name": name, "updated_at": f"2026-12-0{day}T00:00Z"})
    # Then the queue still holds that one conflict, not one per version
    assert _sams_conflicts(started) == first

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


def _members(client: TestClient) -> list[str]:
    """Ada's and Bob's members now (one while linked)."""
    found = (_data(client, LOOKUP, v=c)["memberByIdentifier"]["id"] for c in ("C-ADA", "C-BOB"))
    return sorted(set(found))


def test_a_conflict_dismissed_opens_anew_when_its_evidence_comes_back(
    started: TestClient,
) -> None:
    # Given the conflict of Sam's split card, dismissed by a steward
    member = _data(started, LOOKUP, v="C-SAM")["memberByIdentifier"]["id"]
    _data(started, SPLIT_CARD, m=member)
    [dismissed] = _sams_conflicts(started)
    _data(started, DISMISS, id=dismissed)
    assert _sams_conflicts(started) == []
    # When her contact changes twice, still naming the card
    for day, name in ((2, "Samantha"), (3, "Sammy")):
        _ingest(started, "crm", {**SAM, "first_name": name, "updated_at": f"2026-12-0{day}T00:00Z"})
    # Then one new conflict is open (the evidence came back), not the dismissed one, not two
    [opened] = _sams_conflicts(started)
    assert int(opened) > int(dismissed)


def _steps(client: TestClient, order: list[str]) -> dict[str, str]:
    """Take the four steps in ``order`` (link, split, undo_split, undo_link); the events."""
    done: dict[str, str] = {}
    for step in order:
        member = _data(client, LOOKUP, v="C-ADA")["memberByIdentifier"]["id"]
        if step == "link":
            _data(client, LINK)
        elif step == "split":
            _data(client, SPLIT, m=member)
        else:
            _data(client, UNDO, e=done[step.removeprefix("undo_")])
        made = {
            int(e["id"])
            for m in _members(client)
            for e in _data(client, HISTORY, id=m)["member"]["identityHistory"]
            if e["kind"] == "steward" and e["id"] not in done.values()
        }
        done[step] = str(max(made))
    return done


# Every order a steward can take them in: a split needs the link, an undo its change, and
# undoing the link while the split holds undoes nothing the split did not (refused: later
# changes depend), so it comes after the split's undo or before the split.
ORDERS = [
    pytest.param(["link", "split", "undo_split", "undo_link"], id="split-undone-then-link"),
    pytest.param(["link", "undo_link"], id="link-undone"),
    pytest.param(["link", "split", "undo_split"], id="split-undone"),
    pytest.param(["link", "split"], id="split-holds"),
]


@pytest.mark.parametrize("order", ORDERS)
def test_every_member_shows_each_undone_change_undone(
    started: TestClient, order: list[str]
) -> None:
    # Given the steps taken in this order
    done = _steps(started, order)
    undone = {done[s]: done[f"undo_{s}"] for s in ("link", "split") if f"undo_{s}" in done}
    # Then every member that tells a change says whether it is undone, and by which event,
    # as undo itself answers
    for member in _members(started):
        for event in _data(started, HISTORY, id=member)["member"]["identityHistory"]:
            if event["id"] not in done.values():
                continue
            assert event["undoneBy"] == undone.get(event["id"]), (member, event)
            assert event["undoable"] is (event["id"] not in undone), (member, event)
            again = started.post(
                "/graphql", json={"query": UNDO, "variables": {"e": event["id"], "dry": True}}
            ).json()
            refused = [e["extensions"]["code"] for e in again.get("errors", [])]
            assert (refused == ["ALREADY_UNDONE"]) is (event["id"] in undone), (event, again)


@pytest.mark.parametrize("order", ORDERS)
def test_both_members_tell_every_steward_change_of_their_records(
    started: TestClient, order: list[str]
) -> None:
    # Given Ada's and Bob's contacts linked by a steward, and the steps taken in this order
    done = _steps(started, order)
    # Then each member they are now tells every one of those changes (each names both
    # contacts), whichever member's history the store wrote it under: the split that parted
    # them, and the undos, are Ada's history as much as Bob's
    for member in _members(started):
        told = {e["id"] for e in _data(started, HISTORY, id=member)["member"]["identityHistory"]}
        assert set(done.values()) <= told, (member, done, sorted(told))


@pytest.mark.parametrize("order", ORDERS)
def test_a_history_reads_whose_records_are_whose_once(
    started: TestClient, order: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the steps taken in this order, and the store's reads of records' members counted
    _steps(started, order)
    store = started.app.state.gateway.identity.store  # type: ignore[attr-defined]
    asked: list[list[Any]] = []
    read = store.assignments

    async def counted(refs: Any) -> Any:
        asked.append(sorted(refs))
        return await read(refs)

    monkeypatch.setattr(store, "assignments", counted)
    for member in _members(started):
        asked.clear()
        # When a steward reads a member's history, what is undone in it included
        _data(started, HISTORY, id=member)
        # Then the store is asked whose records are whose once at most (the history's other
        # members, then what its undos need: the same records), never of the member's own
        assert len(asked) <= 1, asked

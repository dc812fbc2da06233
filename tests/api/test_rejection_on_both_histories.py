"""A steward's rejection concerns two members: both their histories tell of it.

``rejectSuggestion`` writes its events under one member (the first contact's). A steward
who opens the other member must still learn that the pair was rejected, by whom and when:
its ``identityHistory`` lists the same events (the same ids, not copies), and ``undo`` of
the one it lists takes it back, after which both histories show it undone by the same undo.
On SQLite and on the MongoDB adapter (emulated).

Ann and Bob of ``test_steward_guardrails``, each a member of her or his own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from tests.api.test_steward_guardrails import ANN, BOB, _data
from tests.conftest import gql
from tests.support.gateways import app_client

REJECT = """mutation { rejectSuggestion(a: {source: CRM, key: "C-ANN"},
  b: {source: CRM, key: "C-BOB"}, reason: "two people") { id } }"""
HISTORY = """query ($contact: String!) { m: memberByIdentifier(kind: CRM_ID, value: $contact) {
  id identityHistory { id kind rule actor at reason undoable undoneBy records { source key } } } }"""
UNDO = """mutation ($e: ID!) { undo(eventId: $e, reason: "one person after all") { id } }"""
TOLD = ("steward", "suggestion_rejected")


@pytest.fixture(params=["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in (ANN, BOB)))
    with app_client(request.param, data, tmp_path) as test_client:
        yield test_client


def _history(client: TestClient, contact: str) -> tuple[str, list[dict[str, Any]]]:
    found = _data(gql(client, HISTORY, contact=contact))["m"]
    return found["id"], found["identityHistory"]


def _told(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in history if e["kind"] in TOLD]


def test_both_members_histories_list_the_rejection_and_its_undo(client: TestClient) -> None:
    # Given Ann and Bob, two members
    ann_id, _ = _history(client, "C-ANN")
    bob_id, _ = _history(client, "C-BOB")
    assert ann_id != bob_id

    # When a steward rejects the pair as two people
    members = _data(gql(client, REJECT))["rejectSuggestion"]
    assert sorted(m["id"] for m in members) == sorted([ann_id, bob_id])

    # Then Ann's history and Bob's list the same events: its decision and its steward event,
    # with who and when
    _, ann = _history(client, "C-ANN")
    _, bob = _history(client, "C-BOB")
    rejection = _told(ann)
    assert [e["kind"] for e in rejection] == ["suggestion_rejected", "steward"]
    assert rejection[1]["rule"] == "reject" and rejection[1]["undoable"] is True
    assert {e["actor"] for e in rejection} == {"local"}
    assert _told(bob) == rejection
    assert len({e["id"] for e in ann + bob if e["kind"] in TOLD}) == 2  # one event each

    # When the steward, reading Bob's member, undoes the rejection it lists there
    steward_event = next(e["id"] for e in _told(bob) if e["kind"] == "steward")
    undone = _data(gql(client, UNDO, e=steward_event))["undo"]
    assert sorted(m["id"] for m in undone) == sorted([ann_id, bob_id])

    # Then both histories show it undone by the same undo, and list that undo
    _, ann = _history(client, "C-ANN")
    _, bob = _history(client, "C-BOB")
    assert _told(ann) == _told(bob)
    by_id = {e["id"]: e for e in _told(bob)}
    assert by_id[steward_event]["undoable"] is False
    undo_id = by_id[steward_event]["undoneBy"]
    assert undo_id is not None and by_id[undo_id]["kind"] == "steward"
    assert by_id[undo_id]["rule"] == "undo" and by_id[undo_id]["undoable"] is True

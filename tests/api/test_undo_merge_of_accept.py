"""undoMerge of an accepted suggestion's merge takes the accept back with it, and both
members' histories say so (user31b, finding 5: the accept still read undoable, undo refused
it LATER_CHANGES_DEPEND naming no event, and the merge's other row read not undone)."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.api import test_suggestions_api as suggestions
from tests.conftest import gql

client = suggestions.client  # its three contacts, Sophie, Sophi and Bob
_data = suggestions._data

HISTORY = """query ($k: String!) { m: memberByIdentifier(kind: CRM_ID, value: $k) {
  id identityHistory { id kind rule undoable undoneBy } } }"""
ACCEPT = """mutation { acceptSuggestion(a: {source: CRM, key: "C-1"}, b: {source: CRM, key: "C-3"},
  reason: "same person") { id } }"""


def test_an_accept_undone_by_undo_merge_says_so_on_both_members(client: TestClient) -> None:
    # Given an accepted suggestion, its merge undone
    _data(gql(client, ACCEPT))
    history = _data(gql(client, HISTORY, k="C-3"))["m"]["identityHistory"]  # type: ignore[index]
    merged = [e for e in history if e["kind"] == "merged"][-1]["id"]
    accepted = [e for e in history if e["rule"] == "accept"][-1]["id"]
    undo_merge = 'mutation ($e: ID!) { undoMerge(eventId: $e, reason: "wrong") { id } }'
    _data(gql(client, undo_merge, e=merged))
    # Then on each member's history the accept and the merge read undone by that undo
    undos = set()
    for key in ("C-1", "C-3"):
        events = _data(gql(client, HISTORY, k=key))["m"]["identityHistory"]  # type: ignore[index]
        by_id = {e["id"]: e for e in events}
        [undo] = [e["id"] for e in events if e["rule"] == "undo_merge"]
        undos.add(undo)
        assert (by_id[accepted]["undoable"], by_id[accepted]["undoneBy"]) == (False, undo)
        [merge] = [e for e in events if e["kind"] == "merged" and e["id"] != undo]
        assert (merge["undoable"], merge["undoneBy"]) == (False, undo), key
    assert len(undos) == 1
    # and undoing the accept says it was undone, naming the undo
    undo = 'mutation ($e: ID!) { undo(eventId: $e, reason: "again") { id } }'
    [error] = gql(client, undo, e=accepted)["errors"]
    assert error["extensions"]["code"] == "ALREADY_UNDONE"
    assert f"undone by event {undos.pop()}" in error["message"]

"""A history read unmasked is audited against the member it is read from, events merged in
from another ID included (``identityHistory`` follows merges)."""

from __future__ import annotations

from starlette.testclient import TestClient

from tests.privacy.test_audit_outside_members import _as, _log, keyed

__all__ = ["keyed"]

STEWARD = "steward-pii-key-0000001"
LINK = """mutation { linkRecords(a: {source: CRM, key: "C-1"}, b: {source: CRM, key: "C-3"},
  reason: "same person") { id records { source key } } }"""
SPLIT = """mutation ($m: ID!, $r: [RecordRefInput!]!) {
  splitMember(memberId: $m, records: $r, reason: "two people") {
    id identityHistory { id rule } } }"""
UNDO = """mutation ($e: ID!) { undo(eventId: $e, reason: "same after all") { id } }"""
HISTORY = """query ($id: ID!) { member(id: $id) { identityHistory { id rule evidence } } }"""


def test_a_merged_in_event_read_unmasked_is_audited_for_the_member_read(
    keyed: TestClient,
) -> None:
    # Given two members linked, split (the survivor's records leave) and the split undone
    [joined] = _as(keyed, STEWARD, LINK)["linkRecords"]
    mine = [r for r in joined["records"] if r["key"] == "C-1"]
    apart = _as(keyed, STEWARD, SPLIT, m=joined["id"], r=mine)["splitMember"]
    ids = sorted(m["id"] for m in apart)
    [split] = {e["id"] for m in apart for e in m["identityHistory"] if e["rule"] == "split"}
    [live] = [m["id"] for m in _as(keyed, STEWARD, UNDO, e=split)["undo"]]
    # When a steward with pii:read reads the member's history, the split in it
    history = _as(keyed, STEWARD, HISTORY, "read", id=live)["member"]["identityHistory"]
    assert split in {e["id"] for e in history}
    # Then the read is audited against that member, under none of the IDs merged into it
    [entry] = [e for e in _log(keyed, live) if e["requestId"] == "read"]
    assert entry["fields"] == ["identityHistory.evidence"]
    for other in set(ids) - {live}:
        assert [e for e in _log(keyed, other) if e["requestId"] == "read"] == []

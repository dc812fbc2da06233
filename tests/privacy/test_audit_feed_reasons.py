"""A steward's reason read through the change feed (`changes`, `memberChanged`) unmasked is
audited against the members its entry names, as `identityHistory { reason }` is."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.privacy.test_audit_outside_members import _as, _log, keyed
from tests.support.sockets import subscribed

__all__ = ["keyed"]

STEWARD = "steward-pii-key-0000001"
MASKED = "steward-key-00000000001"
REASON = "Bob Kim phoned: same person as Sophie"
LINK = """mutation($r: String!) { linkRecords(a: {source: CRM, key: "C-1"},
  b: {source: CRM, key: "C-3"}, reason: $r) { id } }"""
CHANGES = """query($after: String) { changes(after: $after, first: 1000) {
  edges { node { memberIds reason } } } }"""


def _linked(client: TestClient) -> str:
    """A steward links two contacts with a reason naming them; the surviving member."""
    return str(_as(client, STEWARD, LINK, "link", r=REASON)["linkRecords"][0]["id"])


def _reads(client: TestClient, member: str, request: str) -> list[dict[str, Any]]:
    return [e for e in _log(client, member) if e["requestId"] == request]


def test_a_reason_read_unmasked_in_changes_is_audited(keyed: TestClient) -> None:
    # Given a steward's link, whose reason names the people
    member = _linked(keyed)
    # When the feed is read masked, then unmasked
    masked = _as(keyed, MASKED, CHANGES, "masked", after="0")["changes"]["edges"]
    assert REASON not in str(masked)
    shown = _as(keyed, STEWARD, CHANGES, "unmasked", after="0")["changes"]["edges"]
    assert REASON in str(shown)
    # Then the unmasked read is one entry for the member its entry names, the masked none
    [entry] = _reads(keyed, member, "unmasked")
    assert "reason" in entry["fields"] and entry["actor"] == "steward-pii"
    assert _reads(keyed, member, "masked") == []


def test_a_reason_pushed_unmasked_to_a_subscriber_is_audited(keyed: TestClient) -> None:
    member = _linked(keyed)
    query = f'subscription {{ memberChanged(id: "{member}", after: "0") {{ kind reason }} }}'
    with keyed.websocket_connect(
        "/graphql", subprotocols=["graphql-transport-ws"], headers={"x-api-key": STEWARD}
    ) as ws:
        subscribed(ws, query)
        seen: list[dict[str, Any]] = []
        while not any(change["reason"] == REASON for change in seen):
            seen.append(ws.receive_json()["payload"]["data"]["memberChanged"])
        # While the subscription is still open, the reason it was shown is already audited
        entries = [e for e in _log(keyed, member) if "reason" in e["fields"]]
        assert len(entries) == 1 and entries[0]["actor"] == "steward-pii", entries

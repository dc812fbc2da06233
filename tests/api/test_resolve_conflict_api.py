"""``resolveConflict`` over GraphQL: a call the agent typed on the wrong account, linked to
that account after a dry run, or dismissed (it leaves the open queue, stays in the resolved
one); unknown, already decided and forbidden requests refused with a code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.identity import steward_link
from tests.conftest import gql
from tests.console.support import AGENT, CY, DI, MIXED_CALL, READER, settings_for

QUEUE = """query ($state: ConflictState!) { identityConflicts(filter: {state: $state}) {
  totalCount edges { node { id rule } } } }"""
RESOLVE = """mutation ($id: ID!, $decision: ConflictDecision!, $dry: Boolean!) {
  resolveConflict(eventId: $id, decision: $decision, reason: "checked", dryRun: $dry) {
    id records { key } identityHistory { id kind rule undoable } } }"""
WHO = """query ($v: String!) { memberByIdentifier(kind: CRM_ID, value: $v) {
  id records { key } } }"""


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = settings_for(tmp_path, crm=[CY, DI], call_center=[MIXED_CALL])
    with TestClient(create_app(settings), headers={"x-api-key": AGENT}) as client:
        yield client


def _ok(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


def _queue(client: TestClient, state: str = "OPEN") -> list[str]:
    found = _ok(gql(client, QUEUE, state=state))["identityConflicts"]
    return [edge["node"]["id"] for edge in found["edges"]]


def _calls_of(client: TestClient, contact: str) -> list[str]:
    member = _ok(gql(client, WHO, v=contact))["memberByIdentifier"]
    return [r["key"] for r in member["records"] if r["key"].startswith("I-")]


def test_a_link_gives_the_call_to_the_typed_account_after_a_dry_run(client: TestClient) -> None:
    # Given a call from Cy's phone on which the agent typed Di's account: on Cy, in conflict
    [conflict] = _queue(client)
    assert _calls_of(client, "C-CY") == ["I-CY-1"] and _calls_of(client, "C-DI") == []

    # When the steward previews the link: the answer shows the call on Di, nothing changed
    preview = _ok(gql(client, RESOLVE, id=conflict, decision="LINK", dry=True))
    assert sorted(len(m["records"]) for m in preview["resolveConflict"]) == [1, 2]
    assert _calls_of(client, "C-CY") == ["I-CY-1"] and _queue(client) == [conflict]

    # When it is confirmed: the call is Di's, Cy and Di stay two, the queue is empty
    done = _ok(gql(client, RESOLVE, id=conflict, decision="LINK", dry=False))["resolveConflict"]
    assert _calls_of(client, "C-DI") == ["I-CY-1"] and _calls_of(client, "C-CY") == []
    assert len(done) == 2
    assert _queue(client) == [] and _queue(client, "RESOLVED") == [conflict]
    # and its steward event is the one undo takes (the decision beside it is not), told on
    # both members, the call's old one and its new one
    told = [{e["id"]: e for e in m["identityHistory"] if e["kind"] == "steward"} for m in done]
    assert told[0].keys() == told[1].keys()
    events = list({e["id"]: e for m in done for e in m["identityHistory"]}.values())
    [change] = [e for e in events if e["kind"] == "steward"]
    [decision] = [e for e in events if e["kind"] == "conflict_resolved"]
    assert (change["rule"], change["undoable"]) == ("resolve_conflict", True)
    assert (decision["rule"], decision["undoable"]) == ("link", False)


def test_a_dismissal_leaves_the_queue_and_a_second_decision_is_refused(
    client: TestClient,
) -> None:
    [conflict] = _queue(client)
    done = _ok(gql(client, RESOLVE, id=conflict, decision="DISMISS", dry=False))
    assert _calls_of(client, "C-CY") == ["I-CY-1"]  # nothing moved
    [decision] = [
        e for m in done["resolveConflict"] for e in m["identityHistory"]
        if e["kind"] == "conflict_resolved"
    ]  # fmt: skip
    assert (decision["rule"], decision["undoable"]) == ("dismiss", True)
    assert _queue(client) == [] and _queue(client, "ALL") == [conflict]

    again = gql(client, RESOLVE, id=conflict, decision="LINK", dry=False)
    assert again["errors"][0]["extensions"]["code"] == "ALREADY_RESOLVED"
    assert f"event {decision['id']}" in again["errors"][0]["message"]


UNDO = """mutation ($id: ID!) { undo(eventId: $id, reason: "decide again") { id } }"""


def test_a_link_decided_already_is_refused_naming_the_event_undo_takes(
    client: TestClient,
) -> None:
    # Adversarial pass: a second steward was told "resolved by event N ...; undo that
    # decision to decide again", and undo of event N (the decision written beside the
    # link) is refused NOT_UNDOABLE: the message named no event that undo takes.
    # Given a conflict a steward decided LINK
    [conflict] = _queue(client)
    done = _ok(gql(client, RESOLVE, id=conflict, decision="LINK", dry=False))["resolveConflict"]
    [change] = {e["id"] for m in done for e in m["identityHistory"] if e["kind"] == "steward"}
    # When another steward decides it again, the refusal names the link's steward event
    again = gql(client, RESOLVE, id=conflict, decision="DISMISS", dry=False)
    refusal = again["errors"][0]
    assert refusal["extensions"]["code"] == "ALREADY_RESOLVED"
    assert f"undo event {change} " in refusal["message"], refusal
    # and undoing that one opens the conflict to a decision again
    _ok(gql(client, UNDO, id=change))
    dismissed = gql(client, RESOLVE, id=_queue(client)[0], decision="DISMISS", dry=False)
    assert "errors" not in dismissed, dismissed


@pytest.mark.parametrize(
    ("event_id", "code"),
    [
        pytest.param("999999", "NOT_FOUND", id="unknown"),
        pytest.param("1", "NOT_FOUND", id="not-a-conflict"),
        pytest.param("x1", "BAD_USER_INPUT", id="not-an-id"),
    ],
)
def test_what_is_no_open_conflict_is_refused_with_a_code(
    client: TestClient, event_id: str, code: str
) -> None:
    refused = gql(client, RESOLVE, id=event_id, decision="DISMISS", dry=False)
    assert refused["errors"][0]["extensions"]["code"] == code, refused


def test_a_reviewer_without_identity_write_cannot_decide(client: TestClient) -> None:
    [conflict] = _queue(client)
    asked = {"id": conflict, "decision": "DISMISS", "dry": False}
    refused = client.post(
        "/graphql", json={"query": RESOLVE, "variables": asked}, headers={"x-api-key": READER}
    ).json()
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN", refused
    assert _queue(client) == [conflict]


CHANGE = """mutation ($id: ID!, $decision: ConflictDecision!, $dry: Boolean!) {
  resolveConflict(eventId: $id, decision: $decision, reason: "checked", dryRun: $dry) {
    id change { membersNow recordsJoining { key } recordsLeaving { key } pointsNow
      pointsAfter } } }"""


@pytest.mark.parametrize("decision", ["LINK", "DISMISS"])
def test_a_decision_made_says_what_moved_as_its_dry_run_does(tmp_path: Path, decision: str) -> None:
    # Given the mixed call's conflict on two fresh stores
    answers = {}
    for dry in (True, False):
        folder = tmp_path / str(dry)
        folder.mkdir()
        settings = settings_for(folder, crm=[CY, DI], call_center=[MIXED_CALL])
        with TestClient(create_app(settings), headers={"x-api-key": AGENT}) as client:
            [conflict] = _queue(client)
            # When a steward tries the decision on one and makes it on the other
            found = _ok(gql(client, CHANGE, id=conflict, decision=decision, dry=dry))
            answers[dry] = {m["id"]: m["change"] for m in found["resolveConflict"]}

    # Then both answer the same change for the same members (a dismissal moves nothing)
    assert answers[False] == answers[True]
    moved = [c["recordsJoining"] + c["recordsLeaving"] for c in answers[False].values()]
    assert any(moved) is (decision == "LINK")


LINK = """mutation ($move: Boolean!) { linkRecords(a: {source: CRM, key: "C-CY"},
  b: {source: CRM, key: "C-DI"}, reason: "one person", move: $move) { id } }"""
DECISIONS = """query { identityConflicts(filter: {state: RESOLVED}) { edges { node { id } } } }"""


def test_a_stewards_link_of_a_conflicts_records_closes_it(client: TestClient) -> None:
    # user31b: a LIMIT conflict stayed in the open queue after its two contacts were
    # accepted into one member, and a DISMISS ("the engine was right") was then taken.
    # Given an open conflict over Cy's call and Di's account
    [conflict] = _queue(client)
    # When a steward links Cy and Di (one person after all)
    _ok(gql(client, LINK, move=False))
    # Then the conflict leaves the open queue, decided by that link
    assert _queue(client) == [] and _queue(client, "RESOLVED") == [conflict]
    [member] = {_ok(gql(client, WHO, v=v))["memberByIdentifier"]["id"] for v in ("C-CY", "C-DI")}
    history = _ok(
        gql(
            client, "query ($m: ID!) { member(id: $m) { identityHistory { kind rule } } }", m=member
        )
    )["member"]["identityHistory"]
    assert ("conflict_resolved", "joined") in {(e["kind"], e["rule"]) for e in history}
    # and a dismissal is refused, saying what decided it
    again = gql(client, RESOLVE, id=conflict, decision="DISMISS", dry=True)["errors"][0]
    assert again["extensions"]["code"] == "ALREADY_RESOLVED"
    assert "joined its records" in again["message"]
    # and the link undone, the rules' refusal is an open conflict again
    [link] = [e["id"] for e in history_of(client, member) if e["rule"] == "link"]
    _ok(gql(client, UNDO, id=link))
    assert len(_queue(client)) == 1 and _queue(client) != [conflict]


def history_of(client: TestClient, member: str) -> list[dict[str, Any]]:
    query = "query ($m: ID!) { member(id: $m) { identityHistory { id kind rule } } }"
    return _ok(gql(client, query, m=member))["member"]["identityHistory"]  # type: ignore[no-any-return]


def test_a_link_that_may_move_records_closes_the_conflict_it_joins(client: TestClient) -> None:
    # A link with move: true left the conflicts it joined open (what it joins is known
    # once it is made): those whose records end in one member are closed with it
    [conflict] = _queue(client)
    _ok(gql(client, LINK, move=True))
    assert _queue(client) == [] and _queue(client, "RESOLVED") == [conflict]


def test_a_dismissal_of_records_now_one_member_is_refused(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the conflict's records joined since by a change that closed nothing (the
    # rules since, say: here a link told of no conflict to close)
    async def none(*_: object, **__: object) -> tuple[list[object], list[object]]:
        return [], []

    monkeypatch.setattr(steward_link, "_joined_conflicts", none)
    [conflict] = _queue(client)
    _ok(gql(client, LINK, move=False))
    assert _queue(client) == [conflict]
    # When a steward dismisses it, dry run or not, it is refused with a code of its own
    for dry in (True, False):
        refusal = gql(client, RESOLVE, id=conflict, decision="DISMISS", dry=dry)["errors"][0]
        assert refusal["extensions"]["code"] == "RECORDS_JOINED", refusal
        assert "one member now" in refusal["message"]
    assert _queue(client) == [conflict]

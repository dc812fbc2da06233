"""``undo(eventId)`` over GraphQL: any steward change reversed exactly, or refused with a code.

The world of ``test_steward_guardrails``: Ann and Bob, each with a contact and a card.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.api.test_steward_guardrails import (
    _card_of,
    _data,
    _link_card,
    _world,
    served_two_customers,
    two_customers,
)
from tests.conftest import gql


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    yield from two_customers(tmp_path)


HISTORY = """{ m: memberByIdentifier(kind: CRM_ID, value: "%s") {
  identityHistory { id kind rule } } }"""


def _steward_events(client: TestClient, contact: str) -> list[str]:
    history = _data(gql(client, HISTORY % contact))["m"]["identityHistory"]
    return [e["id"] for e in history if e["kind"] == "steward"]


def _undo(client: TestClient, event_id: str, dry_run: bool = False) -> dict[str, Any]:
    return gql(
        client,
        f'mutation {{ undo(eventId: "{event_id}", reason: "wrong", '
        f"dryRun: {str(dry_run).lower()}) {{ id records {{ source key }} }} }}",
    )


def _members(world: dict[str, Any]) -> dict[str, Any]:
    return {k: world[k] for k in ("ann", "bob")}


def test_undo_of_a_move_gives_the_card_and_its_points_back(client: TestClient) -> None:
    # Given Ann's card moved to Bob by a steward
    before = _world(client)
    _data(gql(client, _link_card(move=True, dry_run=False), a=_card_of(before["ann"])))
    assert _world(client)["ann"]["loyalty"]["pointsBalance"] == 0
    [event] = _steward_events(client, "C-BOB")
    # When the steward undoes that change (a dry run first changes nothing)
    moved = _members(_world(client))
    _data(_undo(client, event, dry_run=True))
    assert _members(_world(client)) == moved
    _data(_undo(client, event))
    # Then both are as they were: members, records, balances
    assert _members(_world(client)) == _members(before)
    # and undoing it again is refused, naming the undo, and nothing changes
    [error] = _undo(client, event)["errors"]
    assert error["extensions"]["code"] == "ALREADY_UNDONE" and "undone by event" in error["message"]
    assert _members(_world(client)) == _members(before)


def test_undo_of_a_split_joins_again(client: TestClient) -> None:
    # Given Ann's card split off her member by a steward
    before = _world(client)
    ann = before["ann"]
    _data(
        gql(
            client,
            "mutation ($r: RecordRefInput!, $m: ID!) { splitMember(memberId: $m, records: [$r], "
            'reason: "not hers") { id } }',
            r=_card_of(ann),
            m=ann["id"],
        )
    )
    assert _world(client)["ann"]["loyalty"]["pointsBalance"] == 0
    [event] = _steward_events(client, "C-ANN")
    # When the split is undone
    _data(_undo(client, event))
    # Then Ann's member holds her card again, with its points
    assert _members(_world(client)) == _members(before)


def test_undo_refuses_when_a_later_change_rests_on_it(client: TestClient) -> None:
    # Given a steward's link of the two contacts, then a split of Bob's card off that member
    before = _world(client)
    _data(
        gql(
            client,
            'mutation { linkRecords(a: {source: CRM, key: "C-ANN"}, '
            'b: {source: CRM, key: "C-BOB"}, reason: "same") { id } }',
        )
    )
    [link] = _steward_events(client, "C-ANN")
    merged = _world(client)["ann"]
    _data(
        gql(
            client,
            "mutation ($m: ID!) { splitMember(memberId: $m, records: [{source: CRM, "
            'key: "C-BOB"}], reason: "two people") { id } }',
            m=merged["id"],
        )
    )
    # When the link is undone first
    answer = _undo(client, link)
    # Then it is refused with a code naming the later change, and nothing changed
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "LATER_CHANGES_DEPEND"
    assert "split" in error["message"]
    # and undoing the split first, then the link, gives the world back
    split = max(_steward_events(client, "C-ANN"), key=int)
    _data(_undo(client, split))
    _data(_undo(client, link))
    assert _members(_world(client)) == _members(before)


def test_undo_of_something_else_is_not_found(client: TestClient) -> None:
    assert _undo(client, "999999")["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_the_rules_own_decisions_are_not_undoable_and_say_so(client: TestClient) -> None:
    # Given Ann's history, written by the rules alone
    history = _data(gql(client, HISTORY.replace("rule", "rule undoable") % "C-ANN"))
    [linked, *_] = [e for e in history["m"]["identityHistory"] if e["kind"] == "linked"]
    assert linked["undoable"] is False
    # When undo is asked for one of them, it is refused with why and what to do instead
    [error] = _undo(client, linked["id"])["errors"]
    assert error["extensions"]["code"] == "NOT_UNDOABLE"
    assert "not a steward's change" in error["message"] and "split" in error["message"]


UNDONE = """query ($v: String!) { m: memberByIdentifier(kind: CRM_ID, value: $v) {
  id identityHistory { id kind rule undoable undoneBy } } }"""


def _events(http: httpx.Client, contact: str) -> dict[str, dict[str, Any]]:
    answer = http.post("/graphql", json={"query": UNDONE, "variables": {"v": contact}}).json()
    return {e["id"]: e for e in _data(answer)["m"]["identityHistory"]}


def _undo_over(http: httpx.Client, event_id: str, mutation: str = "undo") -> dict[str, Any]:
    query = f'mutation {{ {mutation}(eventId: "{event_id}", reason: "wrong") {{ id }} }}'
    return http.post("/graphql", json={"query": query}).json()  # type: ignore[no-any-return]


def test_an_undone_change_and_its_merge_are_no_longer_undoable(tmp_path: Path) -> None:
    with (
        served_two_customers(tmp_path) as address,
        httpx.Client(base_url=f"http://{address}") as http,
    ):
        # Given a steward's link of Ann's and Bob's contacts (a merge), then its undo
        link = 'mutation { linkRecords(a: {source: CRM, key: "C-BOB"}, b: {source: CRM, key: "C-ANN"}, reason: "same") { id } }'
        _data(http.post("/graphql", json={"query": link}).json())
        linked = _events(http, "C-ANN")
        [change] = [e for e in linked.values() if e["kind"] == "steward"]
        [merge] = [e for e in linked.values() if e["kind"] == "merged"]
        assert change["undoable"] and merge["undoable"]
        _data(_undo_over(http, change["id"]))
        # Then the history says the change was undone, by which event, beside it
        after = _events(http, "C-ANN")
        undo = after[after[change["id"]]["undoneBy"]]
        assert (undo["kind"], undo["rule"], undo["undoable"]) == ("steward", "undo", True)
        assert after[change["id"]]["undoable"] is False
        # and the merge it caused, whose sides are apart again, is not undoable either
        assert after[merge["id"]]["undoable"] is False
        # When either is undone again, it is refused with a code, and nothing changes
        members = (_events(http, "C-ANN").keys(), _events(http, "C-BOB").keys())
        for event_id, mutation in (
            (change["id"], "undo"),
            (merge["id"], "undo"),
            (merge["id"], "undoMerge"),
        ):
            [error] = _undo_over(http, event_id, mutation)["errors"]
            assert error["extensions"]["code"] == "ALREADY_UNDONE", error
        assert (_events(http, "C-ANN").keys(), _events(http, "C-BOB").keys()) == members
        # and undoing the undo makes the change again, which is then undoable once more
        _data(_undo_over(http, undo["id"]))
        again = _events(http, "C-ANN")
        assert again[undo["id"]]["undoable"] is False and again[change["id"]]["undoable"] is True


def test_an_undone_merge_is_no_longer_undoable(tmp_path: Path) -> None:
    with (
        served_two_customers(tmp_path) as address,
        httpx.Client(base_url=f"http://{address}") as http,
    ):
        link = 'mutation { linkRecords(a: {source: CRM, key: "C-BOB"}, b: {source: CRM, key: "C-ANN"}, reason: "same") { id } }'
        _data(http.post("/graphql", json={"query": link}).json())
        [merge] = [e for e in _events(http, "C-ANN").values() if e["kind"] == "merged"]
        # When the merge itself is undone (undoMerge)
        _data(_undo_over(http, merge["id"], "undoMerge"))
        # Then it answers undoable false, naming its undo, and a second undo is refused
        shown = _events(http, "C-ANN")[merge["id"]]
        assert shown["undoable"] is False and shown["undoneBy"] is not None
        for mutation in ("undo", "undoMerge"):
            [error] = _undo_over(http, merge["id"], mutation)["errors"]
            assert error["extensions"]["code"] == "ALREADY_UNDONE"
            assert f"undone by event {shown['undoneBy']}" in error["message"]


OPEN = "{ identityConflicts { totalCount edges { node { id } } } }"


def _open_conflicts(client: TestClient) -> list[str]:
    return [e["node"]["id"] for e in _data(gql(client, OPEN))["identityConflicts"]["edges"]]


def test_undo_closes_the_conflicts_its_change_raised_and_a_redo_raises_them_again(
    client: TestClient,
) -> None:
    # Given Ann's card moved to Bob, which raised conflicts (the card's own records now
    # refused to Ann's member)
    before = _open_conflicts(client)
    _data(gql(client, _link_card(move=True, dry_run=False), a=_card_of(_world(client)["ann"])))
    raised = [c for c in _open_conflicts(client) if c not in before]
    assert raised
    [event] = _steward_events(client, "C-BOB")

    # When the move is undone
    _data(_undo(client, event))

    # Then the queue is as before: what the raised conflicts described is gone with it
    assert _open_conflicts(client) == before
    # and undoing the undo raises them again, as new conflicts
    undo = max(_steward_events(client, "C-BOB"), key=int)
    _data(_undo(client, undo))
    again = [c for c in _open_conflicts(client) if c not in before]
    assert len(again) == len(raised) and not set(again) & set(raised)


def test_undo_merge_of_a_steward_event_says_what_it_is_and_points_to_undo(
    client: TestClient,
) -> None:
    # Given a steward's link of the two contacts: a `steward` event and a `merged` one
    link = 'mutation { linkRecords(a: {source: CRM, key: "C-ANN"}, b: {source: CRM, key: "C-BOB"}, reason: "same") { id } }'
    _data(gql(client, link))
    [change] = _steward_events(client, "C-ANN")
    # When undoMerge is given the `steward` event
    answer = gql(client, f'mutation {{ undoMerge(eventId: "{change}", reason: "x") {{ id }} }}')
    # Then it is refused as no merge, saying what the event is and what undoes it
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "NOT_A_MERGE"
    assert "(steward, rule link," in error["message"] and "undo takes it" in error["message"]


def test_undo_of_an_event_erased_with_its_member_says_it_was_erased(client: TestClient) -> None:
    # Given a steward's link of the two contacts, then the merged member erased
    link = 'mutation { linkRecords(a: {source: CRM, key: "C-ANN"}, b: {source: CRM, key: "C-BOB"}, reason: "same") { id } }'
    [merged] = _data(gql(client, link))["linkRecords"]
    [change] = _steward_events(client, "C-ANN")
    erase = (
        'mutation ($m: ID!) { eraseMember(id: $m, reason: "DPO-1", wholeMember: true) { state } }'
    )
    assert _data(gql(client, erase, m=merged["id"]))["eraseMember"]["state"] == "DONE"
    # When the link is undone, or undoMerge is asked for it
    for mutation in ("undo", "undoMerge"):
        query = f'mutation {{ {mutation}(eventId: "{change}", reason: "x") {{ id }} }}'
        [error] = gql(client, query)["errors"]
        # Then it is not found, saying it was erased
        assert error["extensions"]["code"] == "NOT_FOUND"
        assert f"event {change} was erased" in error["message"]
    # and an id never given is still just unknown
    [error] = _undo(client, "999999")["errors"]
    assert error["message"] == "event 999999 does not exist"


def test_an_erased_events_id_is_never_given_to_a_later_change(client: TestClient) -> None:
    # Given a steward's link of the two contacts, then the merged member erased: its events,
    # the newest of the store, are deleted
    link = 'mutation { linkRecords(a: {source: CRM, key: "C-ANN"}, b: {source: CRM, key: "C-BOB"}, reason: "same") { id } }'
    [merged] = _data(gql(client, link))["linkRecords"]
    [change] = _steward_events(client, "C-ANN")
    erase = (
        'mutation ($m: ID!) { eraseMember(id: $m, reason: "DPO-1", wholeMember: true) { state } }'
    )
    assert _data(gql(client, erase, m=merged["id"]))["eraseMember"]["state"] == "DONE"
    # When new customers come and a steward links them
    cy = {"contact_id": "C-CY", "first_name": "Cy", "last_name": "Ray", "loyalty_id": "LD3"}
    di = {"contact_id": "C-DI", "first_name": "Di", "last_name": "Fox", "loyalty_id": "LD4"}
    assert client.post("/ingest/crm", json=[cy, di]).status_code == 200
    link = 'mutation { linkRecords(a: {source: CRM, key: "C-CY"}, b: {source: CRM, key: "C-DI"}, reason: "same") { id } }'
    _data(gql(client, link))
    [later] = _steward_events(client, "C-CY")
    # Then the new change has an id of its own, past the erased ones (SQLite gives the next
    # id after the highest row: the erased link's id would be given again)
    assert int(later) > int(change)
    # and an undo of the erased event's id still says it was erased, undoing nothing
    [error] = _undo(client, change)["errors"]
    assert f"event {change} was erased" in error["message"]
    assert _steward_events(client, "C-CY") == [later]

"""``undo(eventId)`` over GraphQL: any steward change reversed exactly, or refused with a code.

The world of ``test_steward_guardrails``: Ann and Bob, each with a contact and a card.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.test_steward_guardrails import _card_of, _data, _link_card, _world, two_customers
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
    # and undoing it again is a retry: nothing changes
    _data(_undo(client, event))
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

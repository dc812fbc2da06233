"""``undo`` of a change whose later changes were written under another member.

A split is written under the member a moved card went back to, its undo under the member it
joined again: neither history holds both. The world of ``test_steward_guardrails``: Ann and
Bob, each with a contact and a card.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.test_steward_guardrails import _card_of, _data, _world, two_customers
from tests.conftest import gql


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    yield from two_customers(tmp_path)


HISTORY = """query ($v: String!) { m: memberByIdentifier(kind: CRM_ID, value: $v) {
  identityHistory { id kind rule reason undoable undoneBy } } }"""


def _steward(client: TestClient) -> dict[str, dict[str, Any]]:
    """Every steward event either contact's history shows, by id."""
    found: dict[str, dict[str, Any]] = {}
    for contact in ("C-ANN", "C-BOB"):
        history = _data(gql(client, HISTORY, v=contact))["m"]["identityHistory"]
        found.update({e["id"]: e for e in history if e["kind"] == "steward"})
    return found


def _by_reason(client: TestClient, reason: str) -> str:
    [event] = [k for k, e in _steward(client).items() if e["reason"] == reason]
    return event


def _undo(client: TestClient, event_id: str, reason: str) -> dict[str, Any]:
    return gql(
        client,
        "mutation ($e: ID!, $r: String!) { undo(eventId: $e, reason: $r) { id } }",
        e=event_id,
        r=reason,
    )


def _members(client: TestClient) -> dict[str, Any]:
    world = _world(client)
    return {k: world[k] for k in ("ann", "bob")}


def _move_then_split(client: TestClient) -> tuple[str, str]:
    """Bob's card moved to Ann's contact, then Ann's own records split off that member:
    the move's and the split's events."""
    bob_card = _card_of(_world(client)["bob"])
    _data(
        gql(
            client,
            'mutation ($b: RecordRefInput!) { linkRecords(a: {source: CRM, key: "C-ANN"}, '
            'b: $b, reason: "move", move: true) { id } }',
            b=bob_card,
        )
    )
    ann = _world(client)["ann"]
    assert bob_card in [{"source": r["source"], "key": r["key"]} for r in ann["records"]]
    leave = [r for r in ann["records"] if r["key"] != bob_card["key"]]
    _data(
        gql(
            client,
            "mutation ($m: ID!, $r: [RecordRefInput!]!) { splitMember(memberId: $m, "
            'records: $r, reason: "split") { id } }',
            m=ann["id"],
            r=leave,
        )
    )
    return _by_reason(client, "move"), _by_reason(client, "split")


def test_a_move_undone_after_the_split_on_it_was_undone(client: TestClient) -> None:
    # Given Bob's card moved to Ann, Ann's records split off, and that split undone
    before = _members(client)
    move, split = _move_then_split(client)
    _data(_undo(client, split, "undo split"))
    # When the move is undone (the split's undo, written under the other member, counts not)
    answer = _undo(client, move, "undo move")
    # Then it is taken: the card and its points are Bob's again, and the move says so
    _data(answer)
    assert _members(client) == before
    events = _steward(client)
    assert events[move]["undoable"] is False
    assert events[move]["undoneBy"] == _by_reason(client, "undo move")


def test_a_redone_split_blocks_the_move_and_undo_everything_gives_the_start(
    client: TestClient,
) -> None:
    # Given the split undone, then made again by undoing its undo
    before = _members(client)
    move, split = _move_then_split(client)
    _data(_undo(client, split, "undo split"))
    undo_split = _by_reason(client, "undo split")
    _data(_undo(client, undo_split, "redo split"))
    # When the move is undone, the split standing again
    answer = _undo(client, move, "undo move")
    # Then it is refused naming the split, and nothing is recorded
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "LATER_CHANGES_DEPEND"
    assert f"{split} (split)" in error["message"] and undo_split not in error["message"]
    assert not [e for e in _steward(client).values() if e["reason"] == "undo move"]
    # and undoing every standing change newest first gives the start back exactly
    _data(_undo(client, _by_reason(client, "redo split"), "again"))
    _data(_undo(client, move, "undo move"))
    assert _members(client) == before
    assert _steward(client)[move]["undoneBy"] == _by_reason(client, "undo move")


def _link(client: TestClient, a: dict[str, str], b: dict[str, str], reason: str) -> None:
    _data(
        gql(
            client,
            "mutation ($a: RecordRefInput!, $b: RecordRefInput!, $r: String!) { "
            "linkRecords(a: $a, b: $b, reason: $r, move: true) { id } }",
            a=a,
            b=b,
            r=reason,
        )
    )


def test_a_link_made_redundant_by_later_links_is_kept_and_undone_exactly(
    client: TestClient,
) -> None:
    # Given Bob's card linked to Ann's (a move), then Ann's contact to each card: the first
    # link is one of a cycle of three steward's links, which the later two make redundant
    before = _members(client)
    world = _world(client)
    ann_card, bob_card = _card_of(world["ann"]), _card_of(world["bob"])
    ann = {"source": "CRM", "key": "C-ANN"}
    _link(client, ann_card, bob_card, "cards")
    _link(client, ann, bob_card, "ann and bob's card")
    _link(client, ann, ann_card, "ann and her card")
    # When every link is undone, newest first
    for reason in ("ann and her card", "ann and bob's card", "cards"):
        _data(_undo(client, _by_reason(client, reason), f"undo {reason}"))
    # Then each undo is recorded against its link, and the world is the start exactly
    events = _steward(client)
    for reason in ("ann and her card", "ann and bob's card", "cards"):
        assert events[_by_reason(client, reason)]["undoneBy"] == _by_reason(
            client, f"undo {reason}"
        )
    assert _members(client) == before

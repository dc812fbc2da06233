"""A steward's link, split and undo of the split, read back over GraphQL on the demo data.

The two members become one, two again, then one: whichever ID each change was written under,
the member they make again tells all of it in ``identityHistory`` (each merge once, the
split shown as undone), asked by either ID, and so does her privacy export.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.settings import Settings
from tests.api.test_member_bound import (
    BOB,
    BOBS,
    JANE,
    World,
    served_world,
)
from tests.conftest import gql

MEMBERS = """{ members(first: 40) { edges { node { id records { source key } } } } }"""
HISTORY = """query ($id: ID!) { member(id: $id) { id
  identityHistory { id kind rule undoable undoneBy records { source key } } } }"""
LINK = """mutation ($a: RecordRefInput!, $b: RecordRefInput!) {
  linkRecords(a: $a, b: $b, reason: "agent says same person") { id } }"""
SPLIT = """mutation ($m: ID!, $r: [RecordRefInput!]!) {
  splitMember(memberId: $m, records: $r, reason: "two people") {
    id identityHistory { id kind rule } } }"""
UNDO = """mutation ($e: ID!) { undo(eventId: $e, reason: "same person after all") { id } }"""


def _data(answer: dict[str, Any]) -> Any:
    assert "errors" not in answer, answer
    return answer["data"]


def _two_contacts(client: TestClient) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two demo members with a CRM contact each."""
    edges = _data(gql(client, MEMBERS))["members"]["edges"]
    found = [e["node"] for e in edges if any(r["source"] == "CRM" for r in e["node"]["records"])]
    return found[0], found[1]


def _contact(member: dict[str, Any]) -> dict[str, str]:
    return next(r for r in member["records"] if r["source"] == "CRM")


def test_a_split_undone_is_on_the_member_joined_again(client: TestClient) -> None:
    # Given two demo members linked by a steward (one ID survives, the other redirects)
    ann, bob = _two_contacts(client)
    [joined] = _data(gql(client, LINK, a=_contact(ann), b=_contact(bob)))["linkRecords"]
    survivor = ann if joined["id"] == ann["id"] else bob
    # and split again: the survivor's own records leave, the other gets its ID back
    apart = _data(gql(client, SPLIT, m=joined["id"], r=survivor["records"]))["splitMember"]
    assert sorted(m["id"] for m in apart) == sorted([ann["id"], bob["id"]])
    # (told on both members, the one it was written under and the other)
    [split] = {e["id"] for m in apart for e in m["identityHistory"] if e["rule"] == "split"}
    # When the steward undoes the split (they are one member again)
    [again] = _data(gql(client, UNDO, e=split))["undo"]

    # Then the member, asked by either ID, tells the link, the split and its undo
    by_ann, by_bob = (_data(gql(client, HISTORY, id=m["id"]))["member"] for m in (ann, bob))
    assert by_ann == by_bob and by_ann["id"] == again["id"]
    history = by_ann["identityHistory"]
    ids = [int(e["id"]) for e in history]
    assert ids == sorted(set(ids)), "each event once, oldest first"
    steward = {e["rule"]: e for e in history if e["kind"] == "steward"}
    assert sorted(steward) == ["link", "split", "undo"]
    assert steward["split"]["id"] == split
    assert steward["split"]["undoneBy"] == steward["undo"]["id"], "shown as undone"
    assert steward["split"]["undoable"] is False and steward["undo"]["undoable"] is True
    # and each of the two merges once, though each was written under both IDs
    merges = [e for e in history if e["kind"] == "merged"]
    assert len(merges) == 2
    # And her privacy export tells the same story
    export = _data(gql(client, "query ($id: ID!) { exportMember(id: $id) }", id=again["id"]))
    exported = export["exportMember"]["identity_history"]
    assert [str(e["id"]) for e in exported] == [e["id"] for e in history]


def test_undoing_the_undo_splits_them_again_and_both_tell_it(client: TestClient) -> None:
    # Given the story above: linked, split, split undone
    ann, bob = _two_contacts(client)
    [joined] = _data(gql(client, LINK, a=_contact(ann), b=_contact(bob)))["linkRecords"]
    survivor = ann if joined["id"] == ann["id"] else bob
    apart = _data(gql(client, SPLIT, m=joined["id"], r=survivor["records"]))["splitMember"]
    # (told on both members, the one it was written under and the other)
    [split] = {e["id"] for m in apart for e in m["identityHistory"] if e["rule"] == "split"}
    [again] = _data(gql(client, UNDO, e=split))["undo"]
    history = _data(gql(client, HISTORY, id=again["id"]))["member"]["identityHistory"]
    [undo] = [e for e in history if e["rule"] == "undo"]
    # When that undo is undone (the split holds again)
    parted = _data(gql(client, UNDO, e=undo["id"]))["undo"]
    # Then they are two members again, and the split is no longer shown as undone
    assert sorted(m["id"] for m in parted) == sorted([ann["id"], bob["id"]])
    seen = {
        e["id"]: e
        for m in parted
        for e in _data(gql(client, HISTORY, id=m["id"]))["member"]["identityHistory"]
    }
    assert seen[split]["undoneBy"] is None
    assert seen[undo["id"]]["undoneBy"] is not None


# Jane's second contact (her work e-mail), a member of its own until a steward links it.
JANE_AT_WORK = {"contact_id": "C-JANE2", "first_name": "Jane", "emails": ["jane@work.example"]}


@pytest.fixture
def jane_twice(settings: Settings, data_dir: Path) -> Iterator[World]:
    """``test_member_bound``'s Jane and Bob, Jane with a second contact."""
    yield from served_world(settings, data_dir, [JANE, BOB, JANE_AT_WORK])


def _steward(world: World, query: str) -> Any:
    answer = world.ask(world.steward, query)
    assert "errors" not in answer, answer
    return answer["data"]


def test_her_app_reads_the_merged_in_split_without_the_other_members_records(
    jane_twice: World,
) -> None:
    world = jane_twice
    # Given Jane's work contact wrongly linked to Bob, then Bob split off it again
    bobs = world.member_of("C-BOB")["records"]
    [joined] = _steward(
        world,
        """mutation { linkRecords(a: {source: CRM, key: "C-JANE2"},
        b: {source: CRM, key: "C-BOB"}, reason: "same") { id } }""",
    )["linkRecords"]
    leaving = ", ".join(f'{{source: {r["source"]}, key: "{r["key"]}"}}' for r in bobs)
    _steward(
        world,
        f"""mutation {{ splitMember(memberId: "{joined["id"]}", records: [{leaving}],
        reason: "two people") {{ id }} }}""",
    )
    # When her two contacts are linked (one of her two IDs merged into the other)
    _steward(
        world,
        """mutation { linkRecords(a: {source: CRM, key: "C-JANE"},
        b: {source: CRM, key: "C-JANE2"}, reason: "her work e-mail") { id } }""",
    )
    query = f"""{{ member(id: "{world.jane}") {{ identityHistory {{
        kind rule evidence records {{ source key }} }} }} }}"""
    seen_by_steward = world.ask(world.steward, query)["data"]["member"]["identityHistory"]
    seen_by_app = world.ask(world.jane_app, query)["data"]["member"]["identityHistory"]

    # Then both see the split of Bob off her work contact, in her member's history
    for seen in (seen_by_steward, seen_by_app):
        assert [e["rule"] for e in seen if e["kind"] == "steward"][-2:] == ["split", "link"]
    # and her app, unlike the steward, reads nothing of Bob's
    assert "C-BOB" in orjson.dumps(seen_by_steward).decode()
    text = orjson.dumps(seen_by_app).decode()
    assert not [bob for bob in BOBS if bob in text], text
    [split] = [e for e in seen_by_app if e["rule"] == "split"]
    assert split["records"] == [{"source": "CRM", "key": "C-JANE2"}]

"""A member's identity history follows merges: the events written under an ID that was merged
away since (through any chain of redirects) are the history of the member it redirects to.

A steward who links two members, splits them and undoes the split sees all three changes
on the member they make again, whichever of the two IDs the events were written under.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from membergraph.identity.records import RecordData
from membergraph.identity.service import IdentityService
from membergraph.identity.steward import link_records, split_member, undo_merge
from membergraph.identity.steward_record import STEWARD, undone_events
from membergraph.identity.store import Change, IdentityEvent, IdentityStore
from membergraph.identity.undo import undo_event
from tests.identity.builders import crm, purchase
from tests.support.spans import recording_provider
from tests.support.stores import ADAPTERS, open_store

NOW = datetime(2026, 11, 1, tzinfo=UTC)
ANN, BOB = ("crm", "C1"), ("crm", "C2")
ANNS_CARD = ("transactions", "loyalty:LD10000001")


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[IdentityStore]:
    async with open_store(request.param, tmp_path) as adapter:
        yield adapter


async def _ann_and_bob(store: IdentityStore) -> IdentityService:
    service = IdentityService(store)
    await service.ingest(
        [
            crm("C1", first="Ann", card="LD10000001"),
            purchase(card="LD10000001"),
            crm("C2", first="Bob", birth="1970-01-01"),
        ]
    )
    return service


async def _history(store: IdentityStore, member_id: str) -> list[IdentityEvent]:
    [history] = await store.member_events([member_id])
    return history


def _steward(history: list[IdentityEvent], rule: str) -> list[IdentityEvent]:
    return [e for e in history if e.kind == STEWARD and e.rule == rule]


async def _members_each_with_an_event(store: IdentityStore, members: list[str]) -> list[RecordData]:
    """One CRM contact per member (``C1``, ``C2``...), each member with a conflict event of
    its own (its rule: the member's ID); the records."""
    records = [crm(f"C{n}") for n in range(1, len(members) + 1)]
    await store.apply(
        Change(
            records=records,
            assignments={r.ref: m for r, m in zip(records, members, strict=True)},
            new_members=members,
            events=[IdentityEvent(m, "conflict", NOW, "test", rule=m) for m in members],
            at=NOW,
        )
    )
    return records


async def test_a_split_undone_shows_on_the_member_joined_again(store: IdentityStore) -> None:
    # Given Ann and Bob linked by a steward, then split (Ann's contact and card leave)
    service = await _ann_and_bob(store)
    await link_records(service, ANN, BOB, "agent says same person", "agent-7")
    joined = (await store.assignments([ANN]))[ANN]
    await split_member(service, joined, [ANN, ANNS_CARD], "two people", "steward-1")
    apart = await store.assignments([ANN, BOB])
    [split] = _steward(
        [e for m in sorted(set(apart.values())) for e in await _history(store, m)], "split"
    )
    # When the split is undone (they are one member again, one of the two IDs redirecting)
    await undo_event(service, split.id, "same person after all", "steward-2")  # type: ignore[arg-type]
    [live] = set((await store.assignments([ANN, BOB])).values())
    # Then the live member's history tells the whole story, each event once, oldest first
    history = await _history(store, live)
    ids = [e.id for e in history]
    assert ids == sorted(set(ids)), "each event once, oldest first"
    [link] = _steward(history, "link")
    assert [e.id for e in _steward(history, "split")] == [split.id]
    [undo] = _steward(history, "undo")
    assert link.id < split.id < undo.id  # type: ignore[operator]
    assert undone_events(history) == {split.id: undo.id}, "the split shows as undone"


async def test_a_merge_undone_then_made_again_shows_its_marker(store: IdentityStore) -> None:
    # Given Ann and Bob linked (a merge), the merge undone, then that undo undone
    service = await _ann_and_bob(store)
    await link_records(service, ANN, BOB, "same person", "agent-7")
    joined = (await store.assignments([ANN]))[ANN]
    merge = next(e for e in await _history(store, joined) if e.kind == "merged")
    await undo_merge(service, merge.id, "wrong", "steward-1")  # type: ignore[arg-type]
    apart = set((await store.assignments([ANN, BOB])).values())
    histories = [e for m in sorted(apart) for e in await _history(store, m)]
    [unmerge] = _steward(histories, "undo_merge")
    # When the undo is undone (they merge again)
    await undo_event(service, unmerge.id, "right after all", "steward-2")  # type: ignore[arg-type]
    [live] = set((await store.assignments([ANN, BOB])).values())
    # Then the member shows the merge, its undoing and the undoing of that, whatever ID each
    # was written under
    history = await _history(store, live)
    kinds = [(e.kind, e.rule) for e in history]
    assert ("unmerged", str(merge.id)) in kinds
    [again] = [e for e in _steward(history, "undo") if e.evidence.get("undoes") == unmerge.id]
    assert undone_events(history).get(unmerge.id) == again.id
    assert merge.id not in undone_events(history), "the merge stands again"


async def test_events_follow_a_chain_of_redirects_and_stop_at_a_revived_id(
    store: IdentityStore,
) -> None:
    # Given three members, each with an event of its own
    records = await _members_each_with_an_event(store, ["m_ann", "m_bob", "m_cid"])
    # When Bob merges into Ann, then Ann into Cid (a chain: m_bob -> m_ann -> m_cid)
    every = {r.ref: "m_ann" for r in records[:2]}
    await store.apply(Change(redirects={"m_bob": "m_ann"}, assignments=every, at=NOW))
    every = {r.ref: "m_cid" for r in records}
    await store.apply(Change(redirects={"m_ann": "m_cid"}, assignments=every, at=NOW))
    # Then Cid's history holds all three events, oldest first; Ann's (retired) holds Bob's too
    cid, ann, bob, nobody = await store.member_events(["m_cid", "m_ann", "m_bob", "m_none"])
    assert [e.rule for e in cid] == ["m_ann", "m_bob", "m_cid"]
    assert [e.member_id for e in cid] == ["m_ann", "m_bob", "m_cid"], "each under its own ID"
    assert [e.rule for e in ann] == ["m_ann", "m_bob"]
    assert [e.rule for e in bob] == ["m_bob"] and nobody == []
    # And once Bob is given his ID back (a split), his events are his alone again
    await store.apply(Change(new_members=["m_bob"], assignments={("crm", "C2"): "m_bob"}, at=NOW))
    cid, bob = await store.member_events(["m_cid", "m_bob"])
    assert [e.rule for e in cid] == ["m_ann", "m_cid"]
    assert [e.rule for e in bob] == ["m_bob"]


async def test_a_history_is_read_in_the_same_round_trips_however_long_the_chain(
    store: IdentityStore,
) -> None:
    # Given members merged in chains of one and of three redirects
    members = [f"m_{n}" for n in range(6)]
    await _members_each_with_an_event(store, members)
    for old, new in [("m_1", "m_0"), ("m_5", "m_4"), ("m_4", "m_3"), ("m_3", "m_2")]:
        held = await store.member_records([old])
        await store.apply(Change(redirects={old: new}, assignments=dict.fromkeys(held[0], new)))
    provider, exporter = recording_provider()
    tracer = provider.get_tracer("test")
    store.tracer = tracer  # type: ignore[attr-defined]
    # When each history is read alone, then both together (a span per round trip)
    trips = []
    for asked in (["m_0"], ["m_2"], ["m_0", "m_2"]):
        exporter.clear()
        with tracer.start_as_current_span("POST /graphql"):
            histories = await store.member_events(asked)
        trips.append(len([s for s in exporter.get_finished_spans() if s.name != "POST /graphql"]))
    # Then each read is the same round trips (SQLite one statement; MongoDB the redirects,
    # then the events), and finds every event of its chain
    assert trips[0] == trips[1] == trips[2] == (1 if type(store).__name__ == "SqliteStore" else 2)
    assert [[e.rule for e in h] for h in histories] == [
        ["m_0", "m_1"],
        ["m_2", "m_3", "m_4", "m_5"],
    ]

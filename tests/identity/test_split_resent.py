"""A steward's split sent twice (a client's retry after a timeout, a console resent after a
crash) is made once: the resend writes nothing and answers the members as they are."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from membergraph.identity.records import RecordKey
from membergraph.identity.service import IdentityService
from membergraph.identity.steward import link_records, split_member
from membergraph.identity.steward_request import Preview
from membergraph.identity.undo import undo_event
from tests.identity.builders import crm, purchase
from tests.support.stores import ADAPTERS, open_store

ANN: RecordKey = ("crm", "C1")
BOB: RecordKey = ("crm", "C2")
CARD: RecordKey = ("transactions", "loyalty:LD10000001")


@pytest.fixture(params=ADAPTERS)
async def service(request: pytest.FixtureRequest) -> AsyncIterator[IdentityService]:
    async with open_store(request.param) as store:
        yield IdentityService(store)


async def _merged(service: IdentityService) -> str:
    """Ann with her card, and Bob linked to her by a steward: one member, Ann's ID."""
    ann, bob = crm("C1", card="LD10000001"), crm("C2", first="Bob", birth="1970-01-01")
    await service.ingest([ann, purchase(card="LD10000001"), bob])
    [member] = await link_records(service, ANN, BOB, "same person", "agent-7")
    return member


async def _state(service: IdentityService) -> tuple[object, ...]:
    store = service.store
    assignments = await store.all_assignments()
    refs = sorted(assignments)
    return assignments, sorted(map(sorted, await store.cannot_links(refs))), await store.feed_head()


async def test_a_split_sent_again_keeps_the_contact_with_her_card(
    service: IdentityService,
) -> None:
    # Given Ann's contact picked to leave: it keeps the member's ID (the member began with it)
    member = await _merged(service)
    first = await split_member(service, member, [ANN], "two people", "steward-1")
    after = await service.store.all_assignments()
    assert after[ANN] == after[CARD] == member != after[BOB]
    done = await _state(service)
    [history] = await service.store.member_events([member])
    # When the same split is sent again, dry run first, then for real
    preview = Preview()
    dry = await split_member(service, member, [ANN], "two people", "steward-1", preview)
    made = Preview(dry=False)
    again = await split_member(service, member, [ANN], "two people", "steward-1", made)
    # Then nothing changes: her card stays hers, no cannot-link between them, no event
    assert dry == again == first
    assert await _state(service) == done
    assert await service.store.member_events([member]) == [history]
    for told in (preview, made):
        assert all(not m.joining and not m.leaving for m in map(told.moves, first))
    assert [r.ref for r in made.members[member]] == sorted([ANN, CARD])


async def test_the_same_split_after_a_later_change_is_a_new_one(
    service: IdentityService,
) -> None:
    # Given the split made, then undone (its undo: an event on the member since)
    member = await _merged(service)
    await split_member(service, member, [ANN], "two people", "steward-1")
    [history] = await service.store.member_events([member])
    split = next(e for e in reversed(history) if e.kind == "steward")
    assert split.rule == "split" and split.id is not None
    await undo_event(service, split.id, "they were one after all", "steward-2")
    assert len(set((await service.store.all_assignments()).values())) == 1
    # When the same split is sent: it splits again
    await split_member(service, member, [ANN], "two people", "steward-1")
    after = await service.store.all_assignments()
    assert after[ANN] == after[CARD] == member != after[BOB]


async def test_a_resend_of_another_pick_still_splits(service: IdentityService) -> None:
    # Given the split of Ann's contact made
    member = await _merged(service)
    await split_member(service, member, [ANN], "two people", "steward-1")
    # When the card is split off her member next (another request): it leaves
    await split_member(service, member, [CARD], "not her card", "steward-1")
    after = await service.store.all_assignments()
    assert after[ANN] == member != after[CARD]

"""What the feed tells the response cache beyond the members it names, on every store
adapter: the value tags of the values whose owner a change may move (a kept lookup by one
is dropped by them, never by the value itself), and the members whose history a decision
that moved no record wrote (``HISTORY_WRITTEN``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.service import IdentityService
from membergraph.identity.steward import link_records
from membergraph.identity.steward_suggestions import reject_suggestion
from membergraph.identity.store import IdentityStore
from membergraph.identity.store.answers import AnswerToKeep
from membergraph.identity.value_tags import value_tag
from tests.identity.builders import crm, purchase
from tests.support.stores import ADAPTERS, kept_answers, open_store

NOW = 1_000_000.0
BOUND = (100, 1 << 20)
FAMILY = value_tag(IdentifierKind.EMAIL, "family@x.org")
OTHER = value_tag(IdentifierKind.EMAIL, "other@x.org")


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[IdentityStore]:
    async with open_store(request.param, tmp_path) as opened:
        yield opened


def test_a_tag_says_nothing_of_the_value_and_tells_values_and_kinds_apart() -> None:
    assert "family" not in FAMILY and FAMILY.startswith("v:")
    assert len({FAMILY, OTHER, value_tag(IdentifierKind.CRM_ID, "family@x.org")}) == 3
    assert value_tag(IdentifierKind.EMAIL, "family@x.org") == FAMILY  # every process's


async def test_an_entrys_value_tags_read_back_and_a_members_tail_holds_it(
    store: IdentityStore,
) -> None:
    entry = FeedEntry(ChangeKind.PROFILE_UPDATED, ("m_bea",), value_tags=(FAMILY, OTHER))
    cursor, _ = await store.append_feed([entry, FeedEntry(ChangeKind.CALL, ("m_ann",))])
    whole = await store.feed_after(0, 10)
    assert [(e.member_ids, e.value_tags) for e in whole] == [
        (("m_bea",), (FAMILY, OTHER)),
        (("m_ann",), ()),
    ]
    assert [e.cursor for e in await store.feed_after(0, 10, "m_bea")] == [cursor]
    assert await store.feed_after(0, 10, FAMILY) == []  # a tag names no member


async def test_a_kept_lookup_is_not_served_after_an_entry_carrying_its_values_tag(
    store: IdentityStore,
) -> None:
    answers = kept_answers(store)
    since = await store.feed_head()
    kept = AnswerToKeep(b"lookup", b"{}", ("m_ann", FAMILY), since, NOW + 60)
    assert (await answers.keep([kept], *BOUND, NOW)).kept == 1
    # An entry naming another member, with another value's tag: still served
    await store.append_feed(
        [FeedEntry(ChangeKind.PROFILE_UPDATED, ("m_bea",), value_tags=(OTHER,))]
    )
    assert await answers.read(b"lookup", NOW) is not None
    # One naming another member that carries the value now: not served (no follower needed)
    await store.append_feed(
        [FeedEntry(ChangeKind.PROFILE_UPDATED, ("m_bea",), value_tags=(FAMILY,))]
    )
    assert await answers.read(b"lookup", NOW) is None
    # and one made before that entry is not kept; a kept one is dropped by the tag
    assert (await answers.keep([kept], *BOUND, NOW)).stale == 1
    fresh = AnswerToKeep(b"again", b"{}", ("m_ann", FAMILY), await store.feed_head(), NOW + 60)
    assert (await answers.keep([fresh], *BOUND, NOW)).kept == 1
    assert await answers.drop([FAMILY]) >= 1
    assert await answers.read(b"again", NOW) is None and await answers.figures() == (0, 0)


async def test_a_merge_carries_the_tags_of_the_values_it_moved(store: IdentityStore) -> None:
    service = IdentityService(store)
    card = purchase(card="LD11110000")
    await service.ingest([crm("C1", emails=["ann@x.org"]), card])
    head = await store.feed_head()
    # When her contact gives the card, the card's member merges into hers
    await service.ingest([crm("C1", emails=["ann@x.org"], card="LD11110000")])
    written = await store.feed_after(head, 100)
    assert ChangeKind.MERGED in [e.kind for e in written]
    tags = {t for e in written for t in e.value_tags}
    assert {value_tag(i.kind, i.key) for i in card.identifiers} <= tags


async def test_a_rejected_suggestion_names_the_members_whose_history_it_wrote(
    store: IdentityStore,
) -> None:
    service = IdentityService(store)
    await service.ingest([crm("C1", first="Ann", last="Lee"), crm("C2", first="Anne", last="Lee")])
    a, b = ("crm", "C1"), ("crm", "C2")
    members = await store.assignments([a, b])
    head = await store.feed_head()
    await reject_suggestion(service, a, b, "two people", "steward")
    written = await store.feed_after(head, 100)
    events = await store.member_events([members[a]])
    assert "suggestion_rejected" in [e.kind for e in events[0]]
    assert [(e.kind, e.member_ids) for e in written] == [
        (ChangeKind.HISTORY_WRITTEN, (members[a],))
    ]


async def test_a_link_of_records_already_one_member_names_it(store: IdentityStore) -> None:
    service = IdentityService(store)
    her, card = crm("C3", first="Bo", last="Ek", card="LD300"), purchase(card="LD300", tid="T3")
    await service.ingest([her, card])
    [member] = set((await store.assignments([her.ref, card.ref])).values())
    head = await store.feed_head()
    await link_records(service, her.ref, card.ref, "sure", "steward")
    written = await store.feed_after(head, 100)
    assert [(e.kind, e.member_ids) for e in written] == [(ChangeKind.HISTORY_WRITTEN, (member,))]

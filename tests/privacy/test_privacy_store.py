"""The privacy store port, on every adapter: consent facts, suppressions, requests, the
audit, and erasing a person from the identity graph and the feed (others untouched)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.service import IdentityService
from membergraph.identity.store.answers import AnswerToKeep, answers_of
from membergraph.insights.consent import Channel, ConsentFact
from membergraph.privacy import privacy_store_for
from membergraph.privacy.port import AccessEntry, Erasure, PrivacyRequest, PrivacyStore, Suppression
from tests.identity.builders import crm, purchase, visitor
from tests.support.stores import ADAPTERS, open_store

AT = datetime(2026, 10, 1, tzinfo=UTC)


@pytest.fixture(params=ADAPTERS)
async def stores(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[IdentityService, PrivacyStore]]:
    async with open_store(request.param) as store:
        privacy = privacy_store_for(store)
        await privacy.open()
        yield IdentityService(store), privacy


async def test_erasure_removes_the_person_and_keeps_the_others(
    stores: tuple[IdentityService, PrivacyStore],
) -> None:
    service, privacy = stores
    store = service.store
    await service.ingest([crm("C1", emails=["ann@x.org"], card="LD10000001")])
    await service.ingest([purchase(card="LD10000001"), visitor("a-ann", logins=("C1",))])
    await service.ingest([crm("C2", emails=["bob@y.org"])])
    ann = (await store.find_members(IdentifierKind.EMAIL, "ann@x.org"))[0]
    bob = (await store.find_members(IdentifierKind.EMAIL, "bob@y.org"))[0]
    await store.append_feed(
        [FeedEntry(ChangeKind.PROFILE_UPDATED, (ann,), source="crm", line_id="C1")]
    )
    await store.append_feed(
        [FeedEntry(ChangeKind.PROFILE_UPDATED, (bob,), source="crm", line_id="C2")]
    )
    refs = (await store.member_records([ann]))[0]
    assert len(refs) == 3
    [held] = await store.member_identifiers([ann])
    await privacy.record_consents([ConsentFact(Channel.EMAIL, True, AT, "crm", "C1", "C1")])

    removed = await privacy.erase_identity(
        Erasure((ann,), tuple(refs), (("crm", "C1"),), ("C1", "ann@x.org", "LD10000001", "a-ann")),
        AT,
    )

    assert removed["records"] == 3 and removed["members"] == 1
    assert removed["identifiers"] == len(held)  # the same count on every store
    assert await store.find_members(IdentifierKind.EMAIL, "ann@x.org") == []
    assert await store.find_members(IdentifierKind.LOYALTY_ID, "LD10000001") == []
    assert await store.resolve_member_id(ann) is None
    assert (await store.member_events([ann]))[0] == []
    assert await store.active_links(refs) == []
    assert await privacy.consent_facts([("crm", "C1")]) == [[]]
    assert all(ann not in e.member_ids for e in await store.feed_after(0, 1000))
    # Bob is untouched.
    assert await store.find_members(IdentifierKind.EMAIL, "bob@y.org") == [bob]
    bobs = await store.feed_after(0, 1000, bob)
    assert [e.line_id for e in bobs if e.source == "crm"] == ["C2"]
    assert (await store.ping())["members"] == 1


async def test_erasure_takes_the_kept_answers_that_read_her_or_a_change_it_removes(
    stores: tuple[IdentityService, PrivacyStore],
) -> None:
    # Given answers the response cache keeps in the store: Ann's, Bob's, and Carl's made
    # before a change naming Carl and Ann (the feed entry that makes Carl's unserved)
    service, privacy = stores
    store = service.store
    await service.ingest([crm("C1", emails=["ann@x.org"])])
    ann = (await store.find_members(IdentifierKind.EMAIL, "ann@x.org"))[0]
    answers = answers_of(store)
    assert answers is not None
    since, now = await store.feed_head(), AT.timestamp()
    kept = [
        AnswerToKeep(key, b'{"data":{}}', (member,), since, now + 3600)
        for key, member in ((b"ann", ann), (b"bob", "m_bob"), (b"carl", "m_carl"))
    ]
    await answers.keep(kept, 100, 1 << 20, now)
    await store.append_feed([FeedEntry(ChangeKind.LINKED, (ann, "m_carl"))])
    assert await answers.read(b"carl", now) is None

    # When Ann is erased (her feed entries go with her)
    refs = (await store.member_records([ann]))[0]
    await privacy.erase_identity(Erasure((ann,), tuple(refs), (), ("C1", "ann@x.org")), AT)

    # Then her answers leave the store in the same step (no follower needed: an erasure
    # run from the command line has none), Carl's stays unserved though the entry that
    # said so is gone, and Bob's is untouched
    assert await answers.read(b"ann", now) is None
    assert await answers.read(b"carl", now) is None
    assert await answers.read(b"bob", now) is not None
    assert (await answers.figures())[0] == 1


async def test_suppressions_requests_and_the_audit(
    stores: tuple[IdentityService, PrivacyStore],
) -> None:
    _, privacy = stores
    assert not await privacy.any_suppressed()
    entry = Suppression("d1", "EMAIL", "dpo", AT)
    assert await privacy.suppress([entry]) == 1
    assert await privacy.suppress([entry]) == 0
    assert await privacy.any_suppressed()
    assert await privacy.suppressed(["d1", "d2"]) == {"d1"}
    assert await privacy.unsuppress("d1") and not await privacy.unsuppress("d1")

    request = PrivacyRequest("pr_1", "erase", "m_1", "ticket 1", "dpo", AT, AT)
    await privacy.save_request(request)
    request.state, request.steps = "awaiting_sources", {"identity": "done"}
    request.sources = {"crm": "requested", "transactions": "deleted"}
    await privacy.save_request(request)
    [found] = await privacy.requests(10, 0, "m_1")
    assert (found.state, found.steps) == ("awaiting_sources", {"identity": "done"})
    assert found.sources == {"crm": "requested", "transactions": "deleted"}

    old = AccessEntry("m_1", "ann", ("profile.email",), AT - timedelta(days=400), "r1")
    new = AccessEntry("m_1", "bob", ("profile.phone",), AT, "r2")
    await privacy.record_access([old, new])
    assert [e.actor for e in await privacy.access_log("m_1", 10)] == ["bob", "ann"]
    assert await privacy.prune_access(AT - timedelta(days=365)) == 1
    assert [e.request_id for e in await privacy.access_log("m_1", 10)] == ["r2"]
    assert len(await privacy.kept_secret()) == 32
    assert await privacy.kept_secret() == await privacy.kept_secret()


async def test_a_record_that_stays_names_no_erased_member(
    stores: tuple[IdentityService, PrivacyStore],
) -> None:
    # Given a record (another person's) whose first and previous members include one erased
    service, privacy = stores
    store = service.store
    await service.ingest([crm("C2", emails=["bob@y.org"])])
    [bob] = await store.find_members(IdentifierKind.EMAIL, "bob@y.org")
    # When that member ID is erased (the record itself is not the person's)
    await privacy.erase_identity(Erasure((bob,), (), (), ()), AT)
    # Then no split can hand the erased ID back: the record names it nowhere
    assert bob not in (await store.origins([("crm", "C2")])).values()
    assert bob not in (await store.previous([("crm", "C2")])).values()


async def test_an_erased_member_id_is_never_given_again(
    stores: tuple[IdentityService, PrivacyStore],
) -> None:
    # Given a member erased with her record
    service, privacy = stores
    store = service.store
    await service.ingest([crm("C1", emails=["ann@x.org"])])
    [ann] = await store.find_members(IdentifierKind.EMAIL, "ann@x.org")
    refs = tuple((await store.member_records([ann]))[0])
    await privacy.erase_identity(Erasure((ann,), refs, (), ("C1", "ann@x.org")), AT)
    assert await store.taken_member_ids([ann, "m_aaaaaaaaaaaaaaaa"]) == {ann}
    # When another person's record comes with her key, and then the whole store is resolved
    await service.ingest([crm("C1", emails=["nan@z.org"])])
    [nan] = await store.find_members(IdentifierKind.EMAIL, "nan@z.org")
    await service.resolve_all(await store.load_records(None))
    # Then neither gives the new person her ID, and her ID names no one
    assert nan != ann
    assert await store.find_members(IdentifierKind.EMAIL, "nan@z.org") == [nan]
    assert await store.resolve_member_id(ann) is None


async def test_an_erasure_lease_is_held_by_one_holder_until_it_runs_out(
    stores: tuple[IdentityService, PrivacyStore],
) -> None:
    _, privacy = stores
    later = AT + timedelta(minutes=2)
    # Given one holder's lease
    assert await privacy.lease("erase:m_1", "a", later, AT)
    # Then another holder cannot take it while it runs, its holder can extend it,
    # and another key is free
    assert not await privacy.lease("erase:m_1", "b", later, AT + timedelta(minutes=1))
    assert await privacy.lease("erase:m_1", "a", later + timedelta(minutes=2), AT)
    assert await privacy.lease("erase:m_2", "b", later, AT)
    # When it runs out (its holder died), another takes it over
    assert await privacy.lease(
        "erase:m_1", "b", later + timedelta(minutes=9), later + timedelta(minutes=3)
    )
    assert not await privacy.lease("erase:m_1", "a", later, later)
    # And a release by a holder that lost it lets go of nothing; its holder's does
    await privacy.release("erase:m_1", "a")
    assert not await privacy.lease("erase:m_1", "a", later, later)
    await privacy.release("erase:m_1", "b")
    assert await privacy.lease("erase:m_1", "a", later, later)
    # And the store says who holds a lease (what a process that finds it held asks, to take
    # over one whose process is gone), run out or not
    assert await privacy.lease_holder("erase:m_1") == "a"
    assert await privacy.lease_holder("erase:m_3") is None

"""Purchases keyed by a value the data shows to be a placeholder are nobody's: they link
nothing, make no member, and change nothing for anyone else, in batch and incrementally."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from membergraph.identity.engine import resolve
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData
from membergraph.identity.service import IdentityService
from membergraph.identity.steward import StewardError, link_records
from tests.identity.builders import call, crm, purchase, visitor, world
from tests.support.stores import ADAPTERS, open_store

# Store addresses the tills type for guests: three cardholders each make them hubs.
HUBS = ("store7@shopmail.com", "orders@shopmail.com")
TILL = [
    purchase(card=f"LD9000000{n}", email=hub, tid=f"T-{hub}-{n}")
    for hub in HUBS
    for n in range(1, 4)
]
EMAILS = ("ann@x.org", "bob@x.org", "ann.lee@gmail.com", *HUBS)
CARDS = ("LD10000001", "LD10000002", "LD90000001")


def _some(values: tuple[str, ...], most: int = 2) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), max_size=most, unique=True)


people = st.one_of(
    st.builds(
        lambda key, first, emails, card: crm(key, first, emails=emails, card=card),
        st.sampled_from(("C1", "C2", "C3")),
        st.sampled_from(("Ann", "Bob")),
        _some(EMAILS),
        st.none() | st.sampled_from(CARDS),
    ),
    st.builds(purchase, card=st.sampled_from(CARDS), email=st.none() | st.sampled_from(EMAILS)),
    st.builds(purchase, email=st.sampled_from(EMAILS[:3]), channel=st.just("online")),
    st.builds(visitor, st.sampled_from(("a-1", "a-2")), emails=_some(EMAILS).map(tuple)),
    st.builds(
        call,
        st.sampled_from(("I1", "I2")),
        ref=st.none() | st.tuples(st.just("email"), st.sampled_from(EMAILS)),
    ),
)
guests = st.lists(st.sampled_from(HUBS), min_size=1, unique=True).map(
    lambda hubs: [purchase(email=hub, channel="online", tid=f"G-{hub}") for hub in hubs]
)


def _partition(records: dict[tuple[str, str], RecordData]) -> set[frozenset[tuple[str, str]]]:
    return {frozenset(component) for component in resolve(records).components}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(others=st.lists(people, max_size=8), nobodys=guests)
@example(  # three cards giving one e-mail make it a placeholder before any guest comes
    others=[
        purchase(card="LD10000002", email="ann@x.org"),
        purchase(email="ann@x.org", channel="online"),
        purchase(card="LD10000001", email="ann@x.org"),
        purchase(card="LD90000001", email="ann@x.org"),
    ],
    nobodys=[purchase(email=HUBS[0], channel="online", tid=f"G-{HUBS[0]}")],
)
def test_placeholders_never_change_the_partition_of_the_other_records(
    others: list[RecordData], nobodys: list[RecordData]
) -> None:
    # Given any records, and the tills' hubs
    before = world(*others, *TILL)
    # When guest purchases keyed only by a hub come in
    after = world(*others, *TILL, *nobodys)
    result = resolve(after)
    # Then they are nobody's, in no member, and everyone else is as before (the others may
    # make a placeholder of their own: three cards giving one e-mail; that stays as it was)
    already = set(resolve(before).unattributed)
    assert set(result.unattributed) == already | {guest.ref for guest in nobodys}
    assert _partition(after) == _partition(before)
    linked = {ref for link in result.links for ref in (link.a, link.b)}
    assert not linked & set(result.unattributed), "a placeholder never links"


@pytest.fixture(params=ADAPTERS)
async def service(request: pytest.FixtureRequest) -> AsyncIterator[IdentityService]:
    async with open_store(request.param) as store:
        yield IdentityService(store)


async def test_a_guest_purchase_on_a_known_hub_makes_no_member(service: IdentityService) -> None:
    # Given the tills' hubs
    await service.ingest(TILL)
    members = await service.store.count_members()
    # When a guest buys online with a store's address
    guest = purchase(email=HUBS[0], channel="online", tid="G1")
    result = await service.ingest([guest])
    # Then the purchase is kept as a record of no member, with why
    assert result.unattributed == {
        guest.ref: f"placeholder e-mail {HUBS[0]}: carried by many different people"
    }
    assert guest.ref in await service.store.load_records([guest.ref])
    assert guest.ref not in await service.store.all_assignments()
    assert await service.store.count_members() == members


async def test_a_member_whose_only_record_turns_out_nobodys_is_retired(
    service: IdentityService,
) -> None:
    # Given a guest purchase with an address nobody else had yet: an online customer
    guest = purchase(email=HUBS[0], channel="online", tid="G1")
    await service.ingest([guest])
    [member] = (await service.store.all_assignments()).values()
    # When the tills show the address is typed for every guest
    result = await service.ingest(TILL)
    # Then its member is retired, not redirected, and its history says why
    assert guest.ref not in await service.store.all_assignments()
    assert await service.store.resolve_member_id(member) is None
    assert any(c.kind == "split" and member in c.member_ids for c in result.changes)
    [history] = await service.store.member_events([member])
    [event] = [e for e in history if e.kind == "unattributed"]
    assert event.records == (guest.ref,)
    assert event.reason == f"placeholder e-mail {HUBS[0]}: carried by many different people"
    assert await service.find_member(IdentifierKind.EMAIL, HUBS[0]) != member
    # And a whole resolution of the store agrees with the incremental one
    assigned = await service.store.all_assignments()
    await service.resolve_all(await service.store.load_records(None))
    assert await service.store.all_assignments() == assigned


async def test_a_steward_is_told_a_record_identifies_no_one(service: IdentityService) -> None:
    # Given a guest purchase on a known hub: nobody's
    await service.ingest(TILL)
    guest = purchase(email=HUBS[0], channel="online", tid="G1")
    await service.ingest([guest])
    # When a steward links it to a card holder
    card = ("transactions", "loyalty:LD90000001")
    with pytest.raises(StewardError, match="in no member: it identifies no one") as refused:
        await link_records(service, guest.ref, card, "same person", "steward")
    # Then it is refused as not found, saying why, and nothing changed
    assert refused.value.code == "NOT_FOUND"
    assert guest.ref not in await service.store.all_assignments()

"""Changes at the edges of the closure walk's stops resolve as the whole store does.

The walk stops at values the engine holds to be hubs by their people and at crowded devices
(``identity/hub_stops.py``). These sequences drive it where the stop may be wrong: a value
crossing a threshold through the change itself (a contact's new card or e-mail, a contact
renamed so that a card's purchases are someone else's), lines of a record sent again with
other values, stewards' links, splits and undos across hubs, devices becoming crowded,
logins claimed by two contacts, e-mails typed at tills, placeholders; under rules of
varied thresholds, on SQLite (its walk in one thread) and on the MongoDB adapter (a step
a round trip). After every step the store's members are those resolving everything it
holds, with its stewards' links and cannot-links, gives.

Sequences of 4 to 24 steps (lines ingested one to three at a time, links, splits, undos):
40 per adapter by default (a few seconds); HYPOTHESIS_PROFILE=thorough runs the profile's
2,000 per adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from membergraph.identity.engine import resolve
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.service import IdentityService
from membergraph.identity.steward import StewardError, link_records, split_member
from membergraph.identity.store.port import IdentityStore
from membergraph.identity.undo import undo_event
from tests.identity.builders import call, crm, event, purchase
from tests.support.stores import ADAPTERS, open_store

# Few values, so that each is carried by several people and crosses thresholds often.
CONTACTS = ["C0", "C1", "C2", "C3", "C4"]
NAMES = [("Ann", "Lee"), ("Bob", "Ray"), ("Ann", "Ray"), ("Walk-In", "Customer")]
BIRTHS = ["1980-01-01", "1990-02-02", None]
EMAILS = ["a@x.org", "b@x.org", "shop@store.org", "test@test.com"]
CARDS = ["LD80000001", "LD80000002", "LD80000003"]
PHONES = ["+1 202 555 0101", "+1 202 555 0102"]
DEVICES = ["d-1", "d-2", "d-3"]
LOGINS = [*CONTACTS, "C9", "0"]  # C9: a login no contact has; 0: a placeholder
_DEFAULT_RUNS = 40  # sequences per adapter under the default profile
DAYS = ["2026-01-01T10:00:00Z", "2026-01-02T10:00:00Z"]


@dataclass(frozen=True)
class Lines:
    records: tuple[RecordData, ...]  # ingested together


@dataclass(frozen=True)
class Link:
    a: int
    b: int


@dataclass(frozen=True)
class Split:
    member: int
    leaving: int


@dataclass(frozen=True)
class Undo:
    which: int


contacts = st.builds(
    lambda key, name, birth, emails, phones, card: crm(
        key, *name, birth=birth, emails=emails, phones=phones, card=card
    ),
    st.sampled_from(CONTACTS),
    st.sampled_from(NAMES),
    st.sampled_from(BIRTHS),
    st.lists(st.sampled_from(EMAILS), max_size=2, unique=True),
    st.lists(st.sampled_from(PHONES), max_size=1),
    st.none() | st.sampled_from(CARDS),
)
purchases = (
    st.builds(
        purchase,
        card=st.sampled_from(CARDS),
        email=st.none() | st.sampled_from(EMAILS),
        channel=st.sampled_from(["store", "online"]),
        tid=st.sampled_from([f"T{n}" for n in range(8)]),
        at=st.sampled_from(DAYS),
    )
    | st.builds(  # an online order without a card: its e-mail's own record
        purchase,
        email=st.sampled_from(EMAILS[:3]),
        channel=st.sampled_from(["store", "online"]),
        tid=st.sampled_from([f"T{n}" for n in range(8)]),
        at=st.sampled_from(DAYS),
    )
)
events = st.builds(
    event,
    st.sampled_from(DEVICES),
    user=st.none() | st.sampled_from(LOGINS),
    eid=st.sampled_from(["E0", "E1", "E2"]),
    email=st.none() | st.sampled_from(EMAILS),
)
calls = st.builds(
    call,
    st.sampled_from(["I0", "I1", "I2"]),
    phone=st.none() | st.sampled_from(PHONES),
    ref=st.none()
    | st.tuples(st.just("crm_id"), st.sampled_from(LOGINS))
    | st.tuples(st.just("loyalty_id"), st.sampled_from(CARDS))
    | st.tuples(st.just("email"), st.sampled_from(EMAILS)),
)
lines = st.lists(st.one_of(contacts, purchases, events, calls), min_size=1, max_size=3).map(
    lambda batch: Lines(tuple(batch))
)
steps = st.lists(
    st.one_of(
        lines,
        st.builds(Link, st.integers(0, 99), st.integers(0, 99)),
        st.builds(Split, st.integers(0, 99), st.integers(1, 99)),
        st.builds(Undo, st.integers(0, 99)),
    ),
    min_size=4,
    max_size=24,
)
rules = st.builds(
    Rules,
    hub_max_people=st.integers(1, 3),
    till_max_people=st.integers(1, 2),
    device_max_names=st.integers(1, 3),
    hub_max_records=st.integers(2, 9),
    card_max_emails=st.integers(1, 2),
    till_busy_day=st.integers(1, 2),
    till_busy_days=st.integers(0, 2),
    card_email_days=st.integers(0, 2),
)


async def partition(store: IdentityStore) -> set[frozenset[RecordKey]]:
    groups: dict[str, set[RecordKey]] = {}
    for ref, member in (await store.all_assignments()).items():
        groups.setdefault(member, set()).add(ref)
    return {frozenset(g) for g in groups.values()}


async def as_a_whole(store: IdentityStore, rules: Rules) -> set[frozenset[RecordKey]]:
    """The members resolving everything the store holds gives (nothing written)."""
    records = await store.load_records(None)
    state = await store.scope_state(None)
    manual = [(x.a, x.b, x.evidence) for x in state.active if x.rule == "manual"]
    found = resolve(records, rules, manual, state.cannot)
    return {frozenset(c) for c in found.components}


async def steward_events(store: IdentityStore) -> list[int]:
    members = sorted(set((await store.all_assignments()).values()))
    histories = await store.member_events(members)
    return sorted({e.id for h in histories for e in h if e.kind == "steward" and e.id})


async def take_step(service: IdentityService, step: object) -> None:
    """One step as a user makes it: lines ingested, or a steward's link, split or undo of
    records the store holds (refused ones skipped, as a steward would be told)."""
    store = service.store
    refs = sorted(await store.all_assignments())
    with contextlib.suppress(StewardError):
        if isinstance(step, Lines):
            await service.ingest(copy.deepcopy(list(step.records)))
        elif isinstance(step, Link) and len(refs) > 1:
            a, b = refs[step.a % len(refs)], refs[step.b % len(refs)]
            if a != b:
                await link_records(service, a, b, "one person", "steward", move=True)
        elif isinstance(step, Split):
            groups = sorted(sorted(g) for g in await partition(store) if len(g) > 1)
            if groups:
                group = groups[step.member % len(groups)]
                leaving = group[: 1 + step.leaving % (len(group) - 1)]
                member = (await store.assignments(group[:1]))[group[0]]
                await split_member(service, member, leaving, "two people", "steward")
        elif isinstance(step, Undo):
            found = await steward_events(store)
            if found:
                await undo_event(service, found[step.which % len(found)], "undo", "steward")


async def play(adapter: str, rules: Rules, sequence: list[object]) -> None:
    async with open_store(adapter) as store:
        service = IdentityService(store, rules)
        for n, step in enumerate(sequence):
            await take_step(service, step)
            held = await partition(store)
            assert held == await as_a_whole(store, rules), f"after step {n}: {step}"


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_changes_at_the_walks_stops_resolve_as_the_whole_store(adapter: str) -> None:
    runs = settings.default.max_examples  # the profile's: 2,000 when thorough

    @settings(max_examples=runs if runs > 100 else min(runs, _DEFAULT_RUNS))
    @given(rules, steps)
    def check(rules: Rules, sequence: list[object]) -> None:
        asyncio.run(play(adapter, rules, sequence))

    check()


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_contact_on_a_card_many_records_carry_joins_her_duplicate(adapter: str) -> None:
    # Given a card on more records than the cap (a hub: its contacts are not reached
    # through it), held by two contacts of one name, and an online order on it,
    tight = Rules(hub_max_records=3)
    async with open_store(adapter) as store:
        service = IdentityService(store, tight)
        for line in [
            purchase(card="LD80000003", email="shop@store.org", channel="online", tid="T0"),
            call("I0", ref=("loyalty_id", "LD80000003")),
            crm("C0", "Ann", "Lee", card="LD80000003"),
            crm("C1", "Ann", "Lee", card="LD80000003"),
        ]:
            await service.ingest([line])
        # when one of them gives the order's e-mail (the card's two holders, one person),
        await service.ingest([crm("C0", "Ann", "Lee", emails=["shop@store.org"])])
        # then both contacts join the order's member, as resolving everything does
        # (the card's holders were read, though the card itself is not followed).
        held = await store.all_assignments()
        assert held[("crm", "C0")] == held[("crm", "C1")]
        assert await partition(store) == await as_a_whole(store, tight)


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_contact_renamed_on_a_card_many_records_carry_moves_the_cards_purchases(
    adapter: str,
) -> None:
    # Given a card on more records than the cap held by two contacts of different names
    # (its purchases are then no one person's), the purchases' e-mail also on a login of
    # one of them: on two people, a hub, and the purchases nobody's;
    tight = Rules(hub_max_people=1, till_max_people=1, hub_max_records=3)
    async with open_store(adapter) as store:
        service = IdentityService(store, tight)
        for line in [
            event("d-1", user="C1", eid="E0", email="a@x.org"),
            call("I0", ref=("loyalty_id", "LD80000003")),
            purchase(card="LD80000003", email="a@x.org", tid="T0"),
            crm("C0", "Ann", "Lee", card="LD80000003"),
            crm("C1", "Ann", "Ray", birth=None, card="LD80000003"),
        ]:
            await service.ingest([line])
        assert ("transactions", "loyalty:LD80000003") not in await store.all_assignments()
        # when one contact is renamed as the other (one person: the card's purchases hers,
        # the e-mail on her alone),
        await service.ingest([crm("C0", "Ann", "Ray", birth=None)])
        # then the purchases are someone's, as resolving everything says.
        assert ("transactions", "loyalty:LD80000003") in await store.all_assignments()
        assert await partition(store) == await as_a_whole(store, tight)


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_call_that_typed_a_placeholder_is_no_ones_by_that_placeholder(
    adapter: str,
) -> None:
    # Given a call from a contact's phone on which the agent typed a placeholder e-mail
    # that another contact of the same name also gave (a placeholder names no one: the
    # walk never follows it to that contact),
    tight = Rules(hub_max_people=1)
    async with open_store(adapter) as store:
        service = IdentityService(store, tight)
        await service.ingest([crm("C0", "Ann", "Lee", birth="1990-02-02", phones=[PHONES[1]])])
        await service.ingest(
            [
                call("I0", phone=PHONES[1], ref=("email", "test@test.com")),
                crm("C1", "Ann", "Lee", emails=["a@x.org", "test@test.com"]),
            ]
        )
        # when the phone's contact is given that other contact's birth date,
        await service.ingest([crm("C0", "Ann", "Lee", birth="1980-01-01")])
        # then the call stays apart, as resolving everything says: the placeholder makes
        # it no one's contact's (before, the whole store read the placeholder's contact,
        # took the call for her, one person on the phone, and joined it to C0; ingestion
        # did not; the phone a hub under these rules, the call is nobody's).
        held = await store.all_assignments()
        assert held.get(("call_center", "I0")) != held[("crm", "C0")]
        assert await partition(store) == await as_a_whole(store, tight)

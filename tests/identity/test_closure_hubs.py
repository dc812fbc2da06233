"""A change's closure stops at values many people carry, and resolves as the whole store does."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import random
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membergraph.demo import write_demo_data
from membergraph.gateway import open_gateway
from membergraph.identity.closure import Closure, Walk
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.service import IdentityService
from membergraph.identity.steward import StewardError, link_records, split_member
from membergraph.identity.store.mongodb import MongoStore
from membergraph.identity.store.port import Change, ClosureStep, IdentityStore, ScopeState
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.identity.values import ValueKey
from membergraph.settings import Settings
from tests.identity.builders import call, crm, event, purchase
from tests.support.mongo import EmulatedClient, EmulatedCollection

# Thresholds low enough that a handful of records make hubs by people and crowded devices.
TIGHT = Rules(hub_max_people=2, till_max_people=1, device_max_names=2)

EMAILS = ["a@x.org", "b@x.org", "shop@store.org"]
CARDS = ["LD80000001", "LD80000002", "LD80000003", "LD80000004"]
FIRSTS = ["Ann", "Bob", "Cy", "Ann"]
DEVICES = ["d-1", "d-2"]


async def partition(store: IdentityStore) -> set[frozenset[RecordKey]]:
    groups: dict[str, set[RecordKey]] = {}
    for ref, member in (await store.all_assignments()).items():
        groups.setdefault(member, set()).add(ref)
    return {frozenset(g) for g in groups.values()}


async def resolves_as_a_whole(store: IdentityStore, rules: Rules) -> None:
    """Resolving everything the store holds at once moves no record."""
    before = await partition(store)
    await IdentityService(store, rules).resolve_all({})
    assert await partition(store) == before


@st.composite
def crowds(draw: st.DrawFn) -> list[RecordData]:
    """Contacts, cards' purchases with e-mails typed at the till, logins and e-mail opens
    on two devices, calls: few values, so that many people carry each."""
    out: list[RecordData] = []
    for n in range(draw(st.integers(1, 5))):
        out.append(
            crm(
                f"C{n}",
                first=draw(st.sampled_from(FIRSTS)),
                emails=draw(st.lists(st.sampled_from(EMAILS), max_size=2)),
                card=draw(st.none() | st.sampled_from(CARDS)),
            )
        )
    for n in range(draw(st.integers(0, 6))):
        out.append(
            purchase(
                card=draw(st.sampled_from(CARDS)),
                email=draw(st.sampled_from(EMAILS)),
                channel=draw(st.sampled_from(["store", "online"])),
                tid=f"T{n}",
            )
        )
    for n in range(draw(st.integers(0, 6))):
        out.append(
            event(
                draw(st.sampled_from(DEVICES)),
                user=draw(st.none() | st.sampled_from(["C0", "C1", "C2", "C3"])),
                eid=f"E{n}",
                email=draw(st.none() | st.sampled_from(EMAILS)),
            )
        )
    for n in range(draw(st.integers(0, 2))):
        ref = draw(st.none() | st.tuples(st.just("loyalty_id"), st.sampled_from(CARDS)))
        out.append(call(f"I{n}", ref=ref))
    return out


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(crowds(), st.randoms(use_true_random=False), st.integers(0, 2))
def test_changes_next_to_values_many_people_carry_resolve_as_the_whole_store(
    batch: list[RecordData], rng: random.Random, links: int
) -> None:
    # Given lines on values many people carry, ingested one by one in any order, with
    # stewards' links and splits among them, then resolved all at once from nothing:
    # the same members, and resolving the store as a whole afterwards moves nothing.
    async def run() -> None:
        async with SqliteStore(":memory:") as step_store, SqliteStore(":memory:") as whole:
            steps = IdentityService(step_store, TIGHT)
            shuffled = list(batch)
            rng.shuffle(shuffled)
            for record in shuffled:
                await steps.ingest([copy.deepcopy(record)])
            crm_refs = sorted({r.ref for r in batch if r.source == "crm"})
            for _ in range(links if len(crm_refs) > 1 else 0):
                a, b = rng.sample(crm_refs, 2)
                # (A link the rules refuse, a cannot-link, changes nothing.)
                with contextlib.suppress(StewardError):
                    await link_records(steps, a, b, "one person", "steward", move=True)
            held = await step_store.assignments(crm_refs)
            if links and crm_refs and crm_refs[0] in held:
                member = held[crm_refs[0]]
                [records] = await step_store.member_records([member])
                if len(records) > 1:
                    await split_member(steps, member, [crm_refs[0]], "two people", "steward")
            await resolves_as_a_whole(step_store, TIGHT)
            if not links:
                by_ref: dict[RecordKey, RecordData] = {}
                for record in copy.deepcopy(batch):
                    if record.ref in by_ref:
                        by_ref[record.ref].merge(record)
                    else:
                        by_ref[record.ref] = record
                await IdentityService(whole, TIGHT).resolve_all(by_ref)
                assert await partition(step_store) == await partition(whole)

    asyncio.run(run())


class CountingStore(SqliteStore):
    """A SQLite store walking a closure step by step (the port's walk), counting the
    records each step reads."""

    read: int = 0

    async def closure_state(self, walk: Walk) -> tuple[Closure, ScopeState]:
        return await IdentityStore.closure_state(self, walk)

    async def closure_step(
        self,
        values: Iterable[ValueKey],
        frontier: Sequence[RecordKey],
        seen_members: set[str],
        known: AbstractSet[RecordKey],
        limit: int,
        peek: Sequence[ValueKey] = (),
        crowded: Mapping[ValueKey, AbstractSet[RecordKey]] | None = None,
    ) -> ClosureStep:
        step = await super().closure_step(
            values, frontier, seen_members, known, limit, peek, crowded
        )
        self.read += len(step.records) + sum(len(p or ()) for p in step.peeked.values())
        self.read += sum(len(w) for w in step.crowded.values())
        return step


def shop_world(guests: int) -> list[RecordData]:
    """Guests, each a contact with a card, four visits on her own device, and purchases on
    her card for which a clerk typed the store's own e-mail."""
    world = []
    for n in range(guests):
        card = f"LD9{n:07d}"
        world.append(crm(f"C{n}", first=f"Guest{n}", emails=[f"g{n}@x.org"], card=card))
        world.append(purchase(card=card, email="shop@store.org", tid=f"T{n}"))
        for v in range(4):
            world.append(event(f"g{n}-{v}", user=f"C{n}", eid=f"E{n}-{v}"))
    return world


def proxy_world(readers: int) -> list[RecordData]:
    """Readers whose opens a mail privacy proxy fetches under one device id, naming each by
    her login; each reader a contact with a card, its purchases, and devices of her own."""
    world = []
    for n in range(readers):
        card = f"LD7{n:07d}"
        world.append(crm(f"C{n}", first=f"Reader{n}", emails=[f"r{n}@x.org"], card=card))
        world.append(purchase(card=card, tid=f"T{n}"))
        world.append(event("a-mpp-0001", user=f"C{n}", eid=f"P{n}"))
        for v in range(3):
            world.append(event(f"r{n}-{v}", user=f"C{n}", eid=f"E{n}-{v}"))
    world.append(event("a-mpp-0001", eid="forwarded"))  # an open that names no one
    return world


@pytest.mark.parametrize(
    ("world", "line"),
    [
        pytest.param(
            shop_world(40),
            purchase(card="LD90000007", email="shop@store.org", tid="T-new"),
            id="store-email-typed-for-guests",
        ),
        pytest.param(
            proxy_world(40), event("a-mpp-0001", user="C7", eid="P-new"), id="mail-proxy-device"
        ),
    ],
)
async def test_a_push_next_to_a_value_many_people_carry_reads_its_own_member_only(
    world: list[RecordData], line: RecordData
) -> None:
    # Given forty people each with a member of six records or more, all on one value that
    # many people carry (a store's e-mail typed by clerks, a mail privacy proxy's device),
    async with CountingStore(":memory:") as store:
        service = IdentityService(store)
        await service.resolve_all({r.ref: copy.deepcopy(r) for r in world})
        before = await partition(store)
        # when a line of one of them comes in,
        (scope, _), _ = await service.closure({line.ref: copy.deepcopy(line)})
        store.read = 0
        await service.ingest([copy.deepcopy(line)])
        # then its closure is her member, not the forty: the value's carriers (and their
        # cards' contacts) are read to count its people, the members beyond it are not.
        assert len(scope) <= 8
        assert store.read <= 2 * 40 + 8 < len(world)
        after = await partition(store)
        assert {g for g in after if not g & set(scope)} == {g for g in before if not g & set(scope)}
        await resolves_as_a_whole(store, service.rules)


@contextlib.asynccontextmanager
async def crowded_proxy() -> AsyncIterator[tuple[CountingStore, IdentityService]]:
    """Forty readers on a mail privacy proxy, and a new reader's first open pushed: its
    walk reads the proxy's carriers (counted from here) to find it crowded."""
    world = proxy_world(40)
    async with CountingStore(":memory:") as store:
        service = IdentityService(store)
        await service.resolve_all({r.ref: copy.deepcopy(r) for r in world})
        store.read = 0
        await service.ingest([event("a-mpp-0001", user="C70", eid="P-new")])
        yield store, service


async def test_a_crowded_device_is_judged_again_on_its_witnesses_not_every_reader() -> None:
    # Given a proxy found crowded by a walk that read its carriers
    async with crowded_proxy() as (store, service):
        assert store.read > 40
        # When another new reader's open comes in
        store.read = 0
        await service.ingest([event("a-mpp-0001", user="C71", eid="P-new-2")])
        # Then the walk reads only the proxy's witnesses, one per name until it is crowded
        # (device_max_names + 1), and the new record's own: not the forty readers
        assert store.read <= service.rules.device_max_names + 1 + 2 < 40
        await resolves_as_a_whole(store, service.rules)
        # And under other thresholds (a crowd of more than the readers) nothing judged
        # before is taken for granted: the proxy's readers are read and counted again
        service.rules = service.rules.model_copy(update={"device_max_names": 45})
        store.read = 0
        await service.ingest([event("a-mpp-0001", user="C72", eid="P-new-3")])
        assert store.read > 40
        await resolves_as_a_whole(store, service.rules)


async def test_witnesses_that_lost_their_names_send_the_walk_to_every_carrier() -> None:
    # Given a proxy known crowded from an earlier walk
    async with crowded_proxy() as (store, service):
        [(device, witnesses)] = service._crowded[1].items()
        assert device == (IdentifierKind.ANONYMOUS_ID, "a-mpp-0001")
        # when an erasure strips the names off its witnesses (their records stay), so
        # that the proxy names no more than device_max_names people,
        loaded = await store.load_records(witnesses)
        for record in loaded.values():
            record.identifiers = {
                i for i in record.identifiers if i.kind is IdentifierKind.ANONYMOUS_ID
            }
        await store.apply(Change(records=list(loaded.values()), replace_identifiers=True))
        # then the next walk beside it judges it on what its witnesses name now, reads
        # every carrier, forgets it was crowded, and gives what the whole store gives
        store.read = 0
        await service.ingest([event("a-mpp-0001", user="C71", eid="P-new-2")])
        assert store.read > 40 and device not in service._crowded[1]
        await resolves_as_a_whole(store, service.rules)


async def test_a_value_few_people_carry_is_still_followed() -> None:
    # Given a family e-mail typed at the till for two cards of one holder's member (one
    # person, on many records), a new contact giving that e-mail joins the member.
    world = [
        crm("C1", first="Ann", card="LD60000001"),
        *[purchase(card="LD60000001", email="fam@x.org", tid=f"T{n}") for n in range(10)],
    ]
    async with SqliteStore(":memory:") as store:
        service = IdentityService(store)
        await service.resolve_all({r.ref: copy.deepcopy(r) for r in world})
        await service.ingest([crm("C2", first="Ann", emails=["fam@x.org"], card="LD60000001")])
        held = await store.all_assignments()
        assert held[("crm", "C1")] == held[("crm", "C2")]
        await resolves_as_a_whole(store, service.rules)


async def test_lines_pushed_next_to_the_demo_mail_proxies_give_what_resolving_all_gives(
    tmp_path: Path,
) -> None:
    # Given the demo's thousand people loaded (the mail privacy proxies' devices each name
    # forty to sixty readers: their closures once joined a third of the store),
    folder, path = tmp_path / "data", tmp_path / "store.db"
    write_demo_data(folder, 1000, seed=7)
    settings = Settings(data=folder, store=f"sqlite:///{path}", cache_dir=tmp_path)
    gateway, sources, _ = await open_gateway(settings)
    await sources.aclose()
    service, store = gateway.identity, gateway.identity.store
    try:
        proxies = [(IdentifierKind.ANONYMOUS_ID, f"a-mpp-000{n}") for n in range(2)]
        carried = await store.carriers(proxies)
        readers = sorted(key.partition("|login:")[2] for _, key in carried[proxies[0]])
        readers = [r for r in readers if r][:6]
        contacts = await store.load_records([("crm", r) for r in readers])
        cards = [
            i.value
            for ref in sorted(contacts)
            for i in contacts[ref].identifiers
            if i.kind is IdentifierKind.LOYALTY_ID
        ]
        emails = [
            i.value
            for ref in sorted(contacts)
            for i in contacts[ref].identifiers
            if i.kind is IdentifierKind.EMAIL
        ]
        lines = [
            purchase(card=cards[0], email=emails[1], tid="push-1"),
            event("a-mpp-0001", user=readers[2], eid="push-2"),
            event("a-mpp-0001", eid="push-3"),
            event("a-mpp7-0000", eid="push-4", email=emails[3]),
            call("push-5", phone="+18884107700", ref=("loyalty_id", cards[1])),
            crm("push-6", first="Nadia", emails=[emails[0]], card="LD99999999"),
        ]
        # when lines come in next to them, and a steward links two of their readers,
        for line in lines:
            (scope, _), _ = await service.closure({line.ref: copy.deepcopy(line)})
            assert len(scope) < 300  # her member and what it touches, not the proxies' readers
            await service.ingest([line])
        await link_records(
            service, ("crm", readers[3]), ("crm", readers[4]), "one person", "steward", move=True
        )
        # then the members are those resolving everything the store holds gives.
        await resolves_as_a_whole(store, service.rules)
    finally:
        await store.aclose()


@pytest.mark.mongodb
async def test_the_mongodb_closure_step_reads_no_more_of_a_hub_than_tell_it_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a store's e-mail typed at the till on twenty cards: a hub under these rules
    rules = Rules(hub_max_records=5)
    tills = [
        purchase(card=f"LD7000{n:04d}", email="shop@store.org", tid=f"T{n}") for n in range(20)
    ]
    key = "EMAIL:shop@store.org"
    read: list[int] = []  # documents the server sent back to queries for its carriers
    find = EmulatedCollection.find

    def counted(self: EmulatedCollection, query: dict[str, Any], *args: Any, **kw: Any) -> Any:
        cursor = find(self, query, *args, **kw)
        asked = query.get("match_keys")
        if asked == key or (isinstance(asked, dict) and key in asked.get("$in", ())):
            listed = cursor.to_list

            async def to_list(length: int | None = None) -> list[Any]:
                docs = await listed(length)
                read.append(len(docs))
                return docs

            cursor.to_list = to_list
        return cursor

    async with MongoStore("mongodb://emulated/membergraph", client=EmulatedClient()) as store:
        service = IdentityService(store, rules)
        await service.resolve_all({r.ref: copy.deepcopy(r) for r in tills})
        # When one more card's purchase with that e-mail comes in (its walk asks who
        # carries the e-mail)
        monkeypatch.setattr(EmulatedCollection, "find", counted)
        new = purchase(card="LD70009999", email="shop@store.org", tid="T-NEW")
        await service.ingest([copy.deepcopy(new)])
        # Then one carrier more than a hub's limit is read, not all twenty
        assert read and sum(read) <= rules.hub_max_records + 1, read
        # And the card stays apart from the others, as the whole store resolves it
        held = await store.all_assignments()
        assert held[new.ref] not in {held[r.ref] for r in tills}
        await resolves_as_a_whole(store, rules)

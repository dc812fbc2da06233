"""Incremental ingestion and batch resolution agree; IDs are stable; history explains."""

from __future__ import annotations

import asyncio
import copy
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membergraph.identity.engine import resolve
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from membergraph.identity.service import IdentityService
from membergraph.identity.store.port import IdentityStore
from membergraph.identity.store.sqlite import SqliteStore
from tests.identity.builders import call, crm, purchase, visitor
from tests.support.stores import ADAPTERS, open_store


@pytest.fixture(params=ADAPTERS)
async def service(request: pytest.FixtureRequest) -> AsyncIterator[IdentityService]:
    async with open_store(request.param) as store:
        yield IdentityService(store)


async def partition(service: IdentityService) -> set[frozenset[tuple[str, str]]]:
    groups: dict[str, set[tuple[str, str]]] = {}
    for ref, member in (await service.store.all_assignments()).items():
        groups.setdefault(member, set()).add(ref)
    return {frozenset(g) for g in groups.values()}


async def test_a_member_keeps_its_id_as_records_join(service: IdentityService) -> None:
    await service.ingest([crm("C1", card="LD60000001")])
    [member] = (await service.store.all_assignments()).values()
    await service.ingest([purchase(card="LD60000001")])
    await service.ingest([visitor("a-1", logins=("C1",))])
    assert set((await service.store.all_assignments()).values()) == {member}


async def test_a_merged_away_id_redirects_to_the_survivor(service: IdentityService) -> None:
    await service.ingest([crm("C1", emails=["ann@x.org"])])
    await service.ingest([purchase(card="LD70000001"), purchase(card="LD70000001", tid="T2")])
    before = await service.store.all_assignments()
    card_member = before[("transactions", "loyalty:LD70000001")]
    await service.ingest([crm("C1", emails=["ann@x.org"], card="LD70000001")])
    survivor = (await service.store.all_assignments())[("crm", "C1")]
    assert survivor == before[("crm", "C1")]
    assert await service.store.resolve_member_id(card_member) == survivor
    [history] = await service.store.member_events([survivor])
    assert {"linked", "merged"} <= {e.kind for e in history}


async def test_a_blocked_value_names_each_record_once_however_often_it_was_typed(
    service: IdentityService,
) -> None:
    # One card, the same junk e-mail typed at the till and given online: two captures of
    # one value on one record, and one record in the event that says the value is blocked.
    await service.ingest(
        [
            crm("C1", card="LD80000001"),
            purchase(card="LD80000001", email="test@test.com"),
            purchase(card="LD80000001", email="TEST@test.com", channel="online", tid="T2"),
        ]
    )
    [member] = set((await service.store.all_assignments()).values())
    [history] = await service.store.member_events([member])
    [blocked] = [e for e in history if e.kind == "value_blocked"]
    assert blocked.rule == "blocked"
    assert blocked.evidence == {"kind": "EMAIL", "value": "test@test.com"}
    assert list(blocked.records) == [("transactions", "loyalty:LD80000001")]


async def test_the_same_line_twice_changes_nothing(service: IdentityService) -> None:
    first = await service.ingest([crm("C1", emails=["ann@x.org"])])
    assert first.changes
    again = await service.ingest([crm("C1", emails=["ann@x.org"])])
    assert again.changes == [] and again.members == 0


POOL_EMAILS = ["a@x.org", "b@x.org", "c@x.org", "noemail@noemail.com"]
POOL_PHONES = ["+14155550101", "+14155550102"]
POOL_CARDS = ["LD80000001", "LD80000002", "LD80000003"]
NAMES = [("Ann", "1980-01-01"), ("Bob", "1981-02-02"), ("Ann", "1980-01-01")]


@st.composite
def records(draw: st.DrawFn) -> list[RecordData]:
    out: list[RecordData] = []
    for n in range(draw(st.integers(0, 4))):
        first, birth = draw(st.sampled_from(NAMES))
        out.append(
            crm(
                f"C{n}",
                first=first,
                birth=birth,
                emails=draw(st.lists(st.sampled_from(POOL_EMAILS), max_size=2)),
                phones=draw(st.lists(st.sampled_from(POOL_PHONES), max_size=1)),
                card=draw(st.none() | st.sampled_from(POOL_CARDS)),
            )
        )
    for n in range(draw(st.integers(0, 4))):
        card, email = (
            draw(st.none() | st.sampled_from(POOL_CARDS)),
            draw(st.sampled_from(POOL_EMAILS)),
        )
        if card is None and email == "noemail@noemail.com":
            continue  # a placeholder alone identifies no one: the purchase makes no record
        out.append(purchase(card=card, email=email, channel="online", tid=f"T{n}"))
    for n in range(draw(st.integers(0, 3))):
        out.append(
            visitor(
                f"a-{n}",
                logins=tuple(draw(st.lists(st.sampled_from(["C0", "C1", "C2"]), max_size=2))),
                emails=tuple(draw(st.lists(st.sampled_from(POOL_EMAILS), max_size=1))),
            )
        )
    for n in range(draw(st.integers(0, 3))):
        ref = draw(
            st.none()
            | st.tuples(st.just("loyalty_id"), st.sampled_from(POOL_CARDS))
            | st.tuples(st.just("crm_id"), st.sampled_from(["C0", "C1"]))
        )
        out.append(call(f"I{n}", phone=draw(st.none() | st.sampled_from(POOL_PHONES)), ref=ref))
    return out


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), st.randoms(use_true_random=False))
def test_incremental_ingestion_gives_the_batch_partition_in_any_order(
    batch: list[RecordData], rng: random.Random
) -> None:
    async def run() -> None:
        async with SqliteStore(":memory:") as whole_store, SqliteStore(":memory:") as step_store:
            whole = IdentityService(whole_store)
            by_ref: dict[tuple[str, str], RecordData] = {}
            for record in copy.deepcopy(batch):
                if record.ref in by_ref:
                    by_ref[record.ref].merge(record)
                else:
                    by_ref[record.ref] = record
            await whole.resolve_all(by_ref)
            steps = IdentityService(step_store)
            shuffled = list(batch)
            rng.shuffle(shuffled)
            for record in shuffled:
                await steps.ingest([record])
            expected = await partition(whole)
            assert await partition(steps) == expected
            # No record lost or counted twice (a shared device's is in no member).
            nobodys = list(resolve(by_ref).unattributed)
            assert sorted([*(r for group in expected for r in group), *nobodys]) == sorted(by_ref)
            # Re-running resolve changes nothing.
            before = await whole_store.all_assignments()
            await whole.resolve_all(by_ref)
            assert await whole_store.all_assignments() == before

    asyncio.run(run())


async def test_a_hold_line_on_more_calls_than_the_cap_stays_a_hub_when_ingested_one_by_one() -> (
    None
):
    # The closure reads at most cap + 1 carriers of a value; that must be enough to tell a
    # hub, so ingesting one by one gives exactly what resolving everything at once gives.
    rules = Rules(hub_max_records=3)
    hold = "+18005550000"
    # One contact typed the hold line as their own number: a hub must still link nothing.
    people = [crm(f"C{n}", first=f"P{n}", phones=["+1415555010" + str(n)]) for n in range(6)]
    people.append(crm("C-hold", first="Hal", phones=[hold]))
    calls = [call(f"I{n}", phone=hold, ref=("crm_id", f"C{n}")) for n in range(6)]
    async with SqliteStore(":memory:") as whole_store, SqliteStore(":memory:") as step_store:
        whole, steps = IdentityService(whole_store, rules), IdentityService(step_store, rules)
        await whole.resolve_all({r.ref: copy.deepcopy(r) for r in [*people, *calls]})
        for record in [*people, *calls, call("I-late", phone=hold)]:
            await steps.ingest([copy.deepcopy(record)])
        await whole.ingest([call("I-late", phone=hold)])
        expected = await partition(whole)
        assert await partition(steps) == expected
        # Each call stays with the contact its agent typed; the hold line merged no one, and
        # a late call from it with no account typed is nobody's.
        assert {frozenset({("crm", f"C{n}"), ("call_center", f"I{n}")}) for n in range(6)} <= (
            expected
        )
        assert all(("call_center", "I-late") not in member for member in expected)


async def test_an_ingest_reads_its_whole_closure_in_one_round_trip_to_sqlite(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A purchase on a new card reaches, by its e-mail, a contact and an older card; they
    # reach their member's visitor; the visitor reaches nothing new: three steps. SQLite
    # takes them, and reads the state of what they reached, in one hop; it reaches what the
    # port's step-by-step walk reaches.
    world = [
        crm("C1", emails=["ann@x.org"], card="LD90000001"),
        purchase(card="LD90000001", email="ann@x.org"),
        visitor("v-1", logins=("C1",)),
    ]
    incoming = purchase(card="LD90000002", email="ann@x.org", tid="T9")
    hops: list[str] = []
    real_read = SqliteStore._read

    async def counted(self: SqliteStore, fn: Any, *args: Any) -> Any:
        hops.append((args[0] if fn.__name__ == "in_snapshot" else fn).__name__)
        return await real_read(self, fn, *args)

    monkeypatch.setattr(SqliteStore, "_read", counted)
    partitions = []
    for one_hop in (True, False):
        if not one_hop:  # the port's own walk: one closure_step per step
            monkeypatch.setattr(SqliteStore, "closure_state", IdentityStore.closure_state)
        async with SqliteStore(tmp_path / f"{one_hop}.db") as store:
            service = IdentityService(store)
            await service.ingest(world)
            hops.clear()
            await service.ingest([incoming])
            if one_hop:
                assert hops[:2] == ["load_records", "closure_state"]
                assert "closure_step" not in hops and "scope_state" not in hops
            else:
                assert hops[:5] == ["load_records", *["closure_step"] * 3, "scope_state"]
            partitions.append(await store.all_assignments())
    # Every record resolved alike; the second card is a member of its own (one card each).
    assert partitions[0] == partitions[1] and len(set(partitions[0].values())) == 2

"""The metrics port on every adapter, held to a brute-force computation in Python: scores
and segments to ``insights.rfm.population_of``, pages, counts and aggregates to filtering,
sorting and summing the same rows by hand (random populations and filters, hypothesis)."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membergraph.identity.store.metrics_port import (
    MemberQuery,
    OrderField,
    Range,
    Scoring,
    StatsRow,
)
from membergraph.identity.store.types import Change
from membergraph.insights.consent import Channel
from membergraph.insights.metrics import MemberMetrics, Sale
from membergraph.insights.rfm import population_of
from membergraph.measuring import micros, row_of
from tests.support.mongo import ON_REAL_SERVER
from tests.support.stores import open_store, two_processes

REF = datetime(2026, 11, 21, 23, 59, tzinfo=UTC)
KINDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("mongodb-emulated", id="mongomock"),
    pytest.param("mongodb-real", id="mongodb", marks=ON_REAL_SERVER),
]
TIERS = ["BRONZE", "SILVER", "GOLD"]
SOURCES = ["crm", "transactions", "web_analytics", "call_center"]
CHANNELS = [c for c in Channel]


def _moment(days: int | None) -> datetime | None:
    return None if days is None else REF - timedelta(days=days, hours=days % 7)


@st.composite
def metrics(draw: st.DrawFn, member_id: str) -> MemberMetrics:
    small = st.integers(0, 4)  # few distinct values: many ties
    last = draw(st.none() | st.integers(0, 800))
    frequency = 0 if last is None or last > 365 else draw(st.integers(1, 4))
    return MemberMetrics(
        member_id=member_id,
        reference=REF,
        last_purchase_at=_moment(last),
        first_purchase_at=_moment(None if last is None else last + draw(st.integers(0, 400))),
        frequency=frequency,
        monetary_cents=frequency * draw(st.sampled_from([0, 500, 1000])),
        prior_frequency=draw(small),
        prior_monetary_cents=draw(st.sampled_from([0, 700, 5000])),
        prior_last_purchase_at=_moment(draw(st.none() | st.integers(366, 700))),
        engagement=draw(small),
        last_engaged_at=_moment(draw(st.integers(0, 89))),
        last_activity_at=_moment(draw(st.none() | st.integers(0, 400))),
        lifetime_spend_cents=draw(st.sampled_from([0, 1000, 60_000, 250_000])),
        points_earned=draw(st.sampled_from([0, 100, 500])),
        points_redeemed=draw(st.sampled_from([0, 100, 600])),
        tier=draw(st.sampled_from(TIERS)),
        sources=frozenset(draw(st.sets(st.sampled_from(SOURCES), min_size=1))),
        consented=frozenset(draw(st.sets(st.sampled_from(CHANNELS)))),
        reachable=frozenset(draw(st.sets(st.sampled_from(CHANNELS)))),
        sales=tuple(
            Sale(channel, store, month, n, n * 1000, n * 10, redeemed)
            for channel, store, month, n, redeemed in draw(
                st.lists(
                    st.tuples(
                        st.sampled_from(["store", "online"]),
                        st.sampled_from(["", "S1", "S2"]),
                        st.sampled_from(["2026-09", "2026-10"]),
                        st.integers(0, 3),
                        st.integers(0, 50),
                    ),
                    max_size=3,
                    unique_by=lambda t: t[:3],
                )
            )
        ),
    )


@st.composite
def populations(draw: st.DrawFn) -> dict[str, MemberMetrics]:
    count = draw(st.integers(0, 30))
    return {f"m{i:03}": draw(metrics(f"m{i:03}")) for i in range(count)}


ranges = st.builds(
    Range, st.none() | st.integers(-100, 100_000), st.none() | st.integers(0, 300_000)
)
bought_bound = st.none() | st.integers(0, 800).map(lambda days: micros(_moment(days)))
CONDITIONS = {
    "segment": st.sampled_from(["LOYAL", "ZOMBIE", "NEW", "AT_RISK", "HYPERACTIVE"]),
    "tier": st.sampled_from(TIERS),
    "source": st.sampled_from(SOURCES),
    "lifetime_spend_cents": ranges,
    "monetary_cents": ranges,
    "points_balance": st.builds(
        Range, st.none() | st.integers(-600, 500), st.none() | st.integers(-600, 500)
    ),
    # After, before or between the very moments members bought at: inclusive at the store.
    "last_purchase_at": st.builds(Range, bought_bound, bought_bound),
    "consented": st.sampled_from([c.value for c in CHANNELS]),
    "reachable": st.sampled_from([c.value for c in CHANNELS]),
}


@st.composite
def queries(draw: st.DrawFn) -> MemberQuery:
    """A filter of up to three conditions (more would mostly choose no one)."""
    names = draw(st.sets(st.sampled_from(sorted(CONDITIONS)), max_size=3))
    return MemberQuery(**{name: draw(CONDITIONS[name]) for name in sorted(names)})


def run(kind: str, body: Callable[[Any], Any]) -> Any:
    async def go() -> Any:
        async with open_store(kind) as store:
            return await body(store.metrics())

    return asyncio.run(go())


async def _stored(metrics_store: Any, population: dict[str, MemberMetrics]) -> None:
    await metrics_store.put([row_of(m) for m in population.values()], (), 1)
    await metrics_store.score(Scoring())


def _matches(query: MemberQuery, m: MemberMetrics, segments: frozenset[Any]) -> bool:
    row = row_of(m)

    def within(value: int, bounds: Range | None) -> bool:
        return bounds is None or (
            (bounds.low is None or value >= bounds.low)
            and (bounds.high is None or value <= bounds.high)
        )

    bought = row.figures["last_purchase_at"]
    return (
        (query.segment is None or query.segment in segments)
        and (query.tier is None or m.tier == query.tier)
        and (query.source is None or query.source in m.sources)
        and (query.consented is None or query.consented in row.consented)
        and (query.reachable is None or query.reachable in row.reachable)
        and within(m.lifetime_spend_cents, query.lifetime_spend_cents)
        and within(m.monetary_cents, query.monetary_cents)
        and within(m.points_balance, query.points_balance)
        and (
            query.last_purchase_at is None
            or (bought > 0 and within(bought, query.last_purchase_at))
        )
    )


SLOW = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("kind", KINDS)
@SLOW
@given(population=populations())
def test_scores_and_segments_are_the_definitions(kind: str, population: dict[str, Any]) -> None:
    expected = population_of(population, REF)

    async def body(store: Any) -> Any:
        await _stored(store, population)
        return await store.scored(sorted(population)), await store.segment_counts()

    scored, counts = run(kind, body)
    for found in scored:
        member = found.row.member_id
        s = expected.scores[member]
        assert found.scores == (s.recency, s.frequency, s.monetary, s.engagement, s.prior_monetary)
        assert set(found.segments) == {x.value for x in expected.segments[member]}
    assert counts == {s.value: n for s, n in expected.counts().items() if n}


def _idle(member_id: str) -> MemberMetrics:
    """Nothing ranked (every score 1) yet in a segment: a pass must find its segments even
    though none of its scores moved."""
    return MemberMetrics(member_id=member_id, reference=REF, last_activity_at=_moment(500))


@st.composite
def changes(draw: st.DrawFn) -> list[tuple[dict[str, MemberMetrics], list[str]]]:
    """Steps of what the feed brings: members measured again or new (ids among the first
    40), members gone."""
    steps = []
    for _ in range(draw(st.integers(1, 4))):
        ids = draw(st.sets(st.integers(0, 40), max_size=6))
        measured = {f"m{i:03}": draw(metrics(f"m{i:03}") | st.just(_idle(f"m{i:03}"))) for i in ids}
        gone = [f"m{i:03}" for i in draw(st.sets(st.integers(0, 40), max_size=3)) if i not in ids]
        steps.append((measured, gone))
    return steps


@pytest.mark.parametrize("kind", KINDS)
@SLOW
@given(population=populations(), steps=changes())
def test_scores_and_segments_stay_the_definitions_as_members_change(
    kind: str, population: dict[str, Any], steps: list[Any]
) -> None:
    """A pass after a few members moved writes only what moved (sqlite_scoring): every
    member's scores and segments must still be what ranking everyone again gives."""

    async def body(store: Any) -> list[Any]:
        held = dict(population)
        await _stored(store, population)
        seen = []
        for cursor, (measured, gone) in enumerate(steps, start=2):
            held.update(measured)
            for m in gone:
                held.pop(m, None)
            await store.put([row_of(m) for m in measured.values()], gone, cursor)
            await store.score(Scoring())
            seen.append(
                (dict(held), await store.scored(sorted(held)), await store.segment_counts())
            )
        return seen

    for held, scored, counts in run(kind, body):
        expected = population_of(held, REF)
        for found in scored:
            member = found.row.member_id
            s = expected.scores[member]
            assert found.scores == (
                s.recency,
                s.frequency,
                s.monetary,
                s.engagement,
                s.prior_monetary,
            )
            assert set(found.segments) == {x.value for x in expected.segments[member]}
        assert counts == {s.value: n for s, n in expected.counts().items() if n}


ORDERS = st.sampled_from(list(OrderField))
BEGAN = st.lists(st.none() | st.sampled_from([0, 1, 30, 400]), min_size=30, max_size=30)
"""When each member began (days before the reference; None: no member in the identity
store, as a row measured for a member since merged away): many ties, and unknowns."""


async def _begin(store: Any, began: dict[str, int | None]) -> None:
    """The members of ``began`` that began, each at its moment (one change per moment)."""
    moments: dict[int, list[str]] = defaultdict(list)
    for member, days in began.items():
        if days is not None:
            moments[days].append(member)
    for days, members in moments.items():
        await store.apply(Change(new_members=sorted(members), at=REF - timedelta(days=days)))


@pytest.mark.parametrize("kind", KINDS)
@SLOW
@given(
    population=populations(),
    query=queries(),
    order=ORDERS,
    descending=st.booleans(),
    size=st.integers(1, 7),
    began=BEGAN,
    data=st.data(),
)
def test_pages_and_counts_are_a_brute_force_filter_and_sort(  # noqa: PLR0913
    kind: str,
    population: dict[str, MemberMetrics],
    query: MemberQuery,
    order: OrderField,
    descending: bool,
    size: int,
    began: list[int | None],
    data: st.DataObject,
) -> None:
    bought = sorted({m.last_purchase_at for m in population.values() if m.last_purchase_at})
    if bought and data.draw(st.booleans()):  # after, before or between members' own moments
        moment = st.none() | st.sampled_from([micros(b) for b in bought])
        query = replace(query, last_purchase_at=Range(data.draw(moment), data.draw(moment)))
    starts = dict(zip(population, began, strict=False))  # at most as many members as began
    since = {m: REF - timedelta(days=d) for m, d in starts.items() if d is not None}
    segments = population_of(population, REF).segments
    chosen = [
        m for m in population.values() if _matches(query, m, frozenset(segments[m.member_id]))
    ]

    def value(m: MemberMetrics) -> Any:
        if order is OrderField.MEMBER_ID:
            return m.member_id
        if order is OrderField.MEMBER_SINCE:  # an unknown start ranks lowest
            return (m.member_id in since, since.get(m.member_id, REF))
        return row_of(m).figures[order.value]

    expected = [
        m.member_id
        for m in sorted(chosen, key=lambda m: (value(m), m.member_id), reverse=descending)
    ]

    async def body() -> tuple[list[str], int]:
        async with open_store(kind) as identity:
            await _begin(identity, starts)
            store = identity.metrics()
            await _stored(store, population)
            seen: list[str] = []
            after = None
            while page := await store.page(query, order, descending, after, size):
                seen += [m for m, _ in page]
                after = (page[-1][1], page[-1][0])
            return seen, await store.count(query)

    seen, count = asyncio.run(body())
    assert seen == expected
    assert count == len(expected)


GROUPS = st.lists(
    st.sampled_from(["segment", "tier", "channel", "month", "store"]), unique=True, max_size=2
)


@pytest.mark.parametrize("kind", KINDS)
@SLOW
@given(population=populations(), query=queries(), group_by=GROUPS)
def test_stats_are_brute_force_sums(
    kind: str, population: dict[str, MemberMetrics], query: MemberQuery, group_by: list[str]
) -> None:
    segments = population_of(population, REF).segments
    sums: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [set(), 0, 0, 0, 0])
    by_sale = bool({"channel", "month", "store"} & set(group_by))
    for m in population.values():
        found = frozenset(s.value for s in segments[m.member_id])
        if not _matches(query, m, frozenset(segments[m.member_id])):
            continue
        # a member in no segment is a group of its own, its segment None (user29)
        for segment in (sorted(found) or [None]) if "segment" in group_by else [None]:
            sales = m.sales or (None,) if by_sale else (None,)
            for sale in sales:
                key_of = {
                    "segment": segment,
                    "tier": m.tier,
                    "channel": sale.channel if sale else None,
                    "month": sale.month if sale else None,
                    "store": (sale.store or None) if sale else None,
                }
                # a member without a sale is a group of its own, apart from online buyers
                row = sums[(*(key_of[g] for g in group_by), by_sale and sale is None)]
                row[0].add(m.member_id)
                counted = (
                    [sale]
                    if sale
                    else list(m.sales)
                    if not ({"channel", "month", "store"} & set(group_by))
                    else []
                )
                for s in counted:
                    row[1] += s.purchases
                    row[2] += s.spend_cents
                    row[3] += s.points_earned
                    row[4] += s.points_redeemed
    expected = sorted(
        (
            StatsRow(dict(zip(group_by, key[:-1], strict=True)), len(r[0]), *r[1:], key[-1])
            for key, r in sums.items()
        ),
        key=lambda r: (*((v is not None, v or "") for v in r.key.values()), r.no_purchase),
    )

    async def body(store: Any) -> list[StatsRow]:
        await _stored(store, population)
        return await store.stats(query, group_by)  # type: ignore[no-any-return]

    found = run(kind, body)
    if not group_by and not expected:  # no member chosen: one group of nothing
        expected = [StatsRow({}, 0, 0, 0, 0, 0)]
    assert found == expected


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("by", ["channel", "month", "store"])
def test_an_online_buyer_and_a_member_without_a_purchase_are_different_groups(
    kind: str, by: Any
) -> None:
    # Given a member who bought online only (no store) and one who never bought
    online = replace(_idle("m_online"), sales=(Sale("online", "", "2026-10", 1, 4200, 42, 0),))
    population = {"m_online": online, "m_never": _idle("m_never")}

    async def body(store: Any) -> list[StatsRow]:
        await _stored(store, population)
        return await store.stats(MemberQuery(), [by])  # type: ignore[no-any-return]

    # When the analyst groups by a sale's dimension
    groups = run(kind, body)
    # Then the buyer's group holds her purchase, and the one without a purchase says so
    value = {"channel": "online", "month": "2026-10", "store": None}[by]
    buyer = StatsRow({by: value}, 1, 1, 4200, 42, 0, no_purchase=False)
    never = StatsRow({by: None}, 1, 0, 0, 0, 0, no_purchase=True)
    # (none first; by store both are none, the buyers first)
    assert groups == ([buyer, never] if by == "store" else [never, buyer])


@pytest.mark.parametrize("kind", KINDS)
def test_members_in_no_segment_are_a_group_of_their_own(kind: str) -> None:
    # user29: grouped by segment, 977 of 1,701 demo members were in no group at all.
    population = {
        f"m{i}": replace(
            _idle(f"m{i}"),
            last_purchase_at=REF - timedelta(days=10 + 20 * i),
            last_activity_at=REF - timedelta(days=10 + 20 * i),
            frequency=1 + i,
            monetary_cents=1000 * (10 - i),
        )
        for i in range(10)
    }
    segments = population_of(population, REF).segments
    in_none = {m for m, found in segments.items() if not found}
    assert in_none  # (the population has some: recent buyers, ranked in the middle)

    async def body(store: Any) -> list[StatsRow]:
        await _stored(store, population)
        return await store.stats(MemberQuery(), ["segment"])  # type: ignore[no-any-return]

    groups = {row.key["segment"]: row.members for row in run(kind, body)}
    assert groups[None] == len(in_none)
    assert sum(groups.values()) == sum(max(1, len(found)) for found in segments.values())


@pytest.mark.parametrize("kind", KINDS)
def test_a_row_that_moves_a_tier_is_announced_with_it_once(kind: str) -> None:
    # gaps13 (issue 18): a tier change pushed nothing; the service that sends SMS must hear it.
    def row(tier: str, spend: int) -> Any:
        return row_of(MemberMetrics("m001", REF, lifetime_spend_cents=spend, tier=tier))

    async def go() -> list[tuple[int, list[str]]]:
        async with open_store(kind) as store:
            metrics_store = store.metrics()
            said = []
            steps = [
                (row("BRONZE", 100), 1, True),  # measured for the first time: no change
                (row("BRONZE", 900), 2, True),  # spend moved, the tier did not
                (row("SILVER", 60_000), 3, True),  # the tier moved: announced
                (row("SILVER", 60_000), 3, True),  # measured again by another process
                (row("BRONZE", 100), 2, True),  # measured from older facts: not kept
                (row("GOLD", 250_000), 4, False),  # a rebuild's write: no announcement
            ]
            for measured, cursor, announce in steps:
                head = await store.feed_head()
                count = await metrics_store.put([measured], (), cursor, announce=announce)
                entries = await store.feed_after(head, 10)
                said.append((count, [f"{e.kind.value} {' '.join(e.member_ids)}" for e in entries]))
            return said

    assert asyncio.run(go()) == [
        (0, []),
        (0, []),
        (1, ["tier_changed m001"]),
        (0, []),
        (0, []),
        (0, []),
    ]


def _spread(i: int) -> MemberMetrics:
    """Members spread over every score, a few ties, one in seven never bought."""
    bought = i % 7 != 0
    return MemberMetrics(
        member_id=f"m{i:03}",
        reference=REF,
        last_purchase_at=_moment((i * 37) % 300) if bought else None,
        first_purchase_at=_moment(400) if bought else None,
        frequency=(i * 5) % 9 if bought else 0,
        monetary_cents=(i * 1_337) % 20_000 if bought else 0,
        prior_frequency=i % 4,
        prior_monetary_cents=(i % 5) * 700,
        engagement=i % 6,
        last_engaged_at=_moment(i % 80),
        last_activity_at=_moment((i * 11) % 400),
        lifetime_spend_cents=(i * 2_674) % 40_000,
    )


@pytest.mark.parametrize("kind", KINDS)
def test_two_processes_scoring_at_once_run_one_pass(kind: str, tmp_path: Path) -> None:
    """Two gateways' keepers over one store score at once (or a gateway and ``resolve``):
    one pass runs; the other waits for it (SQLite: its write lock; MongoDB: a lease), then
    finds the rows scored. Two passes interleaving their writes would leave members scored
    by one pass's cuts and kept as the other's."""
    population = {m.member_id: m for m in map(_spread, range(40))}

    async def go() -> tuple[list[bool], list[Any]]:
        async with two_processes(kind, tmp_path) as (one, two):
            first, second = one.metrics(), two.metrics()
            # Given rows measured and not yet scored
            await first.put([row_of(m) for m in population.values()], (), 1)
            # When both processes score them at once
            ran = await asyncio.gather(first.score(Scoring()), second.score(Scoring()))
            return list(ran), await second.scored(sorted(population))

    ran, scored = asyncio.run(go())
    # Then one pass ran, and the rows are as ranking everyone gives
    assert sorted(ran) == [False, True]
    expected = population_of(population, REF)
    for found in scored:
        s = expected.scores[found.row.member_id]
        assert found.scores == (s.recency, s.frequency, s.monetary, s.engagement, s.prior_monetary)
        assert set(found.segments) == {x.value for x in expected.segments[found.row.member_id]}

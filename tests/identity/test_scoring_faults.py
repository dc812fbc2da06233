"""The MongoDB scoring pass (``mongodb_scoring``) has no transaction around it: a pass the
server fails part-way (a failover), and a member measured by another process while a pass
runs, must still leave every member scored and segmented as ranking everyone again gives,
once the next pass has run; two processes' passes never run at once (a lease). The SQLite
pass is one transaction, and cannot stop half-way."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from membergraph.identity.store.metrics_port import MetricsStore, Scoring
from membergraph.identity.store.mongodb import MongoStore
from membergraph.identity.store.mongodb_metrics import SCORING_LEASE
from membergraph.identity.store.types import StoreError
from membergraph.insights.metrics import MemberMetrics
from membergraph.insights.rfm import population_of
from membergraph.measuring import row_of
from tests.support.mongo import EmulatedClient

pytestmark = pytest.mark.mongodb

REF = datetime(2026, 11, 21, 23, 59, tzinfo=UTC)


def _member(i: int, spend: int) -> MemberMetrics:
    """Members spread over every score (a few ties), most of them ranked."""
    bought = i % 7 != 0
    return MemberMetrics(
        member_id=f"m{i:03}",
        reference=REF,
        last_purchase_at=REF - timedelta(days=(i * 37) % 300) if bought else None,
        first_purchase_at=REF - timedelta(days=400) if bought else None,
        frequency=(i * 5) % 9 if bought else 0,
        monetary_cents=spend if bought else 0,
        prior_frequency=i % 4,
        prior_monetary_cents=(i % 5) * 700,
        engagement=i % 6,
        last_engaged_at=REF - timedelta(days=i % 80),
        last_activity_at=REF - timedelta(days=(i * 11) % 400),
        lifetime_spend_cents=spend * 2,
    )


POPULATION = {m.member_id: m for m in (_member(i, (i * 1_337) % 20_000) for i in range(40))}
# A change the feed brings: members measured again far up the ranking, which moves every
# cut, and one new member.
CHANGED = {m.member_id: m for m in (_member(i, 90_000 + i) for i in (3, 11, 19, 26, 40))}


async def _as_defined(metrics: MetricsStore, held: dict[str, MemberMetrics]) -> list[str]:
    """Members whose scores or segments are not those of ranking everyone again."""
    expected = population_of(held, REF)
    wrong = []
    for found in await metrics.scored(sorted(held)):
        assert found is not None
        member = found.row.member_id
        s = expected.scores[member]
        want = (s.recency, s.frequency, s.monetary, s.engagement, s.prior_monetary)
        segments = {x.value for x in expected.segments[member]}
        if found.scores != want or set(found.segments) != segments:
            wrong.append(member)
    return wrong


async def _scored_store(client: EmulatedClient) -> tuple[MongoStore, MetricsStore]:
    store = MongoStore("mongodb://emulated/membergraph", client=client)
    await store.open()
    metrics = store.metrics()
    await metrics.put([row_of(m) for m in POPULATION.values()], (), 1)
    await metrics.score(Scoring())
    return store, metrics


def test_a_pass_the_server_fails_part_way_is_made_whole_by_the_next() -> None:
    """Given members scored, and members measured again so that every cut moves, when the
    server fails the scoring pass at any one of its writes, then the next pass leaves
    every member as ranking everyone again gives (not their old segments with new
    scores)."""

    async def failing_at(nth: int) -> tuple[bool, list[str]]:
        client = EmulatedClient()
        store, metrics = await _scored_store(client)
        try:
            await metrics.put([row_of(m) for m in CHANGED.values()], (), 2)
            client.faults.fail_write(nth)
            try:
                await metrics.score(Scoring())
                failed = False
            except StoreError:
                failed = True
            client.faults.clear()
            await metrics.score(Scoring())
            return failed, await _as_defined(metrics, POPULATION | CHANGED)
        finally:
            await store.aclose()

    async def every_write() -> dict[int, list[str]]:
        wrong: dict[int, list[str]] = {}
        for nth in range(1, 400):
            failed, members = await failing_at(nth)
            if not failed:  # the pass has fewer writes than that: all were tried
                break
            if members:
                wrong[nth] = members
        else:
            pytest.fail("the pass did more writes than the test tries")
        return wrong

    assert asyncio.run(every_write()) == {}


@pytest.mark.parametrize(
    "gone",
    [
        pytest.param((), id="measuring-one"),
        pytest.param(tuple(f"m{i:03}" for i in range(0, 40, 3)), id="and-merging-many-away"),
    ],
)
def test_a_member_measured_while_another_process_scores_is_scored_by_the_next_pass(
    gone: tuple[str, ...],
) -> None:
    """Given members scored, and members measured again, when another process (a second
    worker's metrics keeper) measures a member, and maybe drops the rows of members merged
    away, while the pass reads the collection, at any of its reads, then the pass ends
    without an error and the next one scores that member too: a member is never left with
    the scores of no one (all 1) and no segments."""
    late = _member(41, 95_000)  # ranks near the top of every score
    held = {m: v for m, v in (POPULATION | CHANGED | {"m041": late}).items() if m not in gone}

    async def measured_at(nth: int) -> tuple[bool, list[str]]:
        client = EmulatedClient()
        store, metrics = await _scored_store(client)
        try:
            await metrics.put([row_of(m) for m in CHANGED.values()], (), 2)
            hold = client.faults.hold_read("member_metrics")
            scoring = asyncio.create_task(metrics.score(Scoring()))
            for _ in range(nth - 1):  # let the pass's first reads go by
                if not await _reached(hold, scoring):
                    break
                hold.go.set()
                hold = client.faults.hold_read("member_metrics")
            reached = await _reached(hold, scoring)
            if not reached:
                hold.go.set()  # (the hold is still set: the next read passes it)
            await metrics.put([row_of(late)], gone, 3)  # the other process, meanwhile
            hold.go.set()
            await scoring
            await metrics.score(Scoring())
            return reached, await _as_defined(metrics, held)
        finally:
            await store.aclose()

    async def every_read() -> dict[int, list[str]]:
        wrong: dict[int, list[str]] = {}
        for nth in range(1, 200):
            reached, members = await measured_at(nth)
            if members:
                wrong[nth] = members
            if not reached:  # the pass has fewer reads than that: all were tried
                return wrong
        pytest.fail("the pass did more reads than the test tries")

    assert asyncio.run(every_read()) == {}


async def _reached(hold: Any, scoring: asyncio.Task[bool]) -> bool:
    """Whether the pass reached the held read (False: it ended first)."""
    reached = asyncio.create_task(hold.reached.wait())
    await asyncio.wait([reached, scoring], return_when=asyncio.FIRST_COMPLETED)
    if not reached.done():
        reached.cancel()
        return False
    return True


def _rows(client: EmulatedClient) -> list[dict[str, Any]]:
    """The metrics documents as stored (scores, segments, marks)."""
    return list(client._client["membergraph"]["member_metrics"].find({}, sort=[("_id", 1)]))


async def _turns(n: int = 2_000) -> None:
    """Give the other tasks ``n`` turns of the event loop (every emulated operation takes
    one or two): a pass that may run does all of its work in far fewer."""
    for _ in range(n):
        await asyncio.sleep(0)


def test_a_second_process_writes_nothing_while_the_first_one_scores() -> None:
    """Given members scored, and members measured again, when one process's pass is under
    way (held at its first read of the documents) and another process's keeper scores too,
    then the second writes nothing until the first is done (one lease for the pass), and
    then finds nothing left to do: the documents are the first pass's alone."""

    async def go() -> tuple[bool, bool, bool, list[str]]:
        client = EmulatedClient()
        store, metrics = await _scored_store(client)
        other = MongoStore("mongodb://emulated/membergraph", client=client)
        await other.open()
        try:
            await metrics.put([row_of(m) for m in CHANGED.values()], (), 2)
            hold = client.faults.hold_read("member_metrics")
            first = asyncio.create_task(metrics.score(Scoring()))
            await hold.reached.wait()
            before = _rows(client)
            second = asyncio.create_task(other.metrics().score(Scoring()))
            await _turns()
            untouched = _rows(client) == before
            hold.go.set()
            ran = await first, await second
            return untouched, *ran, await _as_defined(metrics, POPULATION | CHANGED)
        finally:
            await other.aclose()
            await store.aclose()

    untouched, first_ran, second_ran, wrong = asyncio.run(go())
    assert untouched, "the second process wrote while the first one's pass ran"
    assert (first_ran, second_ran, wrong) == (True, False, [])


def test_a_pass_waits_for_a_live_holder_and_takes_over_a_killed_ones_lease() -> None:
    """Given another process holding the scoring lease (renewed just now), when this one
    scores, then it waits, writing nothing; once that lease is past its length (its holder
    was killed and renews no more), this one takes it over and scores."""

    async def go() -> tuple[bool, bool, list[str]]:
        client = EmulatedClient()
        store, metrics = await _scored_store(client)
        leases = client._client["membergraph"]["leases"]
        try:
            await metrics.put([row_of(m) for m in CHANGED.values()], (), 2)
            now = datetime.now(UTC)
            leases.insert_one({"_id": SCORING_LEASE, "owner": "killed-worker", "at": now})
            before = _rows(client)
            scoring = asyncio.create_task(metrics.score(Scoring()))
            await _turns()
            waited = _rows(client) == before and not scoring.done()
            gone = now - store.lease - timedelta(seconds=1)  # as if its length had passed
            leases.update_one({"_id": SCORING_LEASE}, {"$set": {"at": gone}})
            ran = await scoring
            return waited, ran, await _as_defined(metrics, POPULATION | CHANGED)
        finally:
            await store.aclose()

    waited, ran, wrong = asyncio.run(go())
    assert waited, "the pass ran while another process held the lease"
    assert (ran, wrong) == (True, [])

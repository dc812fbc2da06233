"""The scores service: keeps each member's metrics in the store, true to the change feed.

Nothing here holds the population. A member's figures are measured from its own lines
(read through the sources' connectors: :mod:`membergraph.measuring`) and kept in the store
(``store.metrics()``); the database ranks them into scores and segments and answers
filters, orders and aggregates.

What keeps them true is the feed, never a call someone must remember: the store records
the feed cursor the figures follow, and :meth:`MetricsKeeper.catch_up` measures again the
members every later entry names (a merged-away or emptied member loses its row), then has
the database score everyone again. Any process may catch up; a row measured from newer
facts is never replaced by one measured from older ones. A row that moves its member's tier
is written with a ``TIER_CHANGED`` feed entry, in one transaction. A resolution of the whole store
(``load``, a changed folder, ``resolve``) rebuilds the figures whole, a page of members
at a time. Without a reference date, figures are measured as of now and measured again
once older than :data:`MAX_AGE`, a page at a time in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Sequence
from datetime import timedelta

from membergraph._perf import gc_paused_while
from membergraph.gateway_parts import Gateway
from membergraph.identity.feed import ChangeKind, FeedExpired
from membergraph.identity.store.metrics_port import (
    MemberQuery,
    MetricsStore,
    OrderField,
    ScoredRow,
    Scoring,
    SegmentRules,
)
from membergraph.insights.currency import minor_digits
from membergraph.logs import Recurring
from membergraph.measuring import Measurer, Page, micros
from membergraph.tasks import stop

__all__ = ["MAX_AGE", "MetricsKeeper"]

logger = logging.getLogger(__name__)

PAGE = 500
"""Members measured per batch (one read per source per batch)."""

BULK_PAGE = 2000
"""Members measured per batch of a rebuild (one read per source, one write per batch;
:attr:`MetricsKeeper.bulk_page`)."""

MAX_AGE = timedelta(hours=1)
"""How old figures measured as of the clock may get before they are measured again."""


class MetricsKeeper(Measurer):
    """Measures members into the store's metrics and keeps them following the feed."""

    def __init__(self, gateway: Gateway) -> None:
        super().__init__(gateway)
        self.metrics: MetricsStore = self.store.metrics()
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.bulk_page = BULK_PAGE
        self._basis_checked = False

    @property
    def basis(self) -> str:
        """The settings measuring reads (the loyalty program, the engagement window, the
        region): the kept figures built on others are built again."""
        s = self.gateway.settings
        # "3:": the definitions' version (a refund counts against the purchase it refunds,
        # never below 0, since 2026-12; a purchase refunded in place is no refund line, since
        # round 31: insights/window.py): a store's figures measured by older ones are
        # measured again once.
        # "|exponents": a rate of a currency whose minor unit is not a hundredth (JPY, BHD)
        # counts by ISO 4217 exponents since round 32 (insights/currency.py): measured again.
        money = s.loyalty_program.money
        codes = [money.counted_in, *(code for code, _ in money.rates)] if money.rates else []
        exponents = "|exponents" if any(minor_digits(c) != 2 for c in codes) else ""
        basis = f"{s.loyalty_program!r}|{s.segments.engagement_days}|{s.default_region}"
        return f"3:{basis}{exponents}"

    @property
    def scoring(self) -> Scoring:
        s = self.gateway.settings.segments
        return Scoring(SegmentRules(s.new_days, s.at_risk_days, s.dormant_days))

    # -- measuring ------------------------------------------------------------------------

    async def refresh(self, member_ids: Sequence[str], cursor: int) -> None:
        """Measure ``member_ids`` again; a member whose tier moved is announced on the feed
        (``TIER_CHANGED``, with its row), and this process's follower told at once. A
        rebuild announces nothing: it measures everyone, as of rules or tiers that may
        have changed, and is no one's purchase."""
        # Light lines, as a rebuild reads them (the same rows: tests/test_scores.py): the
        # models took five times the event loop's time after a push of thousands of lines.
        said = 0
        for start in range(0, len(member_ids), PAGE):
            rows, gone = await self.measure(member_ids[start : start + PAGE], light=True)
            said += await self.metrics.put(rows, gone, cursor, announce=True)
        on_written = self.gateway.identity.on_written
        if said and on_written is not None:
            on_written()

    # -- following the feed ---------------------------------------------------------------

    async def rebuild(self) -> None:
        """Measure every member again, a page at a time, and drop the rows of members that
        are no more; then follow the feed from where it stood when the rebuild began."""
        async with self._lock:
            await self._rebuild()

    async def _rebuild(self) -> None:
        head = await self.store.feed_head()
        async with self.metrics.rebuilding():
            await self._measure_all(head)
        await self._drop_leftovers(head)
        await self.metrics.set_position(head)
        await self.metrics.set_basis(self.basis)

    async def _measure_all(self, cursor: int) -> None:
        """Every member measured and kept, a page at a time: each page is written (in the
        store's thread, one transaction) while the next one is measured."""
        writing: asyncio.Task[int] | None = None
        try:
            async with contextlib.aclosing(self._pages()) as pages:
                async for page in pages:
                    rows, gone = await self.rows(page)
                    if writing is not None:
                        await writing
                    writing = asyncio.create_task(self.metrics.put(rows, gone, cursor))
            if writing is not None:
                await writing
        finally:
            if writing is not None and not writing.done():
                writing.cancel()

    async def _pages(self) -> AsyncGenerator[Page]:
        """Every member's facts, :attr:`bulk_page` members at a time, the next page read
        (by the databases' threads) while the caller measures this one."""

        async def read(after: str | None) -> Page | None:
            ids = await self.store.page_members(after, self.bulk_page)
            return await self.read(ids, light=True) if ids else None

        reading = asyncio.create_task(read(None))
        try:
            while (page := await reading) is not None:
                reading = asyncio.create_task(read(page.ids[-1]))
                yield page
        finally:
            await stop(reading)

    async def _drop_leftovers(self, cursor: int) -> None:
        last: tuple[int | str, str] | None = None
        while True:
            kept = await self.metrics.page(MemberQuery(), OrderField.MEMBER_ID, False, last, PAGE)
            if not kept:
                return
            ids = [m for m, _ in kept]
            records = await self.store.member_records(ids)
            await self.metrics.put([], [m for m, r in zip(ids, records, strict=True) if not r])
            last = (ids[-1], ids[-1])

    async def catch_up(self) -> None:
        """Measure again the members the feed names since the figures' position, then have
        the database score again if anything moved (read-your-writes for analysts)."""
        async with self._lock:
            position = await self.metrics.position()
            # Once a process: the operator changed the loyalty program (or another setting
            # measuring reads) since the figures were built; rows are measured one member
            # at a time afterwards, so nothing else would ever bring them all to it.
            if (
                position is not None
                and not self._basis_checked
                and await self.metrics.basis() != self.basis
            ):
                logger.info("metrics: built on other settings or rules, measuring everyone again")
                position = None
            if position is None:
                await self._rebuild()
            else:
                # What a large push changed is thousands of members' lines held at once: no
                # collection walks them meanwhile (_perf.gc_paused_while).
                with gc_paused_while():
                    await self._follow(position)
            self._basis_checked = True
            await self.metrics.score(self.scoring)

    async def _follow(self, position: int) -> None:
        while True:
            try:
                entries = await self.store.feed_after(position, PAGE)
            except FeedExpired:  # changes were pruned before we measured them: all of it
                await self._rebuild()
                return
            if not entries:
                return
            # A tier change is announced by the keeper that measured its member: measured.
            members = sorted(
                {m for e in entries if e.kind is not ChangeKind.TIER_CHANGED for m in e.member_ids}
            )
            position = entries[-1].cursor
            await self.refresh(members, position)
            await self.metrics.set_position(position)

    async def scored_rows(self, member_ids: Sequence[str]) -> list[ScoredRow | None]:
        """Each member's kept figures, scores and segments, caught up with the feed first
        (a DataLoader's batch function: one catch-up and one read per batch)."""
        await self.catch_up()
        return await self.metrics.scored(member_ids)

    async def refresh_outdated(self) -> int:
        """Measure again a page of rows measured as of another reference (an hour old
        against the clock, or another reference date); how many."""
        fixed = self.gateway.settings.reference_date is not None
        reference = self.reference()
        age = 0 if fixed else int(MAX_AGE.total_seconds() * 1_000_000)
        async with self._lock:
            ids = await self.metrics.outdated(micros(reference), age, PAGE)
            position = await self.metrics.position()
            if ids and position is not None:
                await self.refresh(ids, position)
        return len(ids)

    # -- in the background ----------------------------------------------------------------

    def poke(self) -> None:
        """The feed moved: catch up soon, in the background."""
        self._wake.set()

    def start(self, interval: float = 1.0) -> None:
        self._task = asyncio.create_task(self._run(interval), name="metrics-keeper")

    async def _run(self, interval: float) -> None:
        problem = Recurring(logger, "metrics keeper")
        while True:
            try:
                await self.catch_up()
                more = True
                while more:  # a page at a time, each awaiting the store
                    more = await self.refresh_outdated() == PAGE
                problem.ok()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a source or the store is down: try again later
                problem.failed(exc)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._wake.wait()
            self._wake.clear()

    async def aclose(self) -> None:
        await stop(self._task)
        self._task = None

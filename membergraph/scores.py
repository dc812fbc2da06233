"""The scores service: keeps each member's metrics in the store, true to the change feed.

Nothing here holds the population. A member's figures are measured from its own lines
(read through the sources' connectors) and kept in the store (``store.metrics()``); the
database ranks them into scores and segments and answers filters, orders and aggregates.

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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from membergraph._perf import gc_paused, gc_paused_while
from membergraph.connectors.base import ConnectorError
from membergraph.connectors.models import SourceName
from membergraph.identity.feed import ChangeKind, FeedExpired
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.placeholders import (
    Placeholders,
    placeholder_rule,
    revealed_placeholders,
)
from membergraph.identity.records import Identifier, RecordKey
from membergraph.identity.store.metrics_port import (
    MemberQuery,
    MetricsRow,
    MetricsStore,
    OrderField,
    SalesRow,
    ScoredRow,
    Scoring,
    SegmentRules,
)
from membergraph.identity.values import ValueKey
from membergraph.insights.consent import ConsentFact
from membergraph.insights.former import former_values
from membergraph.insights.metrics import MemberFacts, MemberMetrics, measure
from membergraph.insights.profile import contact_kinds, last_seen_of
from membergraph.privacy import privacy_of
from membergraph.resolvers.context import Gateway

__all__ = ["MAX_AGE", "MetricsKeeper", "from_micros", "micros", "row_of"]

logger = logging.getLogger(__name__)

PAGE = 500
"""Members measured per batch (one read per source per batch)."""

TURN_MEMBERS = 10
"""Members measured between two turns given to the event loop (a few ms of work each)."""

BULK_PAGE = 2000
"""Members measured per batch of a rebuild (one read per source, one write per batch;
:attr:`MetricsKeeper.bulk_page`)."""

_MEASURED = ("transactions", "web_analytics", "crm")
"""The sources a member's figures are measured from."""

_CONSENT_SOURCES = (SourceName.CRM.value, SourceName.WEB_ANALYTICS.value)

MAX_AGE = timedelta(hours=1)
"""How old figures measured as of the clock may get before they are measured again."""


def micros(moment: datetime | None) -> int:
    return 0 if moment is None else int(moment.timestamp() * 1_000_000)


def from_micros(value: int) -> datetime | None:
    return None if not value else datetime.fromtimestamp(value / 1_000_000, UTC)


def row_of(m: MemberMetrics) -> MetricsRow:
    """A member's metrics as the store keeps them."""
    figures: dict[str, int] = {
        "last_purchase_at": micros(m.last_purchase_at),
        "first_purchase_at": micros(m.first_purchase_at),
        "frequency": m.frequency,
        "monetary_cents": m.monetary_cents,
        "prior_frequency": m.prior_frequency,
        "prior_monetary_cents": m.prior_monetary_cents,
        "engagement": m.engagement,
        "last_engaged_at": micros(m.last_engaged_at),
        "last_activity_at": micros(m.last_activity_at),
        "lifetime_spend_cents": m.lifetime_spend_cents,
        "points_earned": m.points_earned,
        "points_redeemed": m.points_redeemed,
        "points_balance": m.points_balance,
        "declining": int(m.declining),
    }
    return MetricsRow(
        member_id=m.member_id,
        measured_at=micros(m.reference),
        figures=figures,
        days={
            "recency_days": m.recency_days,
            "first_purchase_days": m.first_purchase_days,
            "last_activity_days": m.last_activity_days,
            "prior_recency_days": m.prior_recency_days,
        },
        tier=m.tier,
        sources=tuple(sorted(m.sources)),
        consented=tuple(sorted(c.value for c in m.consented)),
        reachable=tuple(sorted(c.value for c in m.reachable)),
        sales=tuple(
            SalesRow(
                s.channel,
                s.store,
                s.month,
                s.purchases,
                s.spend_cents,
                s.points_earned,
                s.points_redeemed,
            )
            for s in m.sales
        ),
    )


@dataclass(slots=True)
class _Page:
    """What a page of members' figures are measured from: per member (in ``ids`` order) its
    records and identifiers; each source's lines by record key; the consent facts of
    earlier line versions by record; and, when anyone is suppressed, each member's
    identifier digests and those suppressed."""

    ids: list[str]
    records: list[list[RecordKey]]
    idents: list[list[tuple[RecordKey, Identifier]]]
    lines: dict[str, dict[str, list[Any]]]  # source, record key: lines
    recorded: dict[RecordKey, list[ConsentFact]] = field(default_factory=dict)
    digests: list[set[str]] = field(default_factory=list)
    suppressed: set[str] = field(default_factory=set)
    revealed: set[ValueKey] = field(default_factory=set)  # placeholders the data reveals


class MetricsKeeper:
    """Measures members into the store's metrics and keeps them following the feed."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.store = gateway.identity.store
        self.metrics: MetricsStore = self.store.metrics()
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.measured = 0  # members measured by this process (tests count them)
        self.bulk_page = BULK_PAGE

    @property
    def scoring(self) -> Scoring:
        s = self.gateway.settings.segments
        return Scoring(SegmentRules(s.new_days, s.at_risk_days, s.dormant_days))

    def reference(self) -> datetime:
        return self.gateway.settings.reference_time

    # -- measuring ------------------------------------------------------------------------

    async def _lines(
        self, source: SourceName, keys: list[str], light: bool
    ) -> dict[str, list[Any]]:
        connector = self.gateway.sources.get(source)
        if connector is None or not keys:
            return {}
        load = connector.load_light if light else connector.load_many
        found: dict[str, list[Any]] = {}
        for key, answer in zip(keys, await load(keys), strict=True):
            if isinstance(answer, ConnectorError):
                raise answer
            found[key] = answer
        return found

    async def _read(self, member_ids: Sequence[str], light: bool = False) -> _Page:
        """What the figures of ``member_ids`` are measured from, a few reads for them all:
        ``light`` lines (:meth:`~membergraph.connectors.base.Connector.load_light`) for a
        bulk rebuild, the models otherwise."""
        ids = sorted(set(member_ids))
        records = await self.store.member_records(ids)
        keys: dict[str, set[str]] = {s: set() for s in _MEASURED}
        for refs in records:
            for source, key in refs:
                if source in keys:
                    keys[source].add(key)
        privacy = await privacy_of(self.gateway)
        consent_refs = [r for refs in records for r in refs if r[0] in _CONSENT_SOURCES]
        # The store's reads and the sources' run side by side (two connections, or servers).
        idents, facts, *lines = await asyncio.gather(
            self.store.member_identifiers(ids),
            privacy.store.consent_facts(consent_refs),
            *(self._lines(SourceName(s), sorted(keys[s]), light) for s in _MEASURED),
        )
        page = _Page(ids, records, idents, dict(zip(_MEASURED, lines, strict=True)))
        page.recorded = dict(zip(consent_refs, facts, strict=True))
        values = {(i.kind, i.key) for found in idents for _, i in found}
        page.revealed = await revealed_placeholders(self.store, self.gateway.identity.rules, values)
        if await privacy.store.any_suppressed():  # most stores suppress nobody: no digests
            page.digests = [
                {d for _, i in f for d in privacy.suppressor.digests_of(i)} for f in idents
            ]
            page.suppressed = await privacy.store.suppressed(set().union(*page.digests))
        return page

    async def _measured(self, page: _Page) -> tuple[list[MetricsRow], list[str]]:
        """The rows of the live members of ``page``, and the members that are no more;
        :data:`TURN_MEMBERS` at a time, the event loop given a turn between two (a page of
        members a large push had touched held every request for half a second)."""
        placeholder = placeholder_rule(self.gateway.identity.rules, page.revealed)
        rows: list[MetricsRow] = []
        gone: list[str] = []
        for start in range(0, len(page.ids), TURN_MEMBERS):
            if start:
                await asyncio.sleep(0)
            with gc_paused(freeze=False):  # a turn's figures: many small objects, no cycle
                turn = range(start, min(start + TURN_MEMBERS, len(page.ids)))
                self._measure_turn(page, turn, placeholder, rows, gone)
        self.measured += len(rows)
        return rows, gone

    def _measure_turn(
        self,
        page: _Page,
        turn: range,
        placeholder: Placeholders,
        rows: list[MetricsRow],
        gone: list[str],
    ) -> None:
        settings = self.gateway.settings
        reference = self.reference()
        engagement_days = settings.segments.engagement_days
        program = settings.loyalty_program
        lines = page.lines
        region = settings.default_region
        for n in turn:
            member, refs = page.ids[n], page.records[n]
            if not refs:
                gone.append(member)
                continue
            found = page.idents[n]
            # A member carrying a suppressed identifier is reached on no channel.
            digest = page.digests[n] if page.digests else set()
            of: dict[str, list[Any]] = {s: [] for s in _MEASURED}
            for source, key in refs:
                if source in of:
                    of[source] += lines[source].get(key, ())
            if digest & page.suppressed:
                kinds: set[IdentifierKind] = set()
            else:
                former = former_values(of["crm"], found, region)
                if former:  # a value the CRM dropped: was it given again since?
                    seen = last_seen_of(
                        of["crm"], of["transactions"], of["web_analytics"], (), region
                    )
                    former = former_values(of["crm"], found, region, seen)
                kinds = contact_kinds(found, placeholder, former)
            facts = MemberFacts(
                member_id=member,
                transactions=of["transactions"],
                events=of["web_analytics"],
                contacts=of["crm"],
                recorded=[f for ref in refs for f in page.recorded.get(ref, ())],
                sources=frozenset(s for s, _ in refs),
                has_email=IdentifierKind.EMAIL in kinds,
                has_phone=IdentifierKind.PHONE in kinds,
                has_visitor=IdentifierKind.ANONYMOUS_ID in kinds,
            )
            rows.append(row_of(measure(facts, reference, engagement_days, program)))

    async def measure(
        self, member_ids: Sequence[str], light: bool = False
    ) -> tuple[list[MetricsRow], list[str]]:
        """The rows of the live members among ``member_ids``, and those that are no more."""
        return await self._measured(await self._read(member_ids, light))

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

    async def _measure_all(self, cursor: int) -> None:
        """Every member measured and kept, a page at a time: each page is written (in the
        store's thread, one transaction) while the next one is measured."""
        writing: asyncio.Task[int] | None = None
        try:
            async with contextlib.aclosing(self._pages()) as pages:
                async for page in pages:
                    rows, gone = await self._measured(page)
                    if writing is not None:
                        await writing
                    writing = asyncio.create_task(self.metrics.put(rows, gone, cursor))
            if writing is not None:
                await writing
        finally:
            if writing is not None and not writing.done():
                writing.cancel()

    async def _pages(self) -> AsyncGenerator[_Page]:
        """Every member's facts, :attr:`bulk_page` members at a time, the next page read
        (by the databases' threads) while the caller measures this one."""

        async def read(after: str | None) -> _Page | None:
            ids = await self.store.page_members(after, self.bulk_page)
            return await self._read(ids, light=True) if ids else None

        reading = asyncio.create_task(read(None))
        try:
            while (page := await reading) is not None:
                reading = asyncio.create_task(read(page.ids[-1]))
                yield page
        finally:
            reading.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reading

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
            if position is None:
                await self._rebuild()
            else:
                # What a large push changed is thousands of members' lines held at once: no
                # collection walks them meanwhile (_perf.gc_paused_while).
                with gc_paused_while():
                    await self._follow(position)
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
        while True:
            try:
                await self.catch_up()
                more = True
                while more:  # a page at a time, each awaiting the store
                    more = await self.refresh_outdated() == PAGE
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a source or the store is down: try again later
                logger.warning("metrics keeper: %s", exc)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._wake.wait()
            self._wake.clear()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def metrics_of_row(row: MetricsRow) -> dict[str, Any]:
    """A kept row's figures with timestamps as datetimes (for the schema)."""
    shown: dict[str, Any] = dict(row.figures)
    for name in ("last_purchase_at", "first_purchase_at", "last_engaged_at", "last_activity_at"):
        shown[name] = from_micros(row.figures[name])
    shown.update(row.days)
    return shown

"""The scores service: keeps each member's metrics in the store, true to the change feed.

Nothing here holds the population. A member's figures are measured from its own lines
(read through the sources' connectors) and kept in the store (``store.metrics()``); the
database ranks them into scores and segments and answers filters, orders and aggregates.

What keeps them true is the feed, never a call someone must remember: the store records
the feed cursor the figures follow, and :meth:`MetricsKeeper.catch_up` measures again the
members every later entry names (a merged-away or emptied member loses its row), then has
the database score everyone again. Any process may catch up; a row measured from newer
facts is never replaced by one measured from older ones. A resolution of the whole store
(``load``, a changed folder, ``resolve``) rebuilds the figures whole, a page of members
at a time. Without a reference date, figures are measured as of now and measured again
once older than :data:`MAX_AGE`, a page at a time in the background.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from membergraph.connectors.base import ConnectorError
from membergraph.connectors.models import SourceName
from membergraph.identity.feed import FeedExpired
from membergraph.identity.normalize import IdentifierKind
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
from membergraph.insights.loyalty import Tier
from membergraph.insights.metrics import MemberFacts, MemberMetrics, measure
from membergraph.privacy import privacy_of
from membergraph.resolvers.context import Gateway

__all__ = ["MAX_AGE", "MetricsKeeper", "from_micros", "micros", "row_of"]

logger = logging.getLogger(__name__)

PAGE = 500
"""Members measured per batch (one read per source per batch)."""

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
        sales=tuple(SalesRow(*(getattr(s, f) for f in s.__slots__)) for s in m.sales),
    )


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

    @property
    def scoring(self) -> Scoring:
        s = self.gateway.settings.segments
        return Scoring(SegmentRules(s.new_days, s.at_risk_days, s.dormant_days))

    def reference(self) -> datetime:
        return self.gateway.settings.reference_time

    # -- measuring ------------------------------------------------------------------------

    async def _lines(self, source: SourceName, keys: list[str]) -> dict[str, list[Any]]:
        connector = self.gateway.sources.get(source)
        if connector is None or not keys:
            return {}
        answers = await connector.load_many(keys)
        found: dict[str, list[Any]] = {}
        for key, answer in zip(keys, answers, strict=True):
            if isinstance(answer, ConnectorError):
                raise answer
            found[key] = answer
        return found

    async def measure(self, member_ids: Sequence[str]) -> tuple[list[MetricsRow], list[str]]:
        """The rows of the live members among ``member_ids``, and those that are no more."""
        ids = sorted(set(member_ids))
        records = await self.store.member_records(ids)
        idents = await self.store.member_identifiers(ids)
        keys: dict[SourceName, list[str]] = {s: [] for s in SourceName}
        for refs in records:
            for source, key in refs:
                keys[SourceName(source)].append(key)
        lines = {
            s: await self._lines(s, sorted(set(keys[s])))
            for s in (SourceName.TRANSACTIONS, SourceName.WEB_ANALYTICS, SourceName.CRM)
        }
        privacy = await privacy_of(self.gateway)
        consent_refs = [r for refs in records for r in refs if r[0] in _CONSENT_SOURCES]
        recorded = dict(
            zip(consent_refs, await privacy.store.consent_facts(consent_refs), strict=True)
        )
        digests: list[set[str]] = [set() for _ in idents]
        if await privacy.store.any_suppressed():  # most stores suppress nobody: no digests
            digests = [{privacy.suppressor.digest(i.kind, i.key) for _, i in f} for f in idents]
        suppressed = await privacy.store.suppressed(set().union(*digests))
        settings = self.gateway.settings
        reference = self.reference()
        tiers = [Tier(name, spend) for name, spend in settings.tiers.items()]
        rows, gone = [], []
        for member, refs, found, digest in zip(ids, records, idents, digests, strict=True):
            if not refs:
                gone.append(member)
                continue
            # A member carrying a suppressed identifier is reached on no channel.
            kinds = set() if digest & suppressed else {i.kind for _, i in found if i.via != "agent"}

            def of(source: SourceName, refs: list[tuple[str, str]] = refs) -> list[Any]:
                return [x for s, k in refs if s == source.value for x in lines[source].get(k, [])]

            facts = MemberFacts(
                member_id=member,
                transactions=of(SourceName.TRANSACTIONS),
                events=of(SourceName.WEB_ANALYTICS),
                contacts=of(SourceName.CRM),
                recorded=[f for ref in refs for f in recorded.get(ref, [])],
                sources=frozenset(s for s, _ in refs),
                has_email=IdentifierKind.EMAIL in kinds,
                has_phone=IdentifierKind.PHONE in kinds,
                has_visitor=IdentifierKind.ANONYMOUS_ID in kinds,
            )
            engagement_days = settings.segments.engagement_days
            rows.append(row_of(measure(facts, reference, engagement_days, tiers)))
        self.measured += len(rows)
        return rows, gone

    async def refresh(self, member_ids: Sequence[str], cursor: int) -> None:
        for start in range(0, len(member_ids), PAGE):
            rows, gone = await self.measure(member_ids[start : start + PAGE])
            await self.metrics.put(rows, gone, cursor)

    # -- following the feed ---------------------------------------------------------------

    async def rebuild(self) -> None:
        """Measure every member again, a page at a time, and drop the rows of members that
        are no more; then follow the feed from where it stood when the rebuild began."""
        async with self._lock:
            await self._rebuild()

    async def _rebuild(self) -> None:
        head = await self.store.feed_head()
        after: str | None = None
        while True:
            ids = await self.store.page_members(after, PAGE)
            if not ids:
                break
            await self.refresh(ids, head)
            after = ids[-1]
        await self._drop_leftovers(head)
        await self.metrics.set_position(head)

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
            members = sorted({m for e in entries for m in e.member_ids})
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

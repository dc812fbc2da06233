"""Insight resolvers: pure functions of ``insights/`` fed through the request's loaders.

RFM and segments need the whole population: it is computed in one pass (one batch call per
source) and kept until data changes. An ingestion computes again only the metrics of the
members it touched; a steward's change has it all computed again (:class:`PopulationCache`).
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from membergraph.connectors.base import ConnectorError
from membergraph.connectors.models import (
    CallInteraction,
    CrmContact,
    SourceName,
    Transaction,
    WebEvent,
)
from membergraph.identity.normalize import BadIdentifier, IdentifierKind, normalize
from membergraph.identity.records import RecordKey
from membergraph.insights.activity import (
    Activity,
    CallSummary,
    OfferStatus,
    call_summary,
    offers_of,
    timeline,
)
from membergraph.insights.loyalty import Loyalty, Tier, loyalty_of
from membergraph.insights.profile import Profile, profile_of
from membergraph.insights.rfm import (
    Metrics,
    Population,
    Scores,
    Segment,
    SegmentRules,
    metrics_of,
    population_of,
)
from membergraph.resolvers.context import Gateway, RequestContext
from membergraph.resolvers.errors import source_failed
from membergraph.resolvers.members import MemberView, _lines, identifiers
from membergraph.resolvers.paging import Page, check_first, page_of

__all__ = ["PopulationCache", "invalidate", "lines_arrived", "population"]


_RESCORE_AFTER = timedelta(hours=1)
"""How old the oldest metrics may get against the clock (no reference date set) before the
population is rebuilt whole. Members measured again are measured as of now (a purchase just
made counts); the others keep the reference they were measured at, an hour old at most."""


_STALE_AT_MOST = 50_000
"""How many records and members may be marked before a whole rebuild is the cheaper way
(it also stops the marks growing while nobody asks)."""


class PopulationCache:
    """The scored population: each member's metrics, and the scores ranking them.

    Built whole on first use. After an ingestion, only the members it touched (those of its
    records, and those the identity change merged, split or linked) have their metrics
    computed again, as of the reference time now; then everyone is scored again, as the
    ranks are the population's. A steward's change, or metrics an hour old against the
    clock, rebuild it whole.
    """

    def __init__(self) -> None:
        self.value: Population | None = None
        self.metrics: dict[str, Metrics] | None = None
        self.reference: datetime | None = None  # when ``metrics`` were last all measured
        self.stale_records: set[RecordKey] = set()
        self.stale_members: set[str] = set()
        # Counted, so that a build overtaken by a change keeps only what is still true.
        self._changes = self._wholes = 0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        """Anything may have changed: the next question rebuilds the population whole."""
        self.value, self.metrics = None, None
        self._changes, self._wholes = self._changes + 1, self._wholes + 1
        self.stale_records.clear()
        self.stale_members.clear()

    def changed(self, records: Iterable[RecordKey], members: Iterable[str]) -> None:
        """Lines arrived for ``records`` and identity changed ``members``: only their
        members' metrics are computed again."""
        records, members = list(records), list(members)
        if not records and not members:
            return
        self.value, self._changes = None, self._changes + 1
        self.stale_records.update(records)
        self.stale_members.update(members)
        if len(self.stale_records) + len(self.stale_members) > _STALE_AT_MOST:
            self.invalidate()  # so many (or nobody asked for a while): all of it, once

    async def get(self, gateway: Gateway) -> Population:
        async with self._lock:
            if self.value is not None:
                return self.value
            changes, wholes = self._changes, self._wholes
            reference = gateway.settings.reference_time
            rules = SegmentRules(**gateway.settings.segments.model_dump())
            store = gateway.identity.store
            records, members = self.stale_records, self.stale_members
            self.stale_records, self.stale_members = set(), set()
            groups: dict[str, list[RecordKey]]
            kept = self.metrics
            try:
                whole = True
                if kept and self.reference and reference - self.reference < _RESCORE_AFTER:
                    whole = False
                    members |= set((await store.record_members("member_id", records)).values())
                    ids = sorted(members)
                    groups = dict(zip(ids, await store.member_records(ids), strict=True))
                    fresh = await _metrics(gateway, groups, reference, rules)
                    metrics = {m: v for m, v in kept.items() if m not in groups} | fresh
                else:
                    groups = defaultdict(list)
                    for ref, member in (await store.all_assignments()).items():
                        groups[member].append(ref)
                    metrics = await _metrics(gateway, groups, reference, rules)
            except BaseException:  # a source failed: what was marked is still to do
                self.stale_records |= records
                self.stale_members |= members
                raise
            value = population_of(metrics, reference, rules)
            if wholes == self._wholes:  # else all of it is to be built again
                self.metrics = metrics
                if whole:
                    self.reference = reference  # the oldest of the metrics
                if changes == self._changes:  # else the members marked since, next time
                    self.value = value
            return value


async def _metrics(
    gateway: Gateway,
    groups: Mapping[str, list[RecordKey]],
    reference: datetime,
    rules: SegmentRules,
) -> dict[str, Metrics]:
    """The metrics of the members in ``groups`` (member -> its records; none: gone)."""
    facts: dict[str, dict[str, list[Any]]] = {}
    for source in (SourceName.TRANSACTIONS, SourceName.WEB_ANALYTICS):
        keys = sorted({key for refs in groups.values() for src, key in refs if src == source.value})
        connector = gateway.sources.get(source)
        answers = await connector.load_many(keys) if connector and keys else []
        by_key: dict[str, list[Any]] = {}
        for key, answer in zip(keys, answers, strict=True):
            if isinstance(answer, ConnectorError):
                raise source_failed(answer)
            by_key[key] = answer
        facts[source.value] = by_key
    metrics: dict[str, Metrics] = {}
    for member, refs in groups.items():
        if not refs:
            continue  # merged away or emptied: no longer a member
        txs = [t for s, k in refs if s == "transactions" for t in facts["transactions"].get(k, [])]
        events = [
            e for s, k in refs if s == "web_analytics" for e in facts["web_analytics"].get(k, [])
        ]
        metrics[member] = metrics_of(txs, events, reference, rules)
    return metrics


def _cache(gateway: Gateway) -> PopulationCache:
    cache: PopulationCache | None = gateway.extras.get("population")
    if cache is None:
        cache = gateway.extras["population"] = PopulationCache()
    return cache


async def population(ctx: RequestContext) -> Population:
    return await _cache(ctx.gateway).get(ctx.gateway)


def invalidate(gateway: Gateway) -> None:
    """Anything changed: the next RFM or segment question rebuilds the population whole."""
    _cache(gateway).invalidate()


def lines_arrived(gateway: Gateway, records: Iterable[RecordKey], members: Iterable[str]) -> None:
    """Lines arrived for ``records`` and changed ``members``' identity: the next RFM or
    segment question computes their members' metrics again and scores everyone."""
    _cache(gateway).changed(records, members)


async def rfm(ctx: RequestContext, member: MemberView) -> tuple[Scores, Metrics] | None:
    pop = await population(ctx)
    scores, metrics = pop.scores.get(member.id), pop.metrics.get(member.id)
    return (scores, metrics) if scores and metrics else None


async def segments(ctx: RequestContext, member: MemberView) -> list[Segment]:
    pop = await population(ctx)
    return sorted(pop.segments.get(member.id, frozenset()))


async def segment_counts(ctx: RequestContext) -> list[tuple[Segment, int]]:
    return sorted((await population(ctx)).counts().items())


async def segment_members(ctx: RequestContext, segment: Segment) -> list[str]:
    pop = await population(ctx)
    return sorted(m for m, found in pop.segments.items() if segment in found)


def _key(kind: IdentifierKind, raw: str | None, region: str) -> tuple[IdentifierKind, str] | None:
    if raw is None:
        return None
    try:
        return (kind, normalize(kind, raw, region))
    except BadIdentifier:
        return None


async def profile(ctx: RequestContext, member: MemberView) -> Profile:
    """The profile with lineage: e-mail and phone are the ones seen most recently."""
    region = ctx.gateway.settings.default_region
    # Asked together, so every member's profile lands in the same batch per source. Only
    # the CRM is needed: the others only date the e-mails and phones, so a failing one
    # leaves those undated rather than the profile missing.
    found: list[Any] = await asyncio.gather(
        _lines(ctx, member, SourceName.CRM),
        _lines(ctx, member, SourceName.TRANSACTIONS),
        _lines(ctx, member, SourceName.WEB_ANALYTICS),
        _lines(ctx, member, SourceName.CALL_CENTER),
        return_exceptions=True,
    )
    if isinstance(found[0], BaseException):
        raise found[0]
    contacts: list[CrmContact] = found[0]
    txs: list[Transaction]
    events: list[WebEvent]
    calls: list[CallInteraction]
    txs, events, calls = ([] if isinstance(x, BaseException) else x for x in found[1:])
    seen: dict[tuple[IdentifierKind, str], datetime] = {}

    def saw(key: tuple[IdentifierKind, str] | None, at: datetime | None) -> None:
        if key is not None and at is not None and (key not in seen or seen[key] < at):
            seen[key] = at

    for c in contacts:
        for raw in c.emails:
            saw(_key(IdentifierKind.EMAIL, raw, region), c.updated_at)
        for raw in c.phones:
            saw(_key(IdentifierKind.PHONE, raw, region), c.updated_at)
    for t in txs:
        saw(_key(IdentifierKind.EMAIL, t.email, region), t.occurred_at)
    for e in events:
        saw(_key(IdentifierKind.EMAIL, e.email, region), e.occurred_at)
    for call in calls:
        saw(_key(IdentifierKind.PHONE, call.caller_phone, region), call.started_at)
    return profile_of(contacts, await identifiers(ctx, member), seen)


async def loyalty(ctx: RequestContext, member: MemberView) -> Loyalty:
    settings = ctx.gateway.settings
    idents = await identifiers(ctx, member)
    cards = sorted(
        {i.value for _, i in idents if i.kind is IdentifierKind.LOYALTY_ID and i.via != "agent"}
    )
    tiers = [Tier(name, spend) for name, spend in settings.tiers.items()]
    txs: list[Transaction] = await _lines(ctx, member, SourceName.TRANSACTIONS)
    return loyalty_of(txs, cards, tiers, settings.reference_time)


async def activity(
    ctx: RequestContext, member: MemberView, first: int, after: str | None
) -> Page[Activity]:
    check_first(first, ctx.gateway.settings.max_page_size)
    facts: list[Any] = []
    for source in (SourceName.TRANSACTIONS, SourceName.WEB_ANALYTICS, SourceName.CALL_CENTER):
        facts += await _lines(ctx, member, source)
    return page_of(timeline(facts), first, after, "activity")


async def offers(ctx: RequestContext, member: MemberView) -> list[OfferStatus]:
    return offers_of(await _lines(ctx, member, SourceName.WEB_ANALYTICS))


async def calls(ctx: RequestContext, member: MemberView) -> CallSummary:
    return call_summary(await _lines(ctx, member, SourceName.CALL_CENTER))

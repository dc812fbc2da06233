"""Measuring members: each member's figures, from its own records' lines, into the row the
store keeps (:class:`~membergraph.identity.store.metrics_port.MetricsRow`).

A page of members is read in a few reads for them all (one per source, side by side with
the store's), then measured a few members at a time, the event loop given a turn between
two. :class:`~membergraph.scores.MetricsKeeper` decides whom to measure and when.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from membergraph._perf import gc_paused
from membergraph.connectors.base import ConnectorError
from membergraph.connectors.models import SourceName
from membergraph.gateway_parts import Gateway
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.placeholders import (
    Placeholders,
    placeholder_rule,
    revealed_placeholders,
)
from membergraph.identity.records import Identifier, RecordKey
from membergraph.identity.store.metrics_port import MetricsRow, SalesRow
from membergraph.identity.values import ValueKey
from membergraph.insights.consent import ConsentFact
from membergraph.insights.former import former_values
from membergraph.insights.metrics import MemberFacts, MemberMetrics, measure
from membergraph.insights.profile import contact_kinds, last_seen_of
from membergraph.privacy import privacy_of

__all__ = ["Measurer", "Page", "from_micros", "micros", "row_of"]

TURN_MEMBERS = 10
"""Members measured between two turns given to the event loop (a few ms of work each)."""

_MEASURED = ("transactions", "web_analytics", "crm")
"""The sources a member's figures are measured from."""

_CONSENT_SOURCES = (SourceName.CRM.value, SourceName.WEB_ANALYTICS.value)


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
class Page:
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


class Measurer:
    """Measures members' figures from the lines of their records."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.store = gateway.identity.store
        self.measured = 0  # members measured by this process (tests count them)

    def reference(self) -> datetime:
        return self.gateway.settings.reference_time

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

    async def read(self, member_ids: Sequence[str], light: bool = False) -> Page:
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
        page = Page(ids, records, idents, dict(zip(_MEASURED, lines, strict=True)))
        page.recorded = dict(zip(consent_refs, facts, strict=True))
        values = {(i.kind, i.key) for found in idents for _, i in found}
        page.revealed = await revealed_placeholders(self.store, self.gateway.identity.rules, values)
        if await privacy.store.any_suppressed():  # most stores suppress nobody: no digests
            page.digests = [
                {d for _, i in f for d in privacy.suppressor.digests_of(i)} for f in idents
            ]
            page.suppressed = await privacy.store.suppressed(set().union(*page.digests))
        return page

    async def rows(self, page: Page) -> tuple[list[MetricsRow], list[str]]:
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
        page: Page,
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
        return await self.rows(await self.read(member_ids, light))

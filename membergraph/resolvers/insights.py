"""Insight resolvers: pure functions of ``insights/`` fed through the request's loaders.

RFM, segments and their counts are read from the metrics the store keeps per member
(``membergraph/scores.py`` keeps them following the change feed; the database ranks
them): no process holds the population.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from membergraph.connectors.models import CrmContact, SourceName, Transaction
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordKey
from membergraph.identity.store.metrics_port import ScoredRow
from membergraph.insights.activity import (
    Activity,
    CallSummary,
    activity_key,
    call_summary,
    timeline,
)
from membergraph.insights.former import Former, former_values
from membergraph.insights.loyalty import Loyalty, loyalty_of
from membergraph.insights.offers import OfferStatus, offer_ledger, offers_change_at
from membergraph.insights.profile import Profile, last_seen_of, profile_of
from membergraph.insights.rfm import Scores, Segment
from membergraph.resolvers.context import RequestContext
from membergraph.resolvers.members import (
    MemberView,
    _lines,
    check_window,
    identifiers,
    lines_held,
    lines_of,
    placeholders,
    records,
)
from membergraph.resolvers.paging import Page, Window, page_by_key
from membergraph.resolvers.store_keys import list_cursors

__all__ = [
    "RfmView",
    "former",
    "points_now",
    "rfm",
    "scored",
    "segment_counts",
    "segments",
]


@dataclass(frozen=True, slots=True)
class RfmView:
    """A member's scores with the figures they rank."""

    scores: Scores
    recency_days: int | None
    purchases_12m: int
    spend_12m_cents: int
    reference: datetime


async def scored(ctx: RequestContext, member: MemberView) -> ScoredRow | None:
    """The member's kept metrics, scores and segments (one read per request batch)."""
    loader = ctx.loaders.scored
    return None if loader is None else await loader.load(member.id)


async def rfm(ctx: RequestContext, member: MemberView) -> RfmView | None:
    found = await scored(ctx, member)
    if found is None:
        return None
    row = found.row
    return RfmView(
        scores=Scores(*found.scores),
        recency_days=row.days["recency_days"],
        purchases_12m=row.figures["frequency"],
        spend_12m_cents=row.figures["monetary_cents"],
        reference=datetime.fromtimestamp(row.measured_at / 1_000_000, UTC),
    )


async def segments(ctx: RequestContext, member: MemberView) -> list[Segment]:
    found = await scored(ctx, member)
    return [] if found is None else sorted(Segment(s) for s in found.segments)


async def segment_counts(ctx: RequestContext) -> list[tuple[Segment, int]]:
    keeper = ctx.gateway.scores
    if keeper is None:
        return [(s, 0) for s in sorted(Segment)]
    await keeper.catch_up()
    counts = await keeper.metrics.segment_counts()
    return [(s, counts.get(s.value, 0)) for s in sorted(Segment)]


_PROFILE_SOURCES = (
    SourceName.CRM,
    SourceName.TRANSACTIONS,
    SourceName.WEB_ANALYTICS,
    SourceName.CALL_CENTER,
)


async def _profile_lines(
    ctx: RequestContext, member: MemberView
) -> tuple[list[CrmContact], dict[tuple[IdentifierKind, str], datetime]]:
    """The member's CRM contacts, and when each of its e-mails and phones was last given
    (:func:`last_seen_of`) by its lines of every source."""
    refs = await records(ctx, member)
    found: list[Any] = [lines_held(ctx, refs, source) for source in _PROFILE_SOURCES]
    if any(lines is None for lines in found):
        # Asked together, so every member's profile lands in the same batch per source.
        # Only the CRM is needed: the others only date the e-mails and phones, so a
        # failing one leaves those undated rather than the profile missing.
        found = await asyncio.gather(
            *(_lines(ctx, member, source) for source in _PROFILE_SOURCES),
            return_exceptions=True,
        )
    if isinstance(found[0], BaseException):
        raise found[0]
    contacts: list[CrmContact] = found[0]
    txs, events, calls = ([] if isinstance(x, BaseException) else x for x in found[1:])
    region = ctx.gateway.settings.default_region
    return contacts, last_seen_of(contacts, txs, events, calls, region)


async def profile(ctx: RequestContext, member: MemberView) -> Profile:
    """The profile with lineage: e-mail and phone are the current ones seen most recently."""
    contacts, seen = await _profile_lines(ctx, member)
    idents = await identifiers(ctx, member)
    former = former_values(contacts, idents, ctx.gateway.settings.default_region, seen)
    return profile_of(contacts, idents, seen, await placeholders(ctx, idents), former)


async def former(
    ctx: RequestContext,
    member: MemberView,
    idents: Sequence[tuple[RecordKey, Identifier]] | None = None,
) -> Former:
    """The member's former e-mails and phones (``insights.former``), among ``idents`` (all
    of its identifiers by default). The CRM's lines settle most members: only a value no
    current contact carries needs the other sources' lines, to date its last use."""
    region = ctx.gateway.settings.default_region
    if idents is None:
        idents = await identifiers(ctx, member)
    contacts = await _lines(ctx, member, SourceName.CRM)
    if not former_values(contacts, idents, region):
        return {}
    contacts, seen = await _profile_lines(ctx, member)
    return former_values(contacts, idents, region, seen)


async def loyalty(ctx: RequestContext, member: MemberView) -> Loyalty:
    return await _loyalty(ctx, await records(ctx, member), await identifiers(ctx, member))


async def points_now(ctx: RequestContext, member: MemberView) -> int | None:
    """A steward change's member: the points balance its ID held before the change (None: no
    member held it)."""
    if member.moves is None or not member.moves.now:
        return None
    now = member.moves.now
    idents = [(r.ref, i) for r in now for i in r.identifiers]
    return (await _loyalty(ctx, [r.ref for r in now], idents)).points_balance


async def _loyalty(
    ctx: RequestContext, refs: Sequence[RecordKey], idents: Sequence[tuple[RecordKey, Identifier]]
) -> Loyalty:
    settings = ctx.gateway.settings
    cards = sorted(
        {i.value for _, i in idents if i.kind is IdentifierKind.LOYALTY_ID and i.via != "agent"}
    )
    txs: list[Transaction] = await lines_of(ctx, refs, SourceName.TRANSACTIONS)
    found = loyalty_of(txs, cards, settings.loyalty_program, _reference(ctx))
    if settings.reference_date is None:
        ctx.reads.changes_at(found.changes_at)
    return found


def _reference(ctx: RequestContext) -> datetime:
    """What the request's figures are as of: the end of the reference date when one is set
    (then nothing moves with the clock), else the request's instant."""
    settings = ctx.gateway.settings
    return settings.reference_time if settings.reference_date is not None else ctx.reads.now()


async def activity(ctx: RequestContext, member: MemberView, asked: Window) -> Page[Activity]:
    """The member's timeline, newest first (cursors good for this member's only)."""
    check_window(ctx, asked)
    cursors = await list_cursors(ctx, "activity", "activity", member.id, member.requested_id)
    facts: list[Any] = []
    for source in (SourceName.TRANSACTIONS, SourceName.WEB_ANALYTICS, SourceName.CALL_CENTER):
        facts += await _lines(ctx, member, source)
    return page_by_key(timeline(facts), asked, cursors, activity_key)


async def offers(ctx: RequestContext, member: MemberView) -> list[OfferStatus]:
    """The member's offer ledger: web events, till transactions and calls that name one."""
    found = await asyncio.gather(
        _lines(ctx, member, SourceName.WEB_ANALYTICS),
        _lines(ctx, member, SourceName.TRANSACTIONS),
        _lines(ctx, member, SourceName.CALL_CENTER),
    )
    reference = _reference(ctx)
    ledger = offer_ledger(*found, reference=reference)
    if ctx.gateway.settings.reference_date is None:
        ctx.reads.changes_at(offers_change_at(ledger, reference))
    return ledger


async def calls(ctx: RequestContext, member: MemberView) -> CallSummary:
    return call_summary(await _lines(ctx, member, SourceName.CALL_CENTER))

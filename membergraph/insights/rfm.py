"""RFM scores and segments: their one definition, as the store computes them.

Recency (the last purchase), frequency (purchases in the last 12 months) and monetary
(spend in the last 12 months) are scored 1-5 by rank among the members who have something
to rank on that axis (a purchase ever for recency, one in the last 12 months for frequency,
a positive spend for monetary); engagement (e-mail opens and clicks in the last
``engagement_days``) the same way among members with one. Ranks are split in five groups
of equal size (:func:`quintile`): 5 is the best fifth, and each score holds a fifth of the
ranked members (within one) even when most of them have equal values. Equal values are
ordered by the next axis (:data:`RANKED_BY`) and, last, by member ID (the higher ID ranks
higher), so one purchase of $10 ranks below one of $90 on frequency. A member with nothing
to rank on an axis scores 1 on it. Purchases, windows and the reference are those of
:mod:`membergraph.insights.window`.

The store computes the scores with the database (window functions in SQLite,
``$setWindowFields`` in MongoDB 5.0+); :func:`population_of` is the same definition in
plain Python, which the tests hold the stores to.

Segments (a member can be in several; thresholds are settings):

=============  ==============================================================================
HYPERACTIVE    R, F and M all >= 4, engagement >= 4, and a purchase within ``at_risk_days``
LOYAL          F >= 4, R >= 3 and a purchase within ``at_risk_days`` (90): recent in days,
               not only in rank (R >= 3 alone reached purchases 150-209 days old)
NEW            first purchase within ``new_days`` (90) of the reference date
AT_RISK        F >= 3 (a frequent buyer this year) but no purchase for ``at_risk_days`` (90)
ZOMBIE         bought or was active on the web once (any web event: a page, an offer
               redeemed, an open), but nothing for ``dormant_days`` (180) or more
FADING_STAR    spend in the year before the last ranked in the top fifth, and the last year
               is lower on recency, frequency and spend
=============  ==============================================================================

So no member is both in a segment that says it bought lately (HYPERACTIVE, LOYAL, NEW) and in
one that says it has not (AT_RISK, ZOMBIE). Each segment's plain words, and the check that
its members fit them, are in :mod:`membergraph.insights.segment_words`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from membergraph.insights.metrics import MemberMetrics

__all__ = [
    "AXES",
    "RANKED_BY",
    "Population",
    "Scores",
    "Segment",
    "SegmentRules",
    "quintile",
    "population_of",
    "segments_of",
]


class Segment(StrEnum):
    HYPERACTIVE = "HYPERACTIVE"
    LOYAL = "LOYAL"
    NEW = "NEW"
    AT_RISK = "AT_RISK"
    ZOMBIE = "ZOMBIE"
    FADING_STAR = "FADING_STAR"


@dataclass(frozen=True, slots=True)
class SegmentRules:
    new_days: int = 90
    at_risk_days: int = 90
    dormant_days: int = 180
    engagement_days: int = 90


@dataclass(frozen=True, slots=True)
class Scores:
    recency: int
    frequency: int
    monetary: int
    engagement: int
    prior_monetary: int = 1  # the year before the last, for FADING_STAR


AXES = ("recency", "frequency", "monetary", "engagement", "prior_monetary")

RANKED_BY: dict[str, tuple[str, ...]] = {
    "recency": ("last_purchase_at", "frequency", "monetary_cents"),
    "frequency": ("frequency", "monetary_cents", "last_purchase_at"),
    "monetary": ("monetary_cents", "frequency", "last_purchase_at"),
    "engagement": ("engagement", "last_engaged_at"),
    "prior_monetary": ("prior_monetary_cents", "prior_frequency"),
}
"""Each axis's ordering, worst first: its value, then what breaks ties (then member ID)."""

RANKED_IF: dict[str, Callable[[MemberMetrics], bool]] = {
    "recency": lambda m: m.last_purchase_at is not None,
    "frequency": lambda m: m.frequency > 0,
    "monetary": lambda m: m.monetary_cents > 0,
    "engagement": lambda m: m.engagement > 0,
    "prior_monetary": lambda m: m.prior_monetary_cents > 0,
}
"""Who is ranked on each axis; the others score 1 on it."""


def quintile(count: int, from_best: int) -> int:
    """The score of the ``from_best``-th (0: the best) of ``count`` ranked members:
    ``5 - 5 * from_best // count``, as the stores compute it with ``ROW_NUMBER()`` and
    ``COUNT(*)``. Each score holds ``count / 5`` members rounded up or down, and the best
    member scores 5 however few are ranked."""
    return 5 - (5 * from_best) // count


_NEVER = datetime.min.replace(tzinfo=UTC)


def _key(metrics: MemberMetrics, fields: tuple[str, ...]) -> tuple[Any, ...]:
    return (
        *((getattr(metrics, f) or _NEVER) if "_at" in f else getattr(metrics, f) for f in fields),
        metrics.member_id,
    )


def _ranked(members: Mapping[str, MemberMetrics], axis: str) -> dict[str, int]:
    ranked = sorted(
        (m for m in members.values() if RANKED_IF[axis](m)),
        key=lambda m: _key(m, RANKED_BY[axis]),
        reverse=True,
    )
    return {m.member_id: quintile(len(ranked), i) for i, m in enumerate(ranked)}


@dataclass(frozen=True, slots=True)
class Population:
    """Each member's scores and segments, by the definitions above."""

    reference: datetime
    scores: dict[str, Scores]
    segments: dict[str, frozenset[Segment]]
    metrics: dict[str, MemberMetrics]

    def counts(self) -> dict[Segment, int]:
        counts = dict.fromkeys(Segment, 0)
        for segments in self.segments.values():
            for segment in segments:
                counts[segment] += 1
        return counts


def population_of(
    members: Mapping[str, MemberMetrics], reference: datetime, rules: SegmentRules = SegmentRules()
) -> Population:
    """Score every member against the others (the definition the stores are held to)."""
    ranks = {axis: _ranked(members, axis) for axis in AXES}
    scores = {m: Scores(*(ranks[axis].get(m, 1) for axis in AXES)) for m in members}
    segments = {m: segments_of(members[m], scores[m], rules) for m in members}
    return Population(reference, scores, segments, dict(members))


def segments_of(m: MemberMetrics, s: Scores, rules: SegmentRules) -> frozenset[Segment]:
    """The segments of a member with metrics ``m`` and scores ``s``."""
    found: set[Segment] = set()
    recent = m.recency_days is not None and m.recency_days < rules.at_risk_days
    if min(s.recency, s.frequency, s.monetary) >= 4 and s.engagement >= 4 and recent:
        found.add(Segment.HYPERACTIVE)
    if s.frequency >= 4 and s.recency >= 3 and recent:
        found.add(Segment.LOYAL)
    if m.first_purchase_days is not None and m.first_purchase_days <= rules.new_days:
        found.add(Segment.NEW)
    if m.recency_days is not None and m.recency_days >= rules.at_risk_days and s.frequency >= 3:
        found.add(Segment.AT_RISK)
    if m.last_activity_days is not None and m.last_activity_days >= rules.dormant_days:
        found.add(Segment.ZOMBIE)
    if s.prior_monetary >= 5 and m.declining:
        found.add(Segment.FADING_STAR)
    return frozenset(found)

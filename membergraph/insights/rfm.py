"""RFM scores and segments, as of a reference date, against the member population.

Recency (days since the last completed purchase), frequency (completed purchases in the last
365 days) and monetary (spend in the last 365 days) are scored 1-5 by quintiles of the
population of members with at least one purchase: 5 is the best fifth (most recent, most
frequent, highest spend). Members without purchases score 1 on every axis. Engagement is
scored the same way on e-mail opens and clicks in the last 90 days.

Segments (a member can be in several; thresholds are settings):

=============  ==============================================================================
HYPERACTIVE    R, F and M all >= 4, and engagement >= 4
LOYAL          F >= 4 and R >= 3
NEW            first purchase within ``new_days`` (90) of the reference date
AT_RISK        F >= 3 (a frequent buyer this year) but no purchase for ``at_risk_days`` (90)
ZOMBIE         purchased or engaged once, but nothing for ``dormant_days`` (180) or more
FADING_STAR    spend in the year before the last was in the top fifth, and the last year is
               lower on recency, frequency and spend
=============  ==============================================================================
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from membergraph.connectors.models import Transaction, WebEvent

__all__ = [
    "Metrics",
    "Population",
    "Scores",
    "Segment",
    "SegmentRules",
    "metrics_of",
    "population_of",
]

ENGAGEMENT_EVENTS = frozenset({"Email Opened", "Email Clicked"})


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
class Metrics:
    """One member's raw figures as of the reference date."""

    recency_days: int | None  # None: never purchased
    frequency: int  # completed purchases, last 365 days
    monetary_cents: int  # spend, last 365 days
    prior_frequency: int  # the 365 days before that
    prior_monetary_cents: int
    prior_recency_days: int | None  # recency as of a year ago
    engagement: int  # e-mail opens and clicks, last engagement_days
    first_purchase_days: int | None
    last_activity_days: int | None  # purchase, open or click


@dataclass(frozen=True, slots=True)
class Scores:
    recency: int
    frequency: int
    monetary: int
    engagement: int


def _days(reference: datetime, moment: datetime) -> int:
    return max(0, (reference - moment).days)


def metrics_of(
    transactions: Iterable[Transaction],
    events: Iterable[WebEvent],
    reference: datetime,
    rules: SegmentRules = SegmentRules(),
) -> Metrics:
    """A member's metrics from its transactions and web events (only what happened by
    ``reference`` counts)."""
    year, prior = reference - timedelta(days=365), reference - timedelta(days=730)
    done = sorted(
        (t for t in transactions if t.status == "completed" and t.occurred_at <= reference),
        key=lambda t: t.occurred_at,
    )
    last_year = [t for t in done if t.occurred_at > year]
    year_before = [t for t in done if prior < t.occurred_at <= year]
    before_year = [t for t in done if t.occurred_at <= year]
    engaged = [e for e in events if e.name in ENGAGEMENT_EVENTS and e.occurred_at <= reference]
    recent_engaged = [
        e for e in engaged if e.occurred_at > reference - timedelta(days=rules.engagement_days)
    ]
    moments = [t.occurred_at for t in done] + [e.occurred_at for e in engaged]
    return Metrics(
        recency_days=_days(reference, done[-1].occurred_at) if done else None,
        frequency=len(last_year),
        monetary_cents=sum(t.amount_cents for t in last_year),
        prior_frequency=len(year_before),
        prior_monetary_cents=sum(t.amount_cents for t in year_before),
        prior_recency_days=_days(year, before_year[-1].occurred_at) if before_year else None,
        engagement=len(recent_engaged),
        first_purchase_days=_days(reference, done[0].occurred_at) if done else None,
        last_activity_days=_days(reference, max(moments)) if moments else None,
    )


def _cuts(values: Sequence[float]) -> list[float]:
    """Four cut points splitting ``values`` into fifths."""
    ordered = sorted(values)
    if not ordered:
        return [0.0, 0.0, 0.0, 0.0]
    return [ordered[min(len(ordered) - 1, (len(ordered) * q) // 5)] for q in (1, 2, 3, 4)]


def _score(value: float, cuts: list[float]) -> int:
    return 1 + bisect_right(cuts, value) if value > 0 else 1


@dataclass(frozen=True, slots=True)
class Population:
    """Quintile cut points of the population, and each member's scores and segments."""

    reference: datetime
    cuts: dict[str, list[float]]
    scores: dict[str, Scores]
    segments: dict[str, frozenset[Segment]]
    metrics: dict[str, Metrics]

    def counts(self) -> dict[Segment, int]:
        counts = dict.fromkeys(Segment, 0)
        for segments in self.segments.values():
            for segment in segments:
                counts[segment] += 1
        return counts


def _recency_value(days: int | None) -> float:
    # Fewer days is better: score the inverse so that 5 is the most recent fifth.
    return 0.0 if days is None else 1.0 / (1 + days)


def population_of(
    members: Mapping[str, Metrics], reference: datetime, rules: SegmentRules = SegmentRules()
) -> Population:
    """Score every member against the others, in one pass over their metrics."""
    buyers = [m for m in members.values() if m.recency_days is not None]
    cuts = {
        "recency": _cuts([_recency_value(m.recency_days) for m in buyers]),
        "frequency": _cuts([m.frequency for m in buyers if m.frequency]),
        "monetary": _cuts([m.monetary_cents for m in buyers if m.monetary_cents]),
        "engagement": _cuts([m.engagement for m in members.values() if m.engagement]),
        "prior_monetary": _cuts([m.prior_monetary_cents for m in buyers if m.prior_monetary_cents]),
    }
    scores: dict[str, Scores] = {}
    segments: dict[str, frozenset[Segment]] = {}
    for member_id, m in members.items():
        s = Scores(
            recency=_score(_recency_value(m.recency_days), cuts["recency"]),
            frequency=_score(m.frequency, cuts["frequency"]),
            monetary=_score(m.monetary_cents, cuts["monetary"]),
            engagement=_score(m.engagement, cuts["engagement"]),
        )
        scores[member_id] = s
        segments[member_id] = _segments(m, s, cuts, rules)
    return Population(reference, cuts, scores, segments, dict(members))


def _segments(
    m: Metrics, s: Scores, cuts: dict[str, list[float]], rules: SegmentRules
) -> frozenset[Segment]:
    found: set[Segment] = set()
    if min(s.recency, s.frequency, s.monetary) >= 4 and s.engagement >= 4:
        found.add(Segment.HYPERACTIVE)
    if s.frequency >= 4 and s.recency >= 3:
        found.add(Segment.LOYAL)
    if m.first_purchase_days is not None and m.first_purchase_days <= rules.new_days:
        found.add(Segment.NEW)
    if m.recency_days is not None and m.recency_days >= rules.at_risk_days and s.frequency >= 3:
        found.add(Segment.AT_RISK)
    if m.last_activity_days is not None and m.last_activity_days >= rules.dormant_days:
        found.add(Segment.ZOMBIE)
    was_valuable = _score(m.prior_monetary_cents, cuts["prior_monetary"]) >= 5
    declining = (
        m.frequency < m.prior_frequency
        and m.monetary_cents < m.prior_monetary_cents
        and (m.recency_days or 0) > (m.prior_recency_days or 0)
    )
    if was_valuable and declining:
        found.add(Segment.FADING_STAR)
    return frozenset(found)

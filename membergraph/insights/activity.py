"""A member's story in time: the timeline and the call-center view (offers: ``offers.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean

from membergraph.connectors.models import CallInteraction, Transaction, WebEvent

__all__ = ["Activity", "CallSummary", "activity_key", "call_summary", "timeline"]

Fact = Transaction | WebEvent | CallInteraction


@dataclass(frozen=True, slots=True)
class Activity:
    """One purchase, web event or call on the member's timeline."""

    kind: str  # PURCHASE | WEB | CALL
    at: datetime
    fact: Fact


def _activity(fact: Fact) -> Activity:
    if isinstance(fact, Transaction):
        return Activity("PURCHASE", fact.occurred_at, fact)
    if isinstance(fact, WebEvent):
        return Activity("WEB", fact.occurred_at, fact)
    return Activity("CALL", fact.started_at, fact)


def _fact_id(activity: Activity) -> str:
    fact = activity.fact
    if isinstance(fact, Transaction):
        return fact.transaction_id
    if isinstance(fact, WebEvent):
        return fact.event_id
    return fact.interaction_id


def timeline(facts: Iterable[Fact]) -> list[Activity]:
    """Every fact, newest first (ties in a stable order: :func:`activity_key`)."""
    return sorted((_activity(f) for f in facts), key=activity_key, reverse=True)


def activity_key(item: Activity) -> tuple[float | str, ...]:
    """The order of a timeline, and what its cursors hold: time, kind, the fact's id."""
    return (item.at.timestamp(), item.kind, _fact_id(item))


@dataclass(frozen=True, slots=True)
class CallSummary:
    """The call-center view of a member."""

    calls: int
    open_complaints: int
    last_contact_at: datetime | None
    average_sentiment: float | None
    sentiment_trend: float | None  # mean of the last 3 calls minus the 3 before (None: < 2 calls)


def call_summary(calls: Iterable[CallInteraction]) -> CallSummary:
    ordered = sorted(calls, key=lambda c: c.started_at)
    moods = [c.sentiment for c in ordered if c.sentiment is not None]
    trend = None
    if len(moods) >= 2:
        recent, before = moods[-3:], moods[-6:-3] or moods[:1]
        trend = round(fmean(recent) - fmean(before), 3)
    return CallSummary(
        calls=len(ordered),
        open_complaints=sum(
            1 for c in ordered if (c.reason or "").lower() == "complaint" and not c.resolved
        ),
        last_contact_at=ordered[-1].started_at if ordered else None,
        average_sentiment=round(fmean(moods), 3) if moods else None,
        sentiment_trend=trend,
    )

"""Loyalty: points balance, spend and tier, from a member's transactions, by the program's
rules (:class:`Program`: tiers, points expiry, tier qualification window)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from membergraph.connectors.models import Transaction
from membergraph.insights.currency import AS_SENT, Currencies
from membergraph.insights.points import held
from membergraph.insights.window import (
    YEAR,
    Window,
    is_purchase,
    points_of,
    reference_of,
    spend_of,
)

__all__ = [
    "DEFAULT_PROGRAM",
    "DEFAULT_TIERS",
    "Loyalty",
    "Program",
    "Tier",
    "loyalty_of",
    "tier_of",
]


@dataclass(frozen=True, slots=True)
class Tier:
    """A tier reached at ``min_spend_cents`` of lifetime spend."""

    name: str
    min_spend_cents: int


DEFAULT_TIERS: tuple[Tier, ...] = (
    Tier("BRONZE", 0),
    Tier("SILVER", 50_000),
    Tier("GOLD", 200_000),
    Tier("PLATINUM", 500_000),
)


@dataclass(frozen=True, slots=True)
class Program:
    """The loyalty program's rules, one definition for ``loyalty`` and the stored metrics
    (``rfm``, ``members``, ``memberStats``).

    Attributes:
        tiers: the tiers, each reached at a spend.
        points_expiry_days: points expire this many days after the line that earned them
            unless spent first (:mod:`membergraph.insights.points`); None: never.
        tier_window_days: the tier is reached by the spend of the last this many days
            before the reference; None: by lifetime spend.
        money: the currency spend is counted in (the tiers' thresholds are its cents) and
            the exchange rates of others (:mod:`membergraph.insights.currency`).
    """

    tiers: Sequence[Tier] = DEFAULT_TIERS
    points_expiry_days: int | None = None
    tier_window_days: int | None = None
    money: Currencies = AS_SENT


DEFAULT_PROGRAM = Program()
"""Points that never expire, tiers by lifetime spend."""


@dataclass(frozen=True, slots=True)
class Loyalty:
    """A member's standing in the loyalty program."""

    points_balance: int
    points_earned: int
    points_redeemed: int
    lifetime_spend_cents: int
    tier: str
    next_tier: str | None
    spend_to_next_tier_cents: int | None
    loyalty_ids: tuple[str, ...]
    rolling_12m_spend_cents: int = 0
    points_by_channel: tuple[tuple[str, int], ...] = ()
    anomalies: tuple[str, ...] = ()
    """What the loyalty team must look at: ``NEGATIVE_BALANCE`` (more points redeemed than
    earned, or than held once expired points are gone: a redemption the program should have
    refused)."""
    points_expired: int = 0
    qualifying_spend_cents: int = 0
    """The spend the tier is reached by: lifetime, or that of the qualification window."""
    changes_at: datetime | None = None
    """The first moment after the reference at which these figures differ with no new line
    (a line leaving the 12-month or the tier's window, points expiring, a line dated ahead
    starting to count); None: never by the clock alone. Not a field of the schema: what
    the response cache keeps an answer until."""


def tier_of(spend_cents: int, tiers: Sequence[Tier] = DEFAULT_TIERS) -> tuple[Tier, Tier | None]:
    """The tier lifetime spend reaches, and the next one above it (None at the top)."""
    ordered = sorted(tiers, key=lambda t: t.min_spend_cents)
    reached = [t for t in ordered if spend_cents >= t.min_spend_cents]
    above = [t for t in ordered if t.min_spend_cents > spend_cents]
    return (reached[-1] if reached else ordered[0]), (above[0] if above else None)


def loyalty_of(
    transactions: Iterable[Transaction],
    loyalty_ids: Sequence[str] = (),
    program: Program = DEFAULT_PROGRAM,
    reference: datetime | None = None,
) -> Loyalty:
    """Compute loyalty over transactions, as of ``reference`` (now if None).

    Purchases and refund lines count as :mod:`membergraph.insights.window` defines them:
    a refunded or cancelled purchase reverses its points and its spend (its status says
    so, so nothing is subtracted twice), a refund line takes its amount off the purchase it
    refunds (never below 0: spend is never negative) and its points back, and a line dated
    after the reference counts nowhere yet.

    Example:
        >>> loyalty_of([]).tier
        'BRONZE'
    """
    spend = rolling = qualifying = 0
    by_channel: dict[str, int] = {}
    window = Window(reference or reference_of(None))
    transactions = list(transactions)
    spending = window.spending(transactions)
    tier_days = program.tier_window_days
    # When the figures move with the clock: a line dated ahead counts from its moment, one
    # leaves the 12-month window a year after it, the tier's window its days after it.
    moments = [
        t.occurred_at for t in transactions if _counts(t) and not window.happened(t.occurred_at)
    ]
    for tx, spent in window.spent(spending, program.money):
        spend += spent
        if window.in_last_year(tx.occurred_at):
            rolling += spent
            if spent:
                moments.append(tx.occurred_at + YEAR)
        if tier_days and window.within(tier_days, tx.occurred_at):
            qualifying += spent
            if spent:
                moments.append(tx.occurred_at + timedelta(days=tier_days))
        if is_purchase(tx):
            by_channel[tx.channel] = by_channel.get(tx.channel, 0) + tx.points_earned
    points = held(
        ((tx.occurred_at, *points_of(tx)) for tx in spending),
        program.points_expiry_days,
        window.reference,
    )
    if points.next_expiry is not None:
        moments.append(points.next_expiry)
    if not program.tier_window_days:
        qualifying = spend
    tier, above = tier_of(qualifying, program.tiers)
    return Loyalty(
        points_balance=points.balance,
        points_earned=points.earned,
        points_redeemed=points.redeemed,
        lifetime_spend_cents=spend,
        tier=tier.name,
        next_tier=above.name if above else None,
        spend_to_next_tier_cents=above.min_spend_cents - qualifying if above else None,
        loyalty_ids=tuple(sorted(loyalty_ids)),
        rolling_12m_spend_cents=rolling,
        points_by_channel=tuple(sorted(by_channel.items())),
        anomalies=("NEGATIVE_BALANCE",) if points.balance < 0 else (),
        points_expired=points.expired,
        qualifying_spend_cents=qualifying,
        changes_at=min(moments, default=None),
    )


def _counts(tx: Transaction) -> bool:
    """Whether a line counts in loyalty once it happened (as :meth:`Window.spending`)."""
    return is_purchase(tx) or spend_of(tx) != 0

"""Loyalty: points balance, lifetime spend and tier, from a member's transactions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from membergraph.connectors.models import Transaction

__all__ = ["DEFAULT_TIERS", "Loyalty", "Tier", "loyalty_of"]


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


def loyalty_of(
    transactions: Iterable[Transaction],
    loyalty_ids: Sequence[str] = (),
    tiers: Sequence[Tier] = DEFAULT_TIERS,
    reference: datetime | None = None,
) -> Loyalty:
    """Compute loyalty over transactions.

    Only completed transactions count: a refunded or cancelled one reverses its points and
    its spend (its status says so, so nothing is subtracted twice).

    Example:
        >>> loyalty_of([]).tier
        'BRONZE'
    """
    earned = redeemed = spend = rolling = 0
    by_channel: dict[str, int] = {}
    since = (reference or datetime.now(UTC)) - timedelta(days=365)
    for tx in transactions:
        if tx.status != "completed":
            continue
        earned += tx.points_earned
        redeemed += tx.points_redeemed
        spend += tx.amount_cents
        if tx.occurred_at > since:
            rolling += tx.amount_cents
        by_channel[tx.channel] = by_channel.get(tx.channel, 0) + tx.points_earned
    ordered = sorted(tiers, key=lambda t: t.min_spend_cents)
    reached = [t for t in ordered if spend >= t.min_spend_cents]
    tier = reached[-1] if reached else ordered[0]
    above = [t for t in ordered if t.min_spend_cents > spend]
    return Loyalty(
        points_balance=earned - redeemed,
        points_earned=earned,
        points_redeemed=redeemed,
        lifetime_spend_cents=spend,
        tier=tier.name,
        next_tier=above[0].name if above else None,
        spend_to_next_tier_cents=above[0].min_spend_cents - spend if above else None,
        loyalty_ids=tuple(sorted(loyalty_ids)),
        rolling_12m_spend_cents=rolling,
        points_by_channel=tuple(sorted(by_channel.items())),
    )

"""One member's figures, measured from its own facts: what the store keeps per member so
that scores, segments, filters, orders and aggregates never need the population in memory.

Measured with the definitions of :mod:`membergraph.insights.window` (the same reference
and windows as ``loyalty``), so ``rfm.spend12mCents`` and ``loyalty.rolling12mSpendCents``
agree for every member.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from membergraph.connectors.models import CrmContact, Transaction, WebEvent
from membergraph.insights.consent import (
    Channel,
    ConsentFact,
    consents_of,
    reachable_channels,
)
from membergraph.insights.loyalty import DEFAULT_PROGRAM, Program, loyalty_of
from membergraph.insights.window import Spent, Window, is_purchase, points_of

__all__ = ["ENGAGEMENT_EVENTS", "MemberFacts", "MemberMetrics", "Sale", "measure"]

ENGAGEMENT_EVENTS = frozenset({"Email Opened", "Email Clicked"})


@dataclass(frozen=True, slots=True)
class Sale:
    """A member's purchases and refunds of one channel, store and month (for ``memberStats``)."""

    channel: str
    store: str  # "" for none (online orders)
    month: str  # YYYY-MM
    purchases: int = 0
    spend_cents: int = 0
    points_earned: int = 0
    points_redeemed: int = 0


@dataclass(frozen=True, slots=True)
class MemberFacts:
    """What a member's metrics are measured from: its lines, records and identifiers."""

    member_id: str
    transactions: Sequence[Transaction] = ()
    events: Sequence[WebEvent] = ()
    contacts: Sequence[CrmContact] = ()
    recorded: Sequence[ConsentFact] = ()  # consent facts of earlier versions of its lines
    sources: frozenset[str] = frozenset()
    has_email: bool = False
    has_phone: bool = False
    has_visitor: bool = False


@dataclass(frozen=True, slots=True)
class MemberMetrics:
    """One member's figures as of ``reference`` (days are whole days before it)."""

    member_id: str
    reference: datetime
    last_purchase_at: datetime | None = None
    first_purchase_at: datetime | None = None
    frequency: int = 0  # purchases in the last 12 months
    monetary_cents: int = 0  # spend in the last 12 months (refund lines taken off)
    prior_frequency: int = 0  # the 12 months before those
    prior_monetary_cents: int = 0
    prior_last_purchase_at: datetime | None = None  # the last purchase a year ago
    engagement: int = 0  # e-mail opens and clicks within the engagement window
    last_engaged_at: datetime | None = None
    last_activity_at: datetime | None = None  # a purchase or any web event
    lifetime_spend_cents: int = 0
    points_earned: int = 0
    points_redeemed: int = 0
    points_expired: int = 0  # by the program's expiry (0 without)
    tier: str = "BRONZE"
    sources: frozenset[str] = frozenset()
    consented: frozenset[Channel] = frozenset()  # channels opted in
    reachable: frozenset[Channel] = frozenset()  # opted in, with an identifier to reach
    sales: tuple[Sale, ...] = ()

    def _days(self, moment: datetime | None) -> int | None:
        return None if moment is None else Window(self.reference).days_since(moment)

    @property
    def recency_days(self) -> int | None:
        """Days since the last purchase (None: never purchased)."""
        return self._days(self.last_purchase_at)

    @property
    def first_purchase_days(self) -> int | None:
        return self._days(self.first_purchase_at)

    @property
    def last_activity_days(self) -> int | None:
        return self._days(self.last_activity_at)

    @property
    def prior_recency_days(self) -> int | None:
        """Days from the last purchase before the last 12 months to their start."""
        if self.prior_last_purchase_at is None:
            return None
        return Window(self.reference - timedelta(days=365)).days_since(self.prior_last_purchase_at)

    @property
    def points_balance(self) -> int:
        return self.points_earned - self.points_redeemed - self.points_expired

    @property
    def declining(self) -> bool:
        """The last 12 months are lower than the 12 before on purchases, spend and recency."""
        return (
            self.frequency < self.prior_frequency
            and self.monetary_cents < self.prior_monetary_cents
            and (self.recency_days or 0) > (self.prior_recency_days or 0)
        )


def measure(
    facts: MemberFacts,
    reference: datetime,
    engagement_days: int = 90,
    program: Program = DEFAULT_PROGRAM,
) -> MemberMetrics:
    """A member's metrics from its facts, as of ``reference``, by the loyalty ``program``'s
    rules (the ones ``loyalty`` answers by)."""
    window = Window(reference)
    bought = window.purchases(facts.transactions)
    last_year = [t for t in bought if window.in_last_year(t.occurred_at)]
    year_before = [t for t in bought if window.in_year_before(t.occurred_at)]
    before_year = [t for t in bought if t.occurred_at <= window.year_start]
    spending = window.spending(facts.transactions)
    spent = window.spent(spending, program.money)  # refunds taken off their purchases
    seen = [e for e in facts.events if window.happened(e.occurred_at)]
    engaged_since = reference - timedelta(days=engagement_days)
    engaged = [
        e.occurred_at for e in seen if e.name in ENGAGEMENT_EVENTS and e.occurred_at > engaged_since
    ]
    moments = [t.occurred_at for t in bought] + [e.occurred_at for e in seen]
    loyalty = loyalty_of(facts.transactions, (), program, reference)
    consents = consents_of(facts.contacts, facts.events, facts.recorded)
    return MemberMetrics(
        member_id=facts.member_id,
        reference=reference,
        last_purchase_at=bought[-1].occurred_at if bought else None,
        first_purchase_at=bought[0].occurred_at if bought else None,
        frequency=len(last_year),
        monetary_cents=sum(cents for t, cents in spent if window.in_last_year(t.occurred_at)),
        prior_frequency=len(year_before),
        prior_monetary_cents=sum(
            cents for t, cents in spent if window.in_year_before(t.occurred_at)
        ),
        prior_last_purchase_at=before_year[-1].occurred_at if before_year else None,
        engagement=len(engaged),
        last_engaged_at=max(engaged) if engaged else None,
        last_activity_at=max(moments) if moments else None,
        lifetime_spend_cents=loyalty.lifetime_spend_cents,
        points_earned=loyalty.points_earned,
        points_redeemed=loyalty.points_redeemed,
        points_expired=loyalty.points_expired,
        tier=loyalty.tier,
        sources=facts.sources,
        consented=frozenset(c.channel for c in consents if c.granted),
        reachable=frozenset(
            reachable_channels(consents, facts.has_email, facts.has_phone, facts.has_visitor)
        ),
        sales=sales_of(spent),
    )


def sales_of(spent: Iterable[Spent]) -> tuple[Sale, ...]:
    """Purchases and refund lines (:meth:`Window.spent`) summed per channel, store and
    month: a purchase's spend net of its refunds in its own month, a refund line's points
    taken back in its."""
    sums: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for tx, cents in spent:
        row = sums[(tx.channel, tx.store_id or "", tx.occurred_at.strftime("%Y-%m"))]
        row[0] += is_purchase(tx)
        row[1] += cents
        earned, redeemed = points_of(tx)
        row[2] += earned
        row[3] += redeemed
    return tuple(Sale(*key, *row) for key, row in sorted(sums.items()))

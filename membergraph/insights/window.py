"""The one place that says what counts, and when: the reference time, its windows, and
which transaction lines are purchases.

``loyalty`` and ``rfm`` both read facts through :class:`Window`, so a purchase dated after
the reference counts in neither, a refund counts as a purchase in neither, and "the last 12
months" is the same 365 days in both.

=========================  ==========================================================
a purchase                 a ``completed`` line with a non-negative amount, dated at or
                           before the reference
a reversed purchase        a ``refunded`` or ``cancelled`` line with a non-negative amount:
                           counts nothing (its status says it was undone)
a purchase refunded in     a ``refunded`` line with an ``updated_at`` (its status changed,
place                      the purchase sent again as refunded, its amount negated or
                           not): the purchase itself, reversed: counts nothing
a refund line              a ``refunded`` line with a negative amount and no
                           ``updated_at`` (a refund sent as a line of its own): takes its
                           amount off the spend of the purchase it refunds (see below), its
                           ``points_earned`` off the points earned (taken back) and its
                           ``points_redeemed`` off those redeemed (given back); never a
                           purchase
an amount                  in the currency spend is counted in: converted by the rate set
                           for the line's currency (:mod:`membergraph.insights.currency`)
the last 12 months         ``(reference - 365 days, reference]``
the year before            ``(reference - 730 days, reference - 365 days]``
=========================  ==========================================================

A refund counts against the purchase it refunds, as a mature ledger counts it: a line names
no purchase, so the one it refunds is the latest purchase before it of its very amount, else
the latest purchases before it, each down to 0 (:meth:`Window.spent`). Spend is then what
the purchases hold net of their refunds, counted at each purchase's date: a refund never
makes spend negative, a refund of a purchase older than a window leaves that window alone,
and a refund whose purchase is not held (sent before it, or to another card) counts
nothing until it arrives (user30 8a: such a refund made ``lifetimeSpendCents`` -100).
A purchase refunded in place is no refund line (user31b 1: half the refunds of an
independent data set came so, and each took its amount off another purchase: the one it
refunded was no longer held, replaced by its refunded version).
``loyalty``'s spend, rolling and qualifying spend (hence the tier), RFM's monetary figures
and ``memberStats``' spend all sum these amounts, so they agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from membergraph.connectors.models import Transaction
from membergraph.insights.currency import AS_SENT, Currencies

__all__ = [
    "YEAR",
    "Spent",
    "Window",
    "is_purchase",
    "is_refund_line",
    "points_of",
    "reference_of",
    "spend_of",
]

Spent = tuple[Transaction, int]
"""A line that moves spend, and what it counts in spend (0 for a refund line: its amount is
taken off the purchase it refunds)."""

YEAR = timedelta(days=365)


def reference_of(day: date | None, now: datetime | None = None) -> datetime:
    """The reference time: the end of ``day`` in UTC, or now when no day is set."""
    if day is None:
        return now or datetime.now(UTC)
    return datetime.combine(day, datetime.max.time(), UTC)


@dataclass(frozen=True, slots=True)
class Window:
    """Facts as of ``reference``: what happened by then, split into years before it."""

    reference: datetime

    @property
    def year_start(self) -> datetime:
        return self.reference - YEAR

    @property
    def prior_start(self) -> datetime:
        return self.reference - 2 * YEAR

    def happened(self, moment: datetime) -> bool:
        """Dated at or before the reference (a future-dated line counts nowhere yet)."""
        return moment <= self.reference

    def in_last_year(self, moment: datetime) -> bool:
        return self.year_start < moment <= self.reference

    def in_year_before(self, moment: datetime) -> bool:
        return self.prior_start < moment <= self.year_start

    def within(self, days: int, moment: datetime) -> bool:
        """In ``(reference - days, reference]`` (a tier's qualification window)."""
        return self.reference - timedelta(days=days) < moment <= self.reference

    def days_since(self, moment: datetime) -> int:
        return max(0, (self.reference - moment).days)

    def purchases(self, transactions: Iterable[Transaction]) -> list[Transaction]:
        """The purchases among ``transactions`` that happened by the reference, oldest first."""
        return sorted(
            (t for t in transactions if is_purchase(t) and self.happened(t.occurred_at)),
            key=lambda t: (t.occurred_at, t.transaction_id),
        )

    def spending(self, transactions: Iterable[Transaction]) -> list[Transaction]:
        """Lines that move spend (purchases and refund lines) by the reference."""
        return [
            t
            for t in transactions
            if (is_purchase(t) or spend_of(t)) and self.happened(t.occurred_at)
        ]

    def spent(
        self, transactions: Iterable[Transaction], money: Currencies = AS_SENT
    ) -> list[Spent]:
        """The lines that move spend by the reference, oldest first (a purchase before a
        refund of the same moment), each with what it counts in spend, in the cents
        ``money`` counts in: a purchase its amount less what the refunds after it took off
        it, a refund line 0 (the module's doc)."""
        lines = sorted(
            self.spending(transactions),
            key=lambda t: (t.occurred_at, not is_purchase(t), t.transaction_id),
        )
        counted = [spend_of(t, money) if is_purchase(t) else 0 for t in lines]
        bought: list[int] = []  # the purchases so far, by their place in ``lines``
        for n, tx in enumerate(lines):
            if is_purchase(tx):
                bought.append(n)
                continue
            owed = -spend_of(tx, money)
            exact = next((p for p in reversed(bought) if counted[p] == owed), None)
            for p in [exact] if exact is not None else reversed(bought):
                taken = min(counted[p], owed)
                counted[p] -= taken
                owed -= taken
                if not owed:
                    break
        return list(zip(lines, counted, strict=True))


def is_purchase(tx: Transaction) -> bool:
    return tx.status == "completed" and tx.amount_cents >= 0


def is_refund_line(tx: Transaction) -> bool:
    """A refund sent as a line of its own: ``refunded``, a negative amount, no
    ``updated_at`` (a line whose status changed is its purchase, refunded in place)."""
    return tx.status == "refunded" and tx.amount_cents < 0 and tx.updated_at is None


def spend_of(tx: Transaction, money: Currencies = AS_SENT) -> int:
    """What a line adds to spend, in the cents ``money`` counts in: a purchase its amount, a
    refund line its (negative) amount, a reversed purchase nothing."""
    if is_purchase(tx) or is_refund_line(tx):
        return money.cents(tx.amount_cents, tx.currency) if money.rates else tx.amount_cents
    return 0


def points_of(tx: Transaction) -> tuple[int, int]:
    """What a line adds to the points earned and redeemed: a purchase its own, a refund line
    the negation of its own (it takes back what the refunded goods earned and gives back the
    points that paid for them), a reversed purchase nothing."""
    if is_purchase(tx):
        return tx.points_earned, tx.points_redeemed
    if is_refund_line(tx):
        return -tx.points_earned, -tx.points_redeemed
    return 0, 0

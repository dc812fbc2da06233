"""A refund counts against the purchase it refunds: spend never negative, a refund whose
purchase is not held left out until it arrives, and loyalty, RFM and memberStats' sales
agreeing (user30 8a)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from membergraph.connectors.models import Transaction
from membergraph.insights.loyalty import loyalty_of
from membergraph.insights.metrics import MemberFacts, measure
from tests.insights.test_insights import REF, tx


def refund(days_ago: int, amount: int, name: str = "R") -> Transaction:
    return Transaction(
        transaction_id=f"{name}{days_ago}",
        channel="store",
        loyalty_id="LD12345678",
        occurred_at=REF - timedelta(days=days_ago),
        amount_cents=-amount,
        status="refunded",
    )


def refunded_in_place(days_ago: int, amount: int, redeemed: int = 0) -> Transaction:
    """A purchase sent again as refunded (its status changed: ``updated_at``), its amount
    negated, as half the refunds of an independent data set come (user31b 1)."""
    return tx(days_ago, amount).model_copy(
        update={
            "amount_cents": -amount,
            "status": "refunded",
            "points_redeemed": redeemed,
            "updated_at": REF - timedelta(days=days_ago - 3),
        }
    )


@pytest.mark.parametrize(
    ("facts", "lifetime", "rolling"),
    [
        pytest.param([refund(10, 100)], 0, 0, id="purchase-not-held"),
        # user30: -100, then -85 after three purchases of 5 cents
        pytest.param([refund(10, 100), tx(9, 5), tx(8, 5), tx(7, 5)], 15, 15,
                     id="purchases-after-an-unknown-refund"),
        pytest.param([tx(20, 1000), refund(10, 400)], 600, 600, id="partial-refund"),
        pytest.param([tx(20, 1000), refund(10, 1500)], 0, 0, id="refund-beyond-its-purchase"),
        # The refund of a purchase older than the 12 months leaves them alone
        pytest.param([tx(400, 1000), tx(100, 300), refund(10, 1000)], 300, 300,
                     id="refund-of-an-old-purchase"),
        # Of its very amount: the older purchase of 500, not the newer one of 800
        pytest.param([tx(400, 500), tx(30, 800), refund(10, 500)], 800, 800,
                     id="its-very-amount"),
        # Else the latest purchases first
        pytest.param([tx(400, 500), tx(30, 800), refund(10, 1000)], 300, 0,
                     id="latest-first"),
        # A purchase after a refund is not what it refunds
        pytest.param([tx(30, 200), refund(20, 200), tx(10, 200)], 200, 200,
                     id="purchase-after-the-refund"),
        # A purchase refunded in place is the purchase, reversed: it takes nothing off the
        # purchase before it (user31b: 500 + 300 was counted 300)
        pytest.param([tx(30, 500), refunded_in_place(20, 1000), tx(10, 300)], 800, 800,
                     id="refunded-in-place"),
        pytest.param([tx(30, 500), refunded_in_place(20, 500), tx(10, 300)], 800, 800,
                     id="refunded-in-place-of-an-amount-another-purchase-has"),
    ],
)  # fmt: skip
def test_a_refund_counts_against_the_purchase_it_refunds(
    facts: list[Transaction], lifetime: int, rolling: int
) -> None:
    loyalty = loyalty_of(facts, reference=REF)
    metrics = measure(MemberFacts("me", facts), REF)
    assert loyalty.lifetime_spend_cents == metrics.lifetime_spend_cents == lifetime
    assert loyalty.rolling_12m_spend_cents == metrics.monetary_cents == rolling
    # memberStats' sales hold the same spend, never a negative month
    assert sum(sale.spend_cents for sale in metrics.sales) == lifetime
    assert all(sale.spend_cents >= 0 for sale in metrics.sales)


def test_the_refunds_purchase_arriving_later_takes_it_off_then() -> None:
    # Given a refund whose purchase is not held: left out
    alone = [refund(10, 700)]
    assert loyalty_of(alone, reference=REF).lifetime_spend_cents == 0
    # When its purchase arrives (sent late, dated before it), the refund takes it off
    both = [*alone, tx(12, 700), tx(11, 250)]
    assert loyalty_of(both, reference=REF).lifetime_spend_cents == 250


def test_a_purchase_refunded_in_place_moves_no_points() -> None:
    # Given a purchase that redeemed 500 points, refunded in place, and one of 300 cents
    facts = [refunded_in_place(20, 1000, redeemed=500), tx(10, 300)]
    loyalty = loyalty_of(facts, reference=REF)
    # Then neither its earning nor its redemption counts (its points went back with it),
    # and the other purchase's stand whole
    only = loyalty_of([tx(10, 300)], reference=REF)
    assert (loyalty.points_earned, loyalty.points_redeemed) == (
        only.points_earned,
        only.points_redeemed,
    )
    assert loyalty.lifetime_spend_cents == 300

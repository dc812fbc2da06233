"""When figures made as of a moment stop being true with no new line: loyalty's
``changes_at`` and the offers' :func:`offers_change_at` are never later than the first
moment the figures differ (a kept answer is never served wrong), and name it exactly in
the plain cases."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from membergraph.connectors.models import Transaction, WebEvent
from membergraph.insights.loyalty import Loyalty, Program, Tier, loyalty_of
from membergraph.insights.offers import offer_ledger, offers_change_at

REF = datetime(2026, 11, 1, 12, tzinfo=UTC)
YEAR = timedelta(days=365)
TIERS = (Tier("BRONZE", 0), Tier("SILVER", 5_000), Tier("GOLD", 20_000))


def _tx(n: int, at: datetime, amount: int, status: str, earned: int, redeemed: int) -> Transaction:
    return Transaction(
        transaction_id=f"T{n}",
        channel="store",
        loyalty_id="LD12345678",
        occurred_at=at,
        amount_cents=amount,
        status=status,
        points_earned=earned,
        points_redeemed=redeemed,
    )


def _figures(found: Loyalty) -> Loyalty:
    return dataclasses.replace(found, changes_at=None)


def test_a_purchase_in_the_window_changes_the_figures_a_year_after_it() -> None:
    bought = REF - timedelta(days=100, hours=3)
    found = loyalty_of([_tx(1, bought, 1000, "completed", 10, 0)], reference=REF)
    assert found.changes_at == bought + YEAR
    assert loyalty_of([_tx(1, bought, 1000, "completed", 10, 0)], reference=bought + YEAR) != found


def test_points_expiring_and_a_line_dated_ahead_change_them_sooner() -> None:
    program = Program(points_expiry_days=30)
    earned = REF - timedelta(days=20)
    ahead = REF + timedelta(hours=5)
    lines = [_tx(1, earned, 1000, "completed", 10, 0), _tx(2, ahead, 500, "completed", 5, 0)]
    assert loyalty_of(lines, program=program, reference=REF).changes_at == ahead
    assert loyalty_of(lines[:1], program=program, reference=REF).changes_at == earned + timedelta(
        days=30
    )


def test_figures_with_nothing_in_a_window_never_change_by_the_clock() -> None:
    old = [_tx(1, REF - timedelta(days=400), 1000, "completed", 10, 0)]
    assert loyalty_of(old, reference=REF).changes_at is None
    assert loyalty_of([], reference=REF).changes_at is None


MOMENTS = st.integers(-2 * 86_400, 800 * 86_400).map(lambda s: REF - timedelta(seconds=s))
LINES = st.lists(
    st.tuples(
        MOMENTS,
        st.integers(-3000, 3000),
        st.sampled_from(["completed", "refunded", "cancelled"]),
        st.integers(0, 40),
        st.integers(0, 30),
    ),
    max_size=8,
)


@settings(max_examples=300, deadline=None)
@given(
    lines=LINES,
    expiry=st.none() | st.integers(1, 400),
    window=st.none() | st.integers(1, 400),
    later=st.lists(st.floats(0, 1, exclude_max=True), min_size=1, max_size=4),
)
def test_the_figures_hold_until_the_moment_they_are_said_to_change(
    lines: list[tuple[datetime, int, str, int, int]],
    expiry: int | None,
    window: int | None,
    later: list[float],
) -> None:
    program = Program(TIERS, expiry, window)
    txs = [_tx(n, *line) for n, line in enumerate(lines)]
    now = loyalty_of(txs, program=program, reference=REF)
    end = now.changes_at or REF + 3 * YEAR
    assert end > REF
    # At any moment before it (the last microsecond included) the figures are the same
    for share in [*later, 1.0]:
        moment = min(REF + (end - REF) * share, end - timedelta(microseconds=1))
        assert _figures(loyalty_of(txs, program=program, reference=moment)) == _figures(now)


def _offer(expires: datetime) -> WebEvent:
    return WebEvent(
        event_id="E1",
        anonymous_id="a-1",
        type="track",
        name="Offer Issued",
        occurred_at=REF - timedelta(days=3),
        properties={"offer": "BONUS", "expires_at": expires.isoformat()},
    )


def test_an_offer_not_redeemed_changes_at_its_expiry_and_not_after() -> None:
    ends = REF + timedelta(hours=2)
    ledger = offer_ledger([_offer(ends)], reference=REF)
    assert offers_change_at(ledger, REF) == ends
    assert offer_ledger([_offer(ends)], reference=ends - timedelta(microseconds=1)) == ledger
    assert offer_ledger([_offer(ends)], reference=ends)[0].state == "EXPIRED"
    # an expired one, or none, never changes by the clock
    assert offers_change_at(offer_ledger([_offer(REF)], reference=REF), REF) is None

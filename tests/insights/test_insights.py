"""Table-driven tests of the pure insight functions."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

import pytest

from membergraph.connectors.models import CallInteraction, CrmContact, Transaction, WebEvent
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier
from membergraph.insights.activity import call_summary, timeline
from membergraph.insights.consent import Channel, consents_of, reachable_channels
from membergraph.insights.loyalty import Program, Tier, loyalty_of
from membergraph.insights.metrics import MemberFacts, measure
from membergraph.insights.offers import OfferState, offer_ledger
from membergraph.insights.profile import last_seen_of, profile_of
from membergraph.insights.rfm import Segment, population_of, quintile

REF = datetime(2026, 11, 1, tzinfo=UTC)


def tx(
    days_ago: int,
    amount: int = 1000,
    status: str = "completed",
    channel: str = "store",
    earned: int = 10,
    redeemed: int = 0,
) -> Transaction:
    return Transaction(
        transaction_id=f"T{days_ago}-{amount}-{status}",
        channel=channel,
        loyalty_id="LD12345678",
        occurred_at=REF - timedelta(days=days_ago),
        amount_cents=amount,
        status=status,
        points_earned=earned,
        points_redeemed=redeemed,
    )


def web(days_ago: int, name: str, **properties: Any) -> WebEvent:
    return WebEvent(
        event_id=f"E{days_ago}{name}",
        anonymous_id="a-1",
        type="track",
        name=name,
        occurred_at=REF - timedelta(days=days_ago),
        properties=properties,
    )


@pytest.mark.parametrize(
    ("transactions", "balance", "spend"),
    [
        pytest.param([tx(1, earned=100)], 100, 1000, id="one-purchase"),
        pytest.param(
            [tx(1, earned=100), tx(2, status="refunded", earned=50)],
            100,
            1000,
            id="refund-reverses-its-points",
        ),
        pytest.param(
            [tx(1, earned=100), tx(2, status="cancelled", earned=70)],
            100,
            1000,
            id="cancellation-reverses",
        ),
        pytest.param([tx(1, earned=100, redeemed=40)], 60, 1000, id="redemption"),
        pytest.param(
            [tx(1, status="refunded", earned=10, redeemed=10)],
            0,
            0,
            id="refunded-redemption-restored",
        ),
        pytest.param(
            [tx(3, 2500, earned=25), tx(1, -2500, status="refunded", earned=25)],
            0,
            0,
            id="refund-line-takes-its-points-back",
        ),
        pytest.param(
            [
                tx(9, 50_000, earned=500),
                tx(3, 2500, earned=25, redeemed=500),
                tx(1, -2500, status="refunded", earned=25, redeemed=500),
            ],
            500,
            50_000,
            id="refund-line-gives-back-the-points-that-paid",
        ),
    ],
)
def test_points_and_spend(transactions: list[Transaction], balance: int, spend: int) -> None:
    loyalty = loyalty_of(transactions, reference=REF)
    assert (loyalty.points_balance, loyalty.lifetime_spend_cents) == (balance, spend)


@pytest.mark.parametrize(
    ("spend", "tier", "next_tier", "to_go"),
    [
        pytest.param(0, "BRONZE", "SILVER", 50_000, id="nothing-yet"),
        pytest.param(49_999, "BRONZE", "SILVER", 1, id="one-cent-short"),
        pytest.param(50_000, "SILVER", "GOLD", 150_000, id="exactly-silver"),
        pytest.param(900_000, "PLATINUM", None, None, id="top-tier"),
    ],
)
def test_tiers_and_progress(
    spend: int, tier: str, next_tier: str | None, to_go: int | None
) -> None:
    loyalty = loyalty_of([tx(1, amount=spend)] if spend else [], reference=REF)
    assert (loyalty.tier, loyalty.next_tier, loyalty.spend_to_next_tier_cents) == (
        tier,
        next_tier,
        to_go,
    )


def test_rolling_spend_and_points_per_channel() -> None:
    loyalty = loyalty_of(
        [tx(10, 500, earned=5), tx(400, 700, channel="online", earned=7)], reference=REF
    )
    assert loyalty.rolling_12m_spend_cents == 500
    assert dict(loyalty.points_by_channel) == {"store": 5, "online": 7}


def test_configured_tiers() -> None:
    assert (
        loyalty_of(
            [tx(1, amount=10)],
            program=Program(tiers=[Tier("BASIC", 0), Tier("VIP", 10)]),
            reference=REF,
        ).tier
        == "VIP"
    )


EXPIRY = Program(points_expiry_days=365)


@pytest.mark.parametrize(
    ("transactions", "balance", "expired"),
    [
        pytest.param([tx(400, earned=100)], 0, 100, id="unspent-points-expire"),
        pytest.param([tx(300, earned=100)], 100, 0, id="younger-points-stay"),
        pytest.param(
            [tx(400, earned=100, redeemed=0), tx(380, earned=0, redeemed=60)],
            0,
            40,
            id="spent-points-never-expire",
        ),
        pytest.param(
            [tx(400, earned=100), tx(200, earned=50), tx(100, earned=0, redeemed=120)],
            30,
            0,
            id="the-oldest-are-spent-first-before-they-expire",
        ),
        pytest.param(
            [tx(500, earned=100), tx(200, earned=50), tx(100, earned=0, redeemed=120)],
            -70,
            100,
            id="expired-points-cannot-be-spent",
        ),
        pytest.param(
            [tx(400, earned=100), tx(10, status="cancelled", earned=0, redeemed=100)],
            0,
            100,
            id="a-cancelled-redemption-spends-nothing",
        ),
    ],
)
def test_points_expiry(transactions: list[Transaction], balance: int, expired: int) -> None:
    loyalty = loyalty_of(transactions, program=EXPIRY, reference=REF)
    assert (loyalty.points_balance, loyalty.points_expired) == (balance, expired)
    assert (loyalty.points_balance < 0) == ("NEGATIVE_BALANCE" in loyalty.anomalies)
    metrics = measure(MemberFacts("me", transactions), REF, program=EXPIRY)
    assert (metrics.points_balance, metrics.points_expired) == (balance, expired)


def test_without_expiry_points_never_expire() -> None:
    loyalty = loyalty_of([tx(4000, earned=100)], reference=REF)
    assert (loyalty.points_balance, loyalty.points_expired) == (100, 0)


def test_the_tier_qualification_window_counts_its_own_spend_only() -> None:
    # Given $6,000 spent two years ago and $100 last month,
    lines = [tx(730, 600_000), tx(30, 10_000)]
    windowed = Program(tier_window_days=365)
    # then by lifetime spend the member is PLATINUM, by the last 365 days BRONZE,
    assert loyalty_of(lines, reference=REF).tier == "PLATINUM"
    loyalty = loyalty_of(lines, program=windowed, reference=REF)
    assert (loyalty.tier, loyalty.qualifying_spend_cents) == ("BRONZE", 10_000)
    assert (loyalty.next_tier, loyalty.spend_to_next_tier_cents) == ("SILVER", 40_000)
    assert loyalty.lifetime_spend_cents == 610_000
    # and the stored metrics (what `members(filter: {tier:})` reads) say the same.
    assert measure(MemberFacts("me", lines), REF, program=windowed).tier == "BRONZE"


def _contact(cid: str, updated_days_ago: int | None, **fields: Any) -> CrmContact:
    updated = REF - timedelta(days=updated_days_ago) if updated_days_ago is not None else None
    return CrmContact(contact_id=cid, updated_at=updated, **fields)


@pytest.mark.parametrize(
    ("contacts", "first_name", "source"),
    [
        pytest.param(
            [_contact("C1", 5, first_name="Ann"), _contact("C2", 1, first_name="Anne")],
            "Anne",
            "C2",
            id="newest-crm-contact-wins",
        ),
        pytest.param(
            [_contact("C1", 5, first_name="Ann"), _contact("C2", 1, first_name="")],
            "Ann",
            "C1",
            id="empty-never-wins",
        ),
        pytest.param(
            [_contact("C1", None, first_name="Ann"), _contact("C2", 9, first_name="Bea")],
            "Bea",
            "C2",
            id="dated-beats-undated",
        ),
        pytest.param([], None, None, id="no-crm-contact"),
    ],
)
def test_survivorship_of_names(
    contacts: list[CrmContact], first_name: str | None, source: str | None
) -> None:
    profile = profile_of(contacts, [])
    assert (profile.first_name, profile.source_record) == (first_name, source)
    lineage = {item.field: item for item in profile.lineage}
    assert lineage["first_name"].record == source


def test_most_recent_email_survives_and_all_stay_listed() -> None:
    idents = [
        (("crm", "C1"), Identifier(IdentifierKind.EMAIL, "old@x.org", "old@x.org", "crm")),
        (
            ("transactions", "online:new@x.org"),
            Identifier(IdentifierKind.EMAIL, "new@x.org", "new@x.org", "online"),
        ),
    ]
    seen = {
        (IdentifierKind.EMAIL, "old@x.org"): REF - timedelta(days=50),
        (IdentifierKind.EMAIL, "new@x.org"): REF,
    }
    profile = profile_of([], idents, seen)
    assert profile.email is not None and profile.email.value == "new@x.org"
    assert [p.value for p in profile.emails] == ["new@x.org", "old@x.org"]
    assert {item.field: item.source for item in profile.lineage}["email"] == "transactions"


@pytest.mark.parametrize(
    ("contacts", "events", "granted", "source"),
    [
        pytest.param(
            [_contact("C1", 10, consents={"sms": True})],
            [web(5, "Unsubscribed", channel="sms")],
            False,
            "web_analytics",
            id="newer-opt-out-wins",
        ),
        pytest.param(
            [_contact("C1", 1, consents={"sms": True})],
            [web(5, "Unsubscribed", channel="sms")],
            True,
            "crm",
            id="newer-opt-in-wins",
        ),
        pytest.param(
            [_contact("C1", 5, consents={"sms": True})],
            [web(5, "Unsubscribed", channel="sms")],
            False,
            "web_analytics",
            id="opt-out-wins-a-tie",
        ),
        pytest.param([], [], None, None, id="never-asked-is-unknown"),
        pytest.param(
            [],
            [web(3, "Consent Updated", channel="sms", granted=True)],
            True,
            "web_analytics",
            id="consent-event",
        ),
    ],
)
def test_consent_precedence(
    contacts: list[CrmContact], events: list[WebEvent], granted: bool | None, source: str | None
) -> None:
    sms = next(c for c in consents_of(contacts, events) if c.channel is Channel.SMS)
    assert (sms.granted, sms.source) == (granted, source)


def test_reachable_needs_consent_and_an_identifier() -> None:
    consents = consents_of(
        [_contact("C1", 1, consents={"email": True, "sms": True, "push": False, "phone": True})], []
    )
    assert reachable_channels(consents, has_email=True, has_phone=False, has_visitor=True) == [
        Channel.EMAIL
    ]
    assert reachable_channels(consents, has_email=True, has_phone=True, has_visitor=True) == [
        Channel.EMAIL,
        Channel.SMS,
        Channel.PHONE,
    ]


def _population(**members: tuple[list[Transaction], list[WebEvent]]) -> Any:
    measured = {m: measure(MemberFacts(m, t, e), REF) for m, (t, e) in members.items()}
    return population_of(measured, REF)


def _filler() -> dict[str, tuple[list[Transaction], list[WebEvent]]]:
    # A population to rank against: modest, steady buyers.
    return {f"m{i}": ([tx(100 + i, 1000), tx(200 + i, 1000)], []) for i in range(20)}


@pytest.mark.parametrize(
    ("history", "segment", "member_in"),
    [
        pytest.param(
            (
                [tx(d, 50_000) for d in range(1, 60, 5)],
                [web(d, "Email Opened") for d in range(1, 30, 2)],
            ),
            Segment.HYPERACTIVE,
            True,
            id="hyperactive",
        ),
        pytest.param(
            ([tx(d, 50_000) for d in range(1, 60, 5)], []),
            Segment.HYPERACTIVE,
            False,
            id="hyperactive-needs-engagement",
        ),
        pytest.param(([tx(30)], []), Segment.NEW, True, id="new-first-purchase"),
        pytest.param(([tx(30), tx(500)], []), Segment.NEW, False, id="returning-is-not-new"),
        pytest.param(([tx(200)], []), Segment.ZOMBIE, True, id="zombie-dormant-200-days"),
        pytest.param(
            ([tx(200)], [web(10, "Email Opened")]),
            Segment.ZOMBIE,
            False,
            id="an-open-wakes-a-zombie",
        ),
        pytest.param(
            ([tx(d, 80_000) for d in range(370, 700, 30)] + [tx(300, 100)], []),
            Segment.FADING_STAR,
            True,
            id="fading-star",
        ),
        pytest.param(
            (
                [tx(d, 80_000) for d in range(370, 700, 30)]
                + [tx(d, 90_000) for d in range(1, 300, 30)],
                [],
            ),
            Segment.FADING_STAR,
            False,
            id="still-shining",
        ),
        pytest.param(
            ([tx(d) for d in range(100, 360, 20)], []), Segment.AT_RISK, True, id="at-risk"
        ),
    ],
)
def test_segments(
    history: tuple[list[Transaction], list[WebEvent]], segment: Segment, member_in: bool
) -> None:
    population = _population(me=history, **_filler())
    assert (segment in population.segments["me"]) is member_in


def test_rfm_scores_rank_the_population_in_fifths() -> None:
    members = {f"m{i}": ([tx(i + 1, 1000 * (i + 1))] * 1, []) for i in range(10)}
    population = _population(**members)
    assert population.scores["m0"].recency == 5 and population.scores["m9"].recency == 1
    assert population.scores["m9"].monetary == 5 and population.scores["m0"].monetary == 1
    assert sum(population.counts().values()) >= 0


def test_timeline_offers_and_call_summary() -> None:
    facts = [
        tx(3),
        web(1, "Offer Redeemed", offer="signup-bonus"),
        web(2, "Offer Viewed", offer="signup-bonus"),
    ]
    assert [a.kind for a in timeline(facts)] == ["WEB", "WEB", "PURCHASE"]
    [offer] = offer_ledger([f for f in facts if isinstance(f, WebEvent)])
    assert offer.redeemed and offer.redeemed_at == REF - timedelta(days=1)
    calls = [
        CallInteraction(
            interaction_id=f"I{i}",
            started_at=REF - timedelta(days=10 - i),
            sentiment=s,
            reason=r,
            resolved=ok,
        )
        for i, (s, r, ok) in enumerate(
            [
                (0.5, "complaint", True),
                (0.2, "complaint", False),
                (-0.4, "order status", True),
                (-0.8, "complaint", False),
            ]
        )
    ]
    summary = call_summary(calls)
    assert summary.open_complaints == 2 and summary.last_contact_at == REF - timedelta(days=7)
    assert summary.sentiment_trend is not None and summary.sentiment_trend < 0


def test_one_window_for_loyalty_and_rfm() -> None:
    # Given a purchase dated after the reference, a refund line and a reversed purchase,
    future = tx(-3, 5000)
    refund = Transaction(
        transaction_id="T-REFUND",
        channel="store",
        loyalty_id="LD12345678",
        occurred_at=REF - timedelta(days=2),
        amount_cents=-400,
        status="refunded",
    )
    facts = [tx(10, 1000), future, refund, tx(5, 700, status="cancelled")]
    loyalty = loyalty_of(facts, reference=REF)
    metrics = measure(MemberFacts("me", facts), REF)
    # then neither counts the future one, both take the refund off, none counts it bought.
    assert loyalty.rolling_12m_spend_cents == metrics.monetary_cents == 600
    assert loyalty.lifetime_spend_cents == metrics.lifetime_spend_cents == 600
    assert metrics.frequency == 1 and metrics.recency_days == 10


def test_a_redemption_beyond_the_balance_is_flagged() -> None:
    assert loyalty_of([tx(1, earned=50, redeemed=500)], reference=REF).anomalies == (
        "NEGATIVE_BALANCE",
    )
    assert loyalty_of([tx(1, earned=500, redeemed=50)], reference=REF).anomalies == ()


@pytest.mark.parametrize("count", [1, 4, 5, 7, 23, 100])
def test_quintiles_hold_a_fifth_each_and_the_best_scores_5(count: int) -> None:
    scores = [quintile(count, i) for i in range(count)]
    assert scores == sorted(scores, reverse=True) and scores[0] == 5
    if count >= 5:
        sizes = [scores.count(g) for g in range(1, 6)]
        assert max(sizes) - min(sizes) <= 1, sizes


def test_equal_values_still_split_in_fifths() -> None:
    # Most buyers bought once and opened one e-mail: the scores still hold a fifth each,
    # ordered by what breaks the tie (spend for frequency, the latest open for engagement).
    members = {
        f"m{i:02}": ([tx(10 + i, 1000 + i)], [web(1 + i, "Email Opened")]) for i in range(50)
    }
    population = _population(**members)
    for axis in ("frequency", "engagement", "monetary", "recency"):
        sizes = [0] * 5
        for scores in population.scores.values():
            sizes[getattr(scores, axis) - 1] += 1
        assert sizes == [10] * 5, (axis, sizes)
    assert population.scores["m49"].frequency == 5  # the biggest single purchase
    assert population.scores["m00"].engagement == 5  # the latest open


def test_a_web_only_member_active_lately_is_no_zombie() -> None:
    redeemed = web(135, "Offer Redeemed", offer="bonus")
    opened = web(300, "Email Opened")
    population = _population(me=([], [redeemed, opened]), **_filler())
    assert Segment.ZOMBIE not in population.segments["me"]
    population = _population(me=([], [web(200, "Offer Redeemed", offer="bonus")]), **_filler())
    assert Segment.ZOMBIE in population.segments["me"]


def _till(code: str, status: str = "completed") -> Transaction:
    return Transaction(
        transaction_id=f"T-{code}-{status}",
        loyalty_id="LD12345678",
        channel="store",
        occurred_at=REF - timedelta(days=1),
        amount_cents=2500,
        status=status,
        offer_code=code,  # type: ignore[call-arg]
    )


@pytest.mark.parametrize(
    ("events", "txs", "calls", "state", "via"),
    [
        pytest.param(
            [web(9, "Offer Issued", offer="B"), web(8, "Offer Sent", offer="B", channel="SMS")],
            [],
            [],
            OfferState.SENT,
            None,
            id="sent-by-sms",
        ),
        pytest.param(
            [web(8, "Offer Sent", offer="B", channel="sms"), web(7, "Offer Viewed", offer="B")],
            [_till("B")],
            [],
            OfferState.REDEEMED,
            "store",
            id="redeemed-at-the-till",
        ),
        pytest.param(
            [web(8, "Offer Sent", offer="B", channel="sms")],
            [_till(" b ")],
            [],
            OfferState.REDEEMED,
            "store",
            id="a-till-code-in-another-case-redeems-it",
        ),
        pytest.param(
            [web(8, "Offer Sent", offer="B", channel="sms")],
            [_till("B", status="cancelled")],
            [],
            OfferState.SENT,
            None,
            id="a-cancelled-purchase-redeems-nothing",
        ),
        pytest.param(
            [web(8, "Offer Sent", offer="B", channel="email")],
            [],
            [
                CallInteraction(
                    interaction_id="I-9",
                    started_at=REF - timedelta(days=2),
                    offer_code="B",  # type: ignore[call-arg]
                )
            ],
            OfferState.REDEEMED,
            "call",
            id="redeemed-through-a-call",
        ),
        pytest.param(
            [web(40, "Offer Issued", offer="B", expires_at="2026-10-15T00:00:00Z")],
            [],
            [],
            OfferState.EXPIRED,
            None,
            id="expired-unused",
        ),
    ],
)
def test_the_offer_ledger(
    events: list[WebEvent],
    txs: list[Transaction],
    calls: list[CallInteraction],
    state: OfferState,
    via: str | None,
) -> None:
    [offer] = offer_ledger(events, txs, calls, REF)
    assert offer.offer == "B" and offer.state is state and offer.redeemed_via == via
    sent = [e.properties["channel"].lower() for e in events if e.name == "Offer Sent"]
    assert offer.sent_on == sent


def test_last_seen_normalizes_each_value_of_a_members_lines_once() -> None:
    # Given a member's lines that give one e-mail in two spellings on ten web events, one
    # e-mail that is no e-mail, and a phone on two calls
    events = [
        web(days, "Product Viewed").model_copy(
            update={"email": " Ann@Example.com " if days % 2 else "ann@example.com"}
        )
        for days in range(1, 11)
    ]
    events.append(web(20, "Email Opened").model_copy(update={"email": "not an e-mail"}))
    calls = [
        CallInteraction(
            interaction_id=f"I{n}",
            caller_phone="+1 415 555 0100",
            started_at=REF - timedelta(days=n),
        )
        for n in (3, 5)
    ]
    normalized: list[str] = []

    def count(frame: FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code.co_name in ("normalize_email", "normalize_phone"):
            normalized.append(frame.f_code.co_name)

    # When they are dated
    sys.setprofile(count)
    try:
        seen = last_seen_of([], [], events, calls, "US")
    finally:
        sys.setprofile(None)
    # Then each value is dated by its newest line, the one that is no e-mail by none, and
    # each distinct spelling was normalized once (thirteen before)
    assert seen == {
        (IdentifierKind.EMAIL, "ann@example.com"): REF - timedelta(days=1),
        (IdentifierKind.PHONE, "+14155550100"): REF - timedelta(days=3),
    }
    assert sorted(normalized) == ["normalize_email"] * 3 + ["normalize_phone"]

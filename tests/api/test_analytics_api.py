"""The analyst's graph over HTTP: members filtered and ordered by the store, memberStats,
each held to what every member's own `loyalty`, `rfm` and `segments` say (brute force)."""

from __future__ import annotations

import base64
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.conftest import gql
from tests.support.members_pages import RANKED, ranked

EVERYONE = """query ($after: String) { members(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id segments records { source }
    loyalty { tier lifetimeSpendCents pointsBalance rolling12mSpendCents }
    rfm { spend12mCents } } } } }"""


@pytest.fixture(scope="module")
def analyst(demo_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One gateway for the module (read only): the demo data, scored as of a fixed day."""
    folder = tmp_path_factory.mktemp("analyst")
    dated = Settings(
        data=demo_source,
        store=f"sqlite:///{folder / 'identity.db'}",
        cache_dir=folder / "cache",
        reference_date=date(2026, 11, 21),
    )
    with TestClient(create_app(dated), base_url="http://127.0.0.1") as client:
        yield client


@pytest.fixture(scope="module")
def everyone(analyst: TestClient) -> dict[str, dict[str, Any]]:
    """Every member as its own fields say, read one page of 100 at a time."""
    found: dict[str, dict[str, Any]] = {}
    after = None
    while True:
        page = gql(analyst, EVERYONE, after=after)["data"]["members"]  # type: ignore[index]
        found |= {e["node"]["id"]: e["node"] for e in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def _spend(m: dict[str, Any]) -> int:
    return int(m["loyalty"]["lifetimeSpendCents"])


@pytest.mark.parametrize(
    ("member_filter", "keep"),
    [
        pytest.param({"tier": "SILVER"}, lambda m: m["loyalty"]["tier"] == "SILVER", id="tier"),
        pytest.param(
            {"lifetimeSpendCents": {"min": 20_000, "max": 80_000}},
            lambda m: 20_000 <= _spend(m) <= 80_000,
            id="spend-range",
        ),
        pytest.param(
            {"pointsBalance": {"max": 0}},
            lambda m: m["loyalty"]["pointsBalance"] <= 0,
            id="points-range",
        ),
        pytest.param(
            {"source": "CALL_CENTER", "segment": "ZOMBIE"},
            lambda m: (
                "ZOMBIE" in m["segments"] and "CALL_CENTER" in {r["source"] for r in m["records"]}
            ),
            id="source-and-segment",
        ),
    ],
)
@pytest.mark.parametrize("direction", ["ASC", "DESC"])
def test_members_filter_and_order_as_each_member_says(
    analyst: TestClient,
    everyone: dict[str, dict[str, Any]],
    member_filter: dict[str, Any],
    keep: Any,
    direction: str,
) -> None:
    order = {"field": "LIFETIME_SPEND", "direction": direction}
    seen, total = ranked(analyst, filter=member_filter, order=order)
    chosen = [m for m in everyone.values() if keep(m)]
    expected = [
        m["id"]
        for m in sorted(chosen, key=lambda m: (_spend(m), m["id"]), reverse=direction == "DESC")
    ]
    assert chosen, "the filter should choose someone in the demo"
    assert seen == expected and total == len(expected)


def test_twelve_month_spend_is_the_same_in_loyalty_and_rfm(
    everyone: dict[str, dict[str, Any]],
) -> None:
    for m in everyone.values():
        if m["rfm"] is not None:
            assert m["rfm"]["spend12mCents"] == m["loyalty"]["rolling12mSpendCents"], m["id"]


def test_member_stats_by_tier_count_what_members_say(
    analyst: TestClient, everyone: dict[str, dict[str, Any]]
) -> None:
    answer = gql(analyst, "{ memberStats(groupBy: [TIER]) { tier members } }")
    counted = {g["tier"]: g["members"] for g in answer["data"]["memberStats"]}  # type: ignore[index]
    by_hand: dict[str, int] = {}
    for m in everyone.values():
        by_hand[m["loyalty"]["tier"]] = by_hand.get(m["loyalty"]["tier"], 0) + 1
    assert counted == by_hand
    months = gql(
        analyst,
        "{ memberStats(groupBy: [CHANNEL, MONTH]) { channel month purchases spendCents } }",
    )["data"]["memberStats"]  # type: ignore[index]
    assert {g["channel"] for g in months} <= {"STORE", "ONLINE", None}
    whole = gql(analyst, "{ memberStats { members spendCents } }")["data"]["memberStats"]  # type: ignore[index]
    assert whole[0]["members"] == len(everyone)
    assert whole[0]["spendCents"] == sum(_spend(m) for m in everyone.values())
    assert sum(g["spendCents"] for g in months) == whole[0]["spendCents"]


_ID = "m_aaaaaaaaaaaaaaaa"  # shaped as member IDs are


def _after(field: str, direction: str, raw: str) -> str:
    """A ``members`` page after a ranked cursor built by hand around ``raw``."""
    cursor = base64.urlsafe_b64encode(f"ranked:{raw}".encode()).decode().rstrip("=")
    order = f"{{field: {field}, direction: {direction}}}"
    return f'{{ members(orderBy: {order}, after: "{cursor}") {{ edges {{ node {{ id }} }} }} }}'


@pytest.mark.parametrize(
    ("query", "argument"),
    [
        pytest.param(
            "{ members(filter: {lifetimeSpendCents: {min: 5, max: 1}}) { totalCount } }",
            "filter.lifetimeSpendCents",
            id="min-above-max",
        ),
        pytest.param(
            '{ members(filter: {lastPurchaseAfter: "2026-06-01T00:00:00Z",'
            ' lastPurchaseBefore: "2026-01-01T00:00:00Z"}) { totalCount } }',
            "filter.lastPurchaseAfter",
            id="after-later-than-before",
        ),
        pytest.param(
            '{ members(filter: {lastPurchaseAfter: "2026-06-01T00:00:00Z",'
            ' lastPurchaseBefore: "2026-06-01T00:00:00Z"}) { totalCount } }',
            "filter.lastPurchaseAfter",
            id="after-and-before-the-same-moment",
        ),
        pytest.param(
            '{ members(filter: {tier: "DIAMOND"}) { totalCount } }',
            "filter.tier",
            id="unknown-tier",
        ),
        pytest.param(
            '{ members(orderBy: {field: LIFETIME_SPEND}, after: "bm9wZQ") { totalCount } }',
            "after",
            id="foreign-cursor",
        ),
        pytest.param(
            "{ memberStats(groupBy: [TIER, TIER]) { members } }", "groupBy", id="twice-grouped"
        ),
        # Cursors built by hand: a value the order's column never holds, or no member ID.
        pytest.param(
            _after("LIFETIME_SPEND", "DESC", '["lifetime_spend_cents",true,"abc","m_x"]'),
            "after",
            id="hand-built-spend-a-word",
        ),
        pytest.param(
            _after("LIFETIME_SPEND", "DESC", f'["lifetime_spend_cents",true,"abc","{_ID}"]'),
            "after",
            id="hand-built-spend-a-word-of-a-member",
        ),
        pytest.param(
            _after("POINTS_BALANCE", "ASC", f'["points_balance",false,{2**63},"{_ID}"]'),
            "after",
            id="hand-built-points-beyond-64-bits",
        ),
        pytest.param(
            _after("LAST_PURCHASE", "ASC", '["last_purchase_at",false,12,"m_x"]'),
            "after",
            id="hand-built-no-member-id",
        ),
        pytest.param(
            _after("ID", "ASC", f'["member_id",false,"x","{_ID}"]'),
            "after",
            id="hand-built-member-order-no-id",
        ),
    ],
)
def test_bad_analyst_input_is_named(analyst: TestClient, query: str, argument: str) -> None:
    answer = gql(analyst, query)
    [error] = answer["errors"]  # type: ignore[misc]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "Traceback" not in str(answer)


def test_a_cursor_of_another_order_is_refused(analyst: TestClient) -> None:
    asc = {"field": "POINTS_BALANCE", "direction": "ASC"}
    page = gql(analyst, RANKED, order=asc)["data"]["members"]  # type: ignore[index]
    desc = {"field": "POINTS_BALANCE", "direction": "DESC"}
    answer = gql(analyst, RANKED, order=desc, after=page["pageInfo"]["endCursor"])
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"  # type: ignore[index]


def test_negative_balances_are_flagged_and_listed(client: TestClient) -> None:
    # Given a till that let a card redeem 450 points it never earned,
    spent = {
        "transaction_id": "T-OVERDRAWN",
        "loyalty_id": "LD99990000",
        "channel": "store",
        "occurred_at": "2026-10-30T10:00:00Z",
        "amount_cents": 0,
        "points_redeemed": 450,
    }
    assert client.post("/ingest/transactions", json=[spent]).status_code == 200
    # then the loyalty team finds it flagged, and listed with every other negative balance.
    listed, total = ranked(
        client,
        filter={"pointsBalance": {"max": -1}},
        order={"field": "POINTS_BALANCE", "direction": "ASC"},
    )
    answer = gql(
        client,
        """{ memberByIdentifier(kind: LOYALTY_ID, value: "LD99990000") {
          id loyalty { pointsBalance anomalies } } }""",
    )
    member = answer["data"]["memberByIdentifier"]  # type: ignore[index]
    assert member["loyalty"] == {"pointsBalance": -450, "anomalies": ["NEGATIVE_BALANCE"]}
    assert member["id"] in listed and total == len(listed)

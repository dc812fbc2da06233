"""Every filter, order and group of the analyst's graph over the demo, held to a brute-force
computation from the same store's per-member figures: what `members` lists (in order,
across pages) and counts, and what `memberStats` sums, is what filtering, sorting and
summing every member's figures by hand gives (issue 23's proof)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.demo import write_demo_data
from membergraph.identity.store.metrics_port import MetricsRow, ScoredRow
from membergraph.measuring import from_micros
from membergraph.settings import Settings
from tests.conftest import gql
from tests.support.members_pages import ranked

PEOPLE = 300
LATE = ("C-LATE-1", "C-LATE-2", "C-LATE-3")  # members who began after the demo's load

STATS = """query ($filter: MemberFilter, $by: [StatsDimension!]) {
  memberStats(filter: $filter, groupBy: $by) {
    segment tier channel month store noPurchase members purchases spendCents pointsIssued
    pointsRedeemed
  } }"""


@dataclass(frozen=True)
class Figures:
    """One member as the store keeps it, and when the member began."""

    row: ScoredRow
    since: datetime

    def figure(self, name: str) -> int:
        return self.row.row.figures[name]


@dataclass(frozen=True)
class Demo:
    client: TestClient
    members: dict[str, Figures]

    def moment(self, which: float) -> datetime:
        """The last purchase of the buyer at ``which`` (0 to 1) of the buyers by it."""
        bought = sorted(m.figure("last_purchase_at") for m in self.members.values())
        bought = [b for b in bought if b]
        found = from_micros(bought[int(which * (len(bought) - 1))])
        assert found is not None
        return found

    def amount(self, name: str, which: float) -> int:
        """The figure at ``which`` (0 to 1) of the members who have one (not 0)."""
        values = sorted(v for m in self.members.values() if (v := m.figure(name)))
        return values[int(which * (len(values) - 1))]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo's people, scored as of a fixed day, and three contacts added one after the
    other once it was loaded: members who began at different moments. Read only."""
    folder = tmp_path_factory.mktemp("analyst-demo")
    write_demo_data(folder / "data", PEOPLE, seed=23)
    settings = Settings(
        data=folder / "data",
        store=f"sqlite:///{folder / 'identity.db'}",
        cache_dir=folder / "cache",
        reference_date=date(2026, 11, 21),
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        for n, contact in enumerate(LATE):
            line = {"contact_id": contact, "first_name": "Late", "last_name": f"Comer{n}"}
            line["emails"] = [f"late.comer{n}@example.org"]  # type: ignore[assignment]
            answer = client.post("/ingest/crm", json=[line])
            assert answer.status_code == 200, answer.text
        ranked(client, order={"field": "MEMBER_SINCE"})  # the figures caught up
        ids = ranked(client)[0]
        gateway = client.app.state.gateway  # type: ignore[attr-defined]
        rows = client.portal.call(gateway.identity.store.metrics().scored, ids)  # type: ignore[union-attr]
        began = client.portal.call(gateway.identity.store.member_created, ids)  # type: ignore[union-attr]
        assert all(rows), "every member has figures"
        yield Demo(client, {m: Figures(r, began[m]) for m, r in zip(ids, rows, strict=True)})


def _at(moment: datetime) -> str:
    return moment.isoformat()


Keep = Callable[[Figures], bool]


def _filters(demo: Demo) -> dict[str, tuple[dict[str, Any], Keep]]:
    """Each filter as GraphQL takes it, and as a test of one member's figures. Bounds are
    taken from the demo's own values, so a bound falls on members (inclusive, or not)."""
    spend = demo.amount("monetary_cents", 0.6)
    low, high = demo.amount("points_balance", 0.3), demo.amount("points_balance", 0.7)
    lifetime = demo.amount("lifetime_spend_cents", 0.5)
    early, late = demo.moment(0.25), demo.moment(0.75)

    def row(m: Figures) -> MetricsRow:
        return m.row.row

    def bought(m: Figures) -> datetime | None:
        return from_micros(m.figure("last_purchase_at"))

    filters: dict[str, tuple[dict[str, Any], Keep]] = {
        "spend12m-min": (
            {"spend12mCents": {"min": spend}},
            lambda m: m.figure("monetary_cents") >= spend,
        ),
        "spend12m-max": (
            {"spend12mCents": {"max": spend}},
            lambda m: m.figure("monetary_cents") <= spend,
        ),
        "points-range": (
            {"pointsBalance": {"min": low, "max": high}},
            lambda m: low <= m.figure("points_balance") <= high,
        ),
        "lifetime-min": (
            {"lifetimeSpendCents": {"min": lifetime}},
            lambda m: m.figure("lifetime_spend_cents") >= lifetime,
        ),
        "last-purchase-after": (
            {"lastPurchaseAfter": _at(late)},
            lambda m: (b := bought(m)) is not None and b > late,
        ),
        "last-purchase-before": (
            {"lastPurchaseBefore": _at(early)},
            lambda m: (b := bought(m)) is not None and b < early,
        ),
        "last-purchase-between": (
            {"lastPurchaseAfter": _at(early), "lastPurchaseBefore": _at(late)},
            lambda m: (b := bought(m)) is not None and early < b < late,
        ),
        "tier": ({"tier": "SILVER"}, lambda m: row(m).tier == "SILVER"),
        "source": ({"source": "WEB_ANALYTICS"}, lambda m: "web_analytics" in row(m).sources),
        "segment": ({"segment": "AT_RISK"}, lambda m: "AT_RISK" in m.row.segments),
    }
    for channel in ("EMAIL", "SMS", "PUSH", "PHONE"):
        filters[f"consent-{channel}"] = (
            {"consent": channel},
            lambda m, c=channel: c in row(m).consented,  # type: ignore[misc]
        )
        filters[f"reachable-{channel}"] = (
            {"reachable": channel},
            lambda m, c=channel: c in row(m).reachable,  # type: ignore[misc]
        )
    filters["reachable-email-spent-lately"] = (
        {"reachable": "EMAIL", "spend12mCents": {"min": 1}, "lastPurchaseAfter": _at(early)},
        lambda m: (
            "EMAIL" in row(m).reachable
            and m.figure("monetary_cents") >= 1
            and (b := bought(m)) is not None
            and b > early
        ),
    )
    return filters


ORDERS: dict[str, Callable[[Figures], Any]] = {
    "ID": lambda m: "",  # ties all: by member ID alone
    "LIFETIME_SPEND": lambda m: m.figure("lifetime_spend_cents"),
    "SPEND_12M": lambda m: m.figure("monetary_cents"),
    "POINTS_BALANCE": lambda m: m.figure("points_balance"),
    "LAST_PURCHASE": lambda m: m.figure("last_purchase_at"),  # 0: never bought, first
    "MEMBER_SINCE": lambda m: m.since,
}


def _expected(demo: Demo, keep: Keep, field: str, descending: bool) -> list[str]:
    """The members ``keep`` chooses, sorted by ``field`` then by ID, both one way."""
    chosen = [(ORDERS[field](m), member) for member, m in demo.members.items() if keep(m)]
    return [member for _, member in sorted(chosen, reverse=descending)]


@pytest.mark.parametrize("direction", ["ASC", "DESC"])
@pytest.mark.parametrize("field", list(ORDERS))
def test_every_order_lists_every_member_as_their_figures_sort(
    demo: Demo, field: str, direction: str
) -> None:
    seen, total = ranked(demo.client, order={"field": field, "direction": direction})
    assert seen == _expected(demo, lambda m: True, field, direction == "DESC")
    assert total == len(demo.members)


BY_CONTACT = "query ($key: String!) { memberByIdentifier(kind: CRM_ID, value: $key) { id } }"


def test_members_who_began_later_come_last_by_member_since(demo: Demo) -> None:
    seen, _ = ranked(demo.client, order={"field": "MEMBER_SINCE"})
    late = [gql(demo.client, BY_CONTACT, key=c)["data"] for c in LATE]
    assert seen[-3:] == [m["memberByIdentifier"]["id"] for m in late]  # type: ignore[index]


FILTERS = [
    "spend12m-min",
    "spend12m-max",
    "points-range",
    "lifetime-min",
    "last-purchase-after",
    "last-purchase-before",
    "last-purchase-between",
    "tier",
    "source",
    "segment",
    *(
        f"{kind}-{c}"
        for kind in ("consent", "reachable")
        for c in ("EMAIL", "SMS", "PUSH", "PHONE")
    ),
    "reachable-email-spent-lately",
]


@pytest.mark.parametrize("name", FILTERS)
def test_every_filter_chooses_the_members_whose_figures_meet_it(demo: Demo, name: str) -> None:
    member_filter, keep = _filters(demo)[name]
    # each filter under another order and direction, so every pair of them meets somewhere
    field = list(ORDERS)[FILTERS.index(name) % len(ORDERS)]
    descending = FILTERS.index(name) % 2 == 1
    order = {"field": field, "direction": "DESC" if descending else "ASC"}
    seen, total = ranked(demo.client, filter=member_filter, order=order)
    expected = _expected(demo, keep, field, descending)
    assert 0 < len(expected) < len(demo.members), "the filter should choose, and leave, some"
    assert seen == expected
    assert total == len(expected)


GROUPS = [
    pytest.param([], None, id="all"),
    *(
        pytest.param([d], None, id=d.lower())
        for d in ("SEGMENT", "TIER", "CHANNEL", "MONTH", "STORE")
    ),
    pytest.param(["CHANNEL", "MONTH"], None, id="channel-month"),
    pytest.param(["SEGMENT", "TIER"], None, id="segment-tier"),
    pytest.param(["TIER", "STORE"], "reachable-SMS", id="tier-store-reachable-sms"),
    pytest.param(["MONTH"], "last-purchase-between", id="month-bought-between"),
    pytest.param(["SEGMENT"], "spend12m-min", id="segment-spend12m"),
]
_SALES = {"CHANNEL", "MONTH", "STORE"}


def _sums(demo: Demo, by: list[str], keep: Keep) -> list[dict[str, Any]]:
    """``memberStats`` by hand: each chosen member in each of its groups (a segment each, or
    the group of the members in none; a purchase line's channel, month and store each, or,
    without any, the group of the members with no purchase), its purchase lines' figures
    summed, groups in key order (none first; a buyer of no store before the members with no
    purchase)."""
    groups: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [set(), 0, 0, 0, 0])
    for member, m in demo.members.items():
        if not keep(m):
            continue
        # a member in no segment is a group of its own, its segment null (user29)
        segments = (m.row.segments or (None,)) if "SEGMENT" in by else (None,)
        by_sale = bool(_SALES & set(by))
        sales = (m.row.row.sales or (None,)) if by_sale else (None,)
        for segment in segments:
            for sale in sales:
                keys = {
                    "SEGMENT": segment,
                    "TIER": m.row.row.tier,
                    "CHANNEL": sale.channel.upper() if sale else None,
                    "MONTH": sale.month if sale else None,
                    "STORE": (sale.store or None) if sale else None,
                }
                sums = groups[(*(keys[d] for d in by), by_sale and sale is None)]
                sums[0].add(member)
                # a sale's group sums that sale; without a sale dimension, every sale
                lines = m.row.row.sales if not by_sale else [sale] if sale else []
                for line in lines:
                    sums[1] += line.purchases
                    sums[2] += line.spend_cents
                    sums[3] += line.points_earned
                    sums[4] += line.points_redeemed
    found = []
    for key, (members, purchases, spend, issued, redeemed) in sorted(
        groups.items(), key=lambda g: (*((v is not None, v or "") for v in g[0][:-1]), g[0][-1])
    ):
        group: dict[str, Any] = dict.fromkeys(("segment", "tier", "channel", "month", "store"))
        group |= {d.lower(): v for d, v in zip(by, key[:-1], strict=True)}
        group["noPurchase"] = key[-1]
        group |= {"members": len(members), "purchases": purchases, "spendCents": spend}
        found.append(group | {"pointsIssued": issued, "pointsRedeemed": redeemed})
    return found


@pytest.mark.parametrize(("by", "chosen"), GROUPS)
def test_member_stats_are_the_sums_of_each_groups_figures(
    demo: Demo, by: list[str], chosen: str | None
) -> None:
    member_filter, keep = _filters(demo)[chosen] if chosen else (None, lambda m: True)
    answer = gql(demo.client, STATS, filter=member_filter, by=by)
    assert "errors" not in answer, answer
    expected = _sums(demo, by, keep)
    assert len(expected) > (1 if by else 0), "the demo should fill several groups"
    assert answer["data"]["memberStats"] == expected  # type: ignore[index]


EVERYONE = """query ($after: String) { members(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id segments reachableChannels records { source }
    consents { channel granted }
    loyalty { tier lifetimeSpendCents pointsBalance rolling12mSpendCents }
    rfm { spend12mCents } } } } }"""


def test_the_figures_filtered_on_are_what_each_member_shows(demo: Demo) -> None:
    # An analyst who lists "reachable by e-mail, 12-month spend over 100" and opens a member
    # sees those very figures on the member: the store's are the member's own.
    shown: dict[str, Any] = {}
    after = None
    while True:
        page = gql(demo.client, EVERYONE, after=after)["data"]["members"]  # type: ignore[index]
        shown |= {e["node"]["id"]: e["node"] for e in page["edges"]}
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert shown.keys() == demo.members.keys()
    for member, m in demo.members.items():
        own, row = shown[member], m.row.row
        loyalty = own["loyalty"] or {}
        assert (
            row.tier,
            m.figure("lifetime_spend_cents"),
            m.figure("points_balance"),
            m.figure("monetary_cents"),
            sorted(m.row.segments),
            sorted(row.reachable),
            sorted(row.consented),
            sorted(row.sources),
        ) == (
            loyalty.get("tier", "BRONZE"),
            int(loyalty.get("lifetimeSpendCents", 0)),
            int(loyalty.get("pointsBalance", 0)),
            int((own["rfm"] or {}).get("spend12mCents", 0)),
            sorted(own["segments"]),
            sorted(own["reachableChannels"] or []),
            sorted(c["channel"] for c in own["consents"] or [] if c["granted"]),
            sorted({r["source"].lower() for r in own["records"]}),
        ), member

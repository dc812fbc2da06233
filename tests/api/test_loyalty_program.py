"""The loyalty program's rules over GraphQL: points expiry and the tier qualification window
as settings, refunds and cancellations, and a replaced card keeping the member's points."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.connectors.models import SourceName
from membergraph.settings import Settings
from tests.conftest import gql

OLA = {
    "contact_id": "C-OLA",
    "first_name": "Ola",
    "last_name": "Berg",
    "emails": ["ola.berg@example.org"],
    "loyalty_id": "LD-7000-0001",
    "birth_date": "1980-01-01",
    "updated_at": "2025-01-01T00:00:00Z",
}


def _sale(tid: str, when: str, cents: int, points: int, **more: object) -> dict[str, object]:
    return {
        "transaction_id": tid,
        "loyalty_id": "LD70000001",
        "channel": "store",
        "store_id": "S001",
        "occurred_at": when,
        "amount_cents": cents,
        "points_earned": points,
        "status": "completed",
        **more,
    }


BIG_OLD_SALE = _sale("T-OLA-1", "2025-06-01T10:00:00Z", 600_000, 6_000)
RECENT_SALE = _sale("T-OLA-2", "2026-11-01T10:00:00Z", 10_000, 100)

LOYALTY = """{ memberByIdentifier(kind: CRM_ID, value: "C-OLA") { id
  loyalty { pointsBalance pointsExpired tier qualifyingSpendCents lifetimeSpendCents
            spendToNextTierCents }
  rfm { purchases12m spend12mCents } } }"""
LISTS = """{ bronze: members(filter: {tier: "BRONZE", pointsBalance: {min: 100, max: 100}}) {
    totalCount edges { node { id } } }
  platinum: members(filter: {tier: "PLATINUM"}) { totalCount } }"""


@pytest.fixture
def empty_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    for source in SourceName:
        (folder / f"{source.value}.jsonl").write_text("")
    return folder


def _serve(folder: Path, tmp_path: Path, name: str) -> TestClient:
    settings = Settings(
        data=folder,
        store=f"sqlite:///{tmp_path / name}.db",
        cache_dir=tmp_path / "cache",
        reference_date="2026-12-01",  # type: ignore[arg-type]
    )
    return TestClient(create_app(settings), base_url="http://127.0.0.1")


@pytest.fixture
def program_client(
    empty_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[TestClient]:
    monkeypatch.setenv("MEMBERGRAPH_POINTS_EXPIRY_DAYS", "365")
    monkeypatch.setenv("MEMBERGRAPH_TIER_QUALIFICATION_DAYS", "365")
    with _serve(empty_folder, tmp_path, "program") as client:
        yield client


def _ingest(client: TestClient, source: str, *lines: dict[str, object]) -> None:
    answer = client.post(f"/ingest/{source}", json=list(lines))
    assert answer.status_code == 200, answer.text


def test_points_expire_and_the_tier_follows_the_window_when_set(
    program_client: TestClient,
) -> None:
    # Given a member who spent $6,000 a year and a half ago and $100 a month ago,
    _ingest(program_client, "crm", OLA)
    _ingest(program_client, "transactions", BIG_OLD_SALE, RECENT_SALE)
    # when points live 365 days and the tier counts the last 365 days' spend,
    loyalty = gql(program_client, LOYALTY)["data"]["memberByIdentifier"]["loyalty"]  # type: ignore[index]
    # then the old points are gone and the tier is what the last year earned.
    assert loyalty == {
        "pointsBalance": 100,
        "pointsExpired": 6_000,
        "tier": "BRONZE",
        "qualifyingSpendCents": 10_000,
        "lifetimeSpendCents": 610_000,
        "spendToNextTierCents": 40_000,
    }
    # The analyst's lists read the same definition from the store.
    lists = gql(program_client, LISTS)["data"]
    assert lists["bronze"]["totalCount"] == 1  # type: ignore[index]
    assert lists["platinum"]["totalCount"] == 0  # type: ignore[index]


def test_by_default_points_never_expire_and_the_tier_is_lifetime(
    empty_folder: Path, tmp_path: Path
) -> None:
    with _serve(empty_folder, tmp_path, "default") as client:
        _ingest(client, "crm", OLA)
        _ingest(client, "transactions", BIG_OLD_SALE, RECENT_SALE)
        loyalty = gql(client, LOYALTY)["data"]["memberByIdentifier"]["loyalty"]  # type: ignore[index]
        assert (loyalty["pointsBalance"], loyalty["pointsExpired"]) == (6_100, 0)
        assert (loyalty["tier"], loyalty["qualifyingSpendCents"]) == ("PLATINUM", 610_000)
        assert gql(client, LISTS)["data"]["platinum"]["totalCount"] == 1  # type: ignore[index]


def test_a_bad_expiry_setting_is_refused_naming_it(
    empty_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from membergraph.settings import SettingsError, load_settings

    monkeypatch.setenv("MEMBERGRAPH_POINTS_EXPIRY_DAYS", "0")
    with pytest.raises(SettingsError, match="MEMBERGRAPH_POINTS_EXPIRY_DAYS"):
        load_settings(data=empty_folder)


STATS = """{ memberStats(groupBy: [CHANNEL]) { channel purchases spendCents pointsIssued }
  buyers: members(filter: {lifetimeSpendCents: {min: 1}}) { totalCount } }"""


def test_refunds_and_cancellations_reverse_points_and_spend_everywhere(
    empty_folder: Path, tmp_path: Path
) -> None:
    with _serve(empty_folder, tmp_path, "refunds") as client:
        # Given two purchases this month,
        _ingest(client, "crm", OLA)
        second = _sale("T-OLA-3", "2026-11-10T10:00:00Z", 20_000, 200)
        _ingest(client, "transactions", RECENT_SALE, second)
        # when the till cancels the first (a newer version of its line) and a refund line
        # gives back half of the second with the points it had earned,
        cancelled = {**RECENT_SALE, "status": "cancelled", "updated_at": "2026-11-02T00:00:00Z"}
        refund = _sale("T-OLA-4", "2026-11-12T10:00:00Z", -10_000, 100, status="refunded")
        _ingest(client, "transactions", cancelled, refund)
        member = gql(client, LOYALTY)["data"]["memberByIdentifier"]  # type: ignore[index]
        # then neither the cancellation nor the refund is a purchase, and both are reversed
        # in the member's loyalty, its scores and the analyst's sums alike.
        assert member["loyalty"]["pointsBalance"] == 100
        assert member["loyalty"]["lifetimeSpendCents"] == 10_000
        assert member["rfm"] == {"purchases12m": 1, "spend12mCents": 10_000}
        stats = gql(client, STATS)["data"]
        assert stats["memberStats"] == [  # type: ignore[index]
            {"channel": "STORE", "purchases": 1, "spendCents": 10_000, "pointsIssued": 100}
        ]
        # A member whose every purchase was cancelled has spent nothing.
        _ingest(
            client,
            "transactions",
            {**second, "status": "cancelled", "updated_at": "2026-11-13T00:00:00Z"},
        )
        assert gql(client, STATS)["data"]["buyers"]["totalCount"] == 0  # type: ignore[index]


CARDS = """query ($card: String!) {
  owner: memberByIdentifier(kind: LOYALTY_ID, value: $card) { id }
  ola: memberByIdentifier(kind: CRM_ID, value: "C-OLA") {
    id loyalty { pointsBalance loyaltyIds tier } } }"""
NEW_CARD_SALE = {**_sale("T-OLA-9", "2026-11-20T10:00:00Z", 5_000, 50), "loyalty_id": "LD70000002"}


def test_a_replaced_card_keeps_the_members_points_from_a_crm_snapshot(
    empty_folder: Path, tmp_path: Path
) -> None:
    # Given a CRM export that holds only the contact's newest version, naming the card it
    # replaced, and the purchases of both cards,
    replaced = {**OLA, "loyalty_id": "LD-7000-0002", "previous_loyalty_ids": ["LD-7000-0001"]}
    (empty_folder / "crm.jsonl").write_bytes(orjson.dumps(replaced) + b"\n")
    lines = [BIG_OLD_SALE, RECENT_SALE, NEW_CARD_SALE]
    (empty_folder / "transactions.jsonl").write_bytes(
        b"".join(orjson.dumps(x) + b"\n" for x in lines)
    )
    with _serve(empty_folder, tmp_path, "snapshot") as client:
        found = gql(client, CARDS, card="LD70000001")["data"]
    # then the old card's account is the member's: its points and spend count.
    assert found["owner"]["id"] == found["ola"]["id"]  # type: ignore[index]
    assert found["ola"]["loyalty"] == {  # type: ignore[index]
        "pointsBalance": 6_150,
        "loyaltyIds": ["LD70000001", "LD70000002"],
        "tier": "PLATINUM",
    }


def test_a_contact_whose_card_changes_keeps_its_points_over_ingestion(
    empty_folder: Path, tmp_path: Path
) -> None:
    with _serve(empty_folder, tmp_path, "ingested") as client:
        # Given a member with points on its first card,
        _ingest(client, "crm", OLA)
        _ingest(client, "transactions", BIG_OLD_SALE, RECENT_SALE)
        before = gql(client, CARDS, card="LD70000001")["data"]["ola"]  # type: ignore[index]
        assert before["loyalty"]["pointsBalance"] == 6_100
        # when the CRM sends the contact with a new card, and the new card is used,
        new_card = {**OLA, "loyalty_id": "LD-7000-0002", "updated_at": "2026-11-15T00:00:00Z"}
        _ingest(client, "crm", new_card)
        _ingest(client, "transactions", NEW_CARD_SALE)
        after = gql(client, CARDS, card="LD70000002")["data"]  # type: ignore[index]
    # then it is the same member, holding both cards' points.
    assert after["owner"]["id"] == after["ola"]["id"] == before["id"]
    assert after["ola"]["loyalty"]["pointsBalance"] == 6_150
    assert after["ola"]["loyalty"]["loyaltyIds"] == ["LD70000001", "LD70000002"]


def test_a_program_changed_between_restarts_is_what_the_lists_follow(
    empty_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a member measured under the default program (PLATINUM, 6,100 points)
    with _serve(empty_folder, tmp_path, "changed") as client:
        _ingest(client, "crm", OLA)
        _ingest(client, "transactions", BIG_OLD_SALE, RECENT_SALE)
        assert gql(client, LISTS)["data"]["platinum"]["totalCount"] == 1  # type: ignore[index]
    # When the operator restarts the gateway with points that expire and a tier window
    monkeypatch.setenv("MEMBERGRAPH_POINTS_EXPIRY_DAYS", "365")
    monkeypatch.setenv("MEMBERGRAPH_TIER_QUALIFICATION_DAYS", "365")
    with _serve(empty_folder, tmp_path, "changed") as client:
        loyalty = gql(client, LOYALTY)["data"]["memberByIdentifier"]["loyalty"]  # type: ignore[index]
        lists = gql(client, LISTS)["data"]
    # Then the analyst's lists say what her loyalty says: BRONZE with 100 points
    assert (loyalty["tier"], loyalty["pointsBalance"]) == ("BRONZE", 100)
    assert lists["bronze"]["totalCount"] == 1  # type: ignore[index]
    assert lists["platinum"]["totalCount"] == 0  # type: ignore[index]


CAD_SALE = _sale("T-OLA-5", "2026-11-15T10:00:00Z", 100_000, 1_000, currency="cad")
PRICES = """{ memberByIdentifier(kind: CRM_ID, value: "C-OLA") {
  loyalty { tier lifetimeSpendCents } rfm { spend12mCents }
  transactions(first: 5) { edges { node { amountCents currency } } } }
  memberStats(groupBy: [CHANNEL]) { spendCents } }"""


@pytest.mark.parametrize(
    ("rates", "spend", "tier"),
    [
        # $100 and C$1,000 at 0.73: $830, SILVER; with no rate set, summed as sent.
        pytest.param('{"CAD": 0.73}', 83_000, "SILVER", id="converted"),
        pytest.param('{"CAD": 0.40}', 50_000, "SILVER", id="exactly-the-threshold"),
        pytest.param(None, 110_000, "SILVER", id="no-rate-summed-as-sent"),
        pytest.param('{"EUR": 1.08}', 110_000, "SILVER", id="another-currencys-rate"),
        pytest.param('{"CAD": 0.30}', 40_000, "BRONZE", id="short-of-silver"),
    ],
)
def test_a_purchase_in_another_currency_counts_by_its_rate_everywhere(
    empty_folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rates: str | None,
    spend: int,
    tier: str,
) -> None:
    # Given a deployment counting in USD, with or without a rate for Canadian dollars,
    if rates is not None:
        monkeypatch.setenv("MEMBERGRAPH_EXCHANGE_RATES", rates)
    with _serve(empty_folder, tmp_path, "rates") as client:
        # when a member buys for $100 and for C$1,000,
        _ingest(client, "crm", OLA)
        _ingest(client, "transactions", RECENT_SALE, CAD_SALE)
        data = gql(client, PRICES)["data"]
    member = data["memberByIdentifier"]  # type: ignore[index]
    # then spend, tier, RFM and the analyst's sums count the converted amount,
    assert member["loyalty"] == {"tier": tier, "lifetimeSpendCents": spend}
    assert member["rfm"] == {"spend12mCents": spend}
    assert data["memberStats"] == [{"spendCents": spend}]  # type: ignore[index]
    # while each purchase keeps the amount and currency it was sent in.
    sent = sorted(
        (e["node"]["amountCents"], e["node"]["currency"]) for e in member["transactions"]["edges"]
    )
    assert sent == [(10_000, "USD"), (100_000, "CAD")]


def test_a_restart_with_a_new_rate_counts_the_stored_purchases_again(
    empty_folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given purchases in USD and CAD taken by a gateway with no rate set,
    with _serve(empty_folder, tmp_path, "restart") as client:
        _ingest(client, "crm", OLA)
        _ingest(client, "transactions", RECENT_SALE, CAD_SALE)
        assert gql(client, PRICES)["data"]["memberStats"] == [{"spendCents": 110_000}]  # type: ignore[index]
    # when it starts again over its store with a rate for CAD,
    monkeypatch.setenv("MEMBERGRAPH_EXCHANGE_RATES", '{"CAD": 0.73}')
    with _serve(empty_folder, tmp_path, "restart") as client:
        data = gql(client, PRICES)["data"]
    # then the figures kept in the store are measured again by it.
    assert data["memberStats"] == [{"spendCents": 83_000}]  # type: ignore[index]
    assert data["memberByIdentifier"]["loyalty"]["lifetimeSpendCents"] == 83_000  # type: ignore[index]

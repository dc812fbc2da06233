"""A purchase in a currency with no exchange rate is said, not silently summed as cents, and a
rate converts by the currency's ISO 4217 exponent (user32 5: 1,500,000 JPY "cents" moved a
member SILVER -> PLATINUM without a word)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.connectors.models import SourceName
from membergraph.settings import Settings
from tests.conftest import gql

MIA = {
    "contact_id": "C-MIA",
    "first_name": "Mia",
    "last_name": "Sato",
    "emails": ["mia.sato@mail-example.org"],
    "loyalty_id": "LD-7100-0001",
    "updated_at": "2025-01-01T00:00:00Z",
}
SPEND = """{ memberByIdentifier(kind: CRM_ID, value: "C-MIA") {
  loyalty { lifetimeSpendCents } } memberStats { spendCents } }"""


def _sale(tid: str, cents: int, currency: str) -> dict[str, object]:
    return {
        "transaction_id": tid,
        "loyalty_id": "LD71000001",
        "channel": "store",
        "store_id": "S001",
        "occurred_at": "2026-11-01T10:00:00+09:00",
        "amount_cents": cents,
        "currency": currency,
        "status": "completed",
    }


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    found = tmp_path / "data"
    found.mkdir()
    for source in SourceName:
        (found / f"{source.value}.jsonl").write_text("")
    (found / "crm.jsonl").write_bytes(orjson.dumps(MIA) + b"\n")
    return found


def _serve(folder: Path, tmp_path: Path) -> TestClient:
    settings = Settings(
        data=folder,
        store=f"sqlite:///{tmp_path / 'store.db'}",
        cache_dir=tmp_path / "cache",
        reference_date="2026-12-01",  # type: ignore[arg-type]
    )
    return TestClient(create_app(settings), base_url="http://127.0.0.1")


def _as_sent_metric(client: TestClient) -> dict[str, float]:
    text = client.get("/metrics").text
    found = re.findall(r'membergraph_ingest_lines_as_sent_total\{currency="(\w+)"\} (\S+)', text)
    return {currency: float(n) for currency, n in found}


def test_a_yen_purchase_without_a_rate_is_warned_and_counted(folder: Path, tmp_path: Path) -> None:
    # Given a deployment counting in USD with no rate for yen
    with _serve(folder, tmp_path) as client:
        # When a till pushes a purchase of 1,500,000 yen and one in dollars
        lines = [_sale("T-MIA-JPY", 1_500_000, "JPY"), _sale("T-MIA-USD", 1_000, "usd")]
        answer = client.post("/ingest/transactions", json=lines)
        data = gql(client, SPEND)["data"]
        metric = _as_sent_metric(client)
    # Then the push says the yen line counts as sent, per line and counted per currency
    assert answer.status_code == 200, answer.text
    said = answer.json()
    assert said["counted_as_sent"] == {"JPY": 1}
    yen, dollars = said["lines"]
    (warning,) = yen["warnings"]
    assert "no exchange rate for JPY" in warning and "MEMBERGRAPH_EXCHANGE_RATES" in warning
    assert "warnings" not in dollars
    # and /metrics counts it, while the figures are as documented: summed as sent
    assert metric == {"JPY": 1.0}
    assert data["memberByIdentifier"]["loyalty"]["lifetimeSpendCents"] == 1_501_000  # type: ignore[index]


@pytest.mark.parametrize(
    ("rates", "sale", "cents"),
    [
        # 1,500,000 yen (no minor unit) at $0.0067 a yen: $10,050.
        pytest.param('{"JPY": "0.0067"}', _sale("T-MIA-J", 1_500_000, "JPY"), 1_005_000, id="jpy"),
        # 12.345 dinars (3 decimals: 12,345 fils) at $2.65 a dinar: $32.71425, to 3271 cents.
        pytest.param('{"BHD": "2.65"}', _sale("T-MIA-B", 12_345, "BHD"), 3_271, id="bhd"),
        # 100.00 euros at $1.08: as before, both exponents 2.
        pytest.param('{"EUR": "1.08"}', _sale("T-MIA-E", 10_000, "EUR"), 10_800, id="eur"),
    ],
)
def test_a_rate_converts_by_the_currencys_exponent(
    folder: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    rates: str,
    sale: dict[str, object],
    cents: int,
) -> None:
    # Given a rate per whole unit of the currency
    monkeypatch.setenv("MEMBERGRAPH_EXCHANGE_RATES", rates)
    with _serve(folder, tmp_path) as client:
        # When a purchase in it is pushed
        answer = client.post("/ingest/transactions", json=[sale])
        data = gql(client, SPEND)["data"]
    # Then it is taken without a warning, and counts by the currency's minor unit
    assert answer.status_code == 200, answer.text
    assert "counted_as_sent" not in answer.json()
    assert "warnings" not in answer.json()["lines"][0]
    assert data["memberByIdentifier"]["loyalty"]["lifetimeSpendCents"] == cents  # type: ignore[index]
    assert data["memberStats"] == [{"spendCents": cents}]  # type: ignore[index]


def test_a_load_logs_the_lines_of_each_unrated_currency(
    folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a folder with two yen purchases, one in won and one in dollars, no rate set
    sales = [
        _sale("T-1", 1_500, "JPY"),
        _sale("T-2", 3_000, "JPY"),
        _sale("T-3", 50_000, "KRW"),
        _sale("T-4", 1_000, "USD"),
    ]
    (folder / "transactions.jsonl").write_bytes(b"".join(orjson.dumps(s) + b"\n" for s in sales))
    # When a gateway loads it
    with caplog.at_level(logging.WARNING), _serve(folder, tmp_path):
        pass
    # Then its log says, once per currency, how many lines count as sent
    said = [r.getMessage() for r in caplog.records if "no exchange rate" in r.getMessage()]
    assert len(said) == 2, said
    assert said[0].startswith("transactions: 2 line(s) in JPY")
    assert said[1].startswith("transactions: 1 line(s) in KRW")

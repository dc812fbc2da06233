"""``GET /export/members.csv``: the members of a filter, streamed, masked by scope."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.settings import Settings
from tests.support.export import whole_export

KEYS = {
    "analyst-key-000000000001": {"name": "analyst", "scopes": ["profile:read", "analytics:read"]},
    "analyst-pii-key-00000001": {
        "name": "analyst-pii",
        "scopes": ["profile:read", "analytics:read", "pii:read"],
    },
    "personalization-key-0001": {"name": "personalization", "scopes": ["profile:read"]},
    "privacy-admin-key-000001": {"name": "dpo", "scopes": ["profile:read", "privacy:admin"]},
}
ANALYST, PII, PERSONALIZATION, DPO = (f"Bearer {k}" for k in KEYS)


@pytest.fixture
def secured(settings: Settings) -> Iterator[TestClient]:
    keyed = settings.model_copy(update={"api_keys": Settings(api_keys=KEYS).api_keys})
    with TestClient(create_app(keyed), base_url="http://127.0.0.1") as client:
        yield client


def _export(client: TestClient, auth: str, **params: str) -> list[dict[str, str]]:
    response = client.get("/export/members.csv", params=params, headers={"authorization": auth})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return whole_export(response.text)


def _total(client: TestClient, member_filter: dict[str, object]) -> int:
    answer = client.post(
        "/graphql",
        json={
            "query": "query ($f: MemberFilter) { members(filter: $f) { totalCount } }",
            "variables": {"f": member_filter},
        },
        headers={"authorization": ANALYST},
    ).json()
    return int(answer["data"]["members"]["totalCount"])


def test_the_export_holds_the_members_of_the_filter_masked(secured: TestClient) -> None:
    every = _export(secured, ANALYST)
    assert len(every) == _total(secured, {}) > 100
    assert len({r["member_id"] for r in every}) == len(every)
    emails = [r["email"] for r in every if r["email"]]
    assert emails and all("***@" in e for e in emails)
    silver = _export(secured, ANALYST, tier="SILVER", lifetimeSpendMin="60000")
    assert silver and all(r["tier"] == "SILVER" for r in silver)
    assert all(int(r["lifetime_spend_cents"]) >= 60000 for r in silver)
    assert len(silver) == _total(secured, {"tier": "SILVER", "lifetimeSpendCents": {"min": 60000}})


def test_pii_read_unmasks_and_is_audited(secured: TestClient) -> None:
    rows = _export(secured, PII, segment="ZOMBIE")
    shown = [r for r in rows if r["email"]]
    assert shown and all("***" not in r["email"] for r in shown)
    member = shown[0]["member_id"]
    log = secured.post(
        "/graphql",
        json={"query": f'{{ piiAccessLog(memberId: "{member}") {{ actor fields }} }}'},
        headers={"authorization": DPO},
    ).json()
    assert {"actor": "analyst-pii", "fields": ["email", "phone"]} in log["data"]["piiAccessLog"]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_head_request_reads_no_member_and_audits_none(secured: TestClient, suffix: str) -> None:
    """Starlette answers HEAD through the GET route: every member was read and, for a caller
    allowed to see them, written to the PII audit, for an answer without a body."""
    head = secured.head(
        f"/export/members.{suffix}", params={"segment": "ZOMBIE"}, headers={"authorization": PII}
    )
    assert head.status_code == 200 and head.content == b""
    assert f'.{suffix}"' in head.headers["content-disposition"]
    rows = _export(secured, ANALYST, segment="ZOMBIE")  # masked: audits nothing either
    members = [r["member_id"] for r in rows]
    assert members
    log = secured.post(
        "/graphql",
        json={"query": f'{{ piiAccessLog(memberId: "{members[0]}") {{ actor }} }}'},
        headers={"authorization": DPO},
    ).json()
    assert log["data"]["piiAccessLog"] == []


@pytest.mark.parametrize(
    ("auth", "params", "status"),
    [
        pytest.param(PERSONALIZATION, {}, 403, id="no-analytics-scope"),
        pytest.param(ANALYST, {"segment": "SLEEPY"}, 400, id="unknown-segment"),
        pytest.param(ANALYST, {"lifetimeSpendMin": "ten"}, 400, id="not-a-number"),
        pytest.param(ANALYST, {"lastPurchaseAfter": "yesterday"}, 400, id="not-a-date"),
        pytest.param(ANALYST, {"tier": "DIAMOND"}, 400, id="unknown-tier"),
    ],
)
def test_refused_exports_say_why(
    secured: TestClient, auth: str, params: dict[str, str], status: int
) -> None:
    response = secured.get("/export/members.csv", params=params, headers={"authorization": auth})
    assert response.status_code == status
    assert "error" in response.json() and "Traceback" not in response.text


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_misspelt_parameter_is_refused_naming_the_known_ones(
    secured: TestClient, suffix: str
) -> None:
    # Adversarial pass, finding 17: `segmnt=AT_RISK` was ignored and everyone exported.
    response = secured.get(
        f"/export/members.{suffix}",
        params={"segmnt": "AT_RISK"},
        headers={"authorization": ANALYST},
    )
    assert response.status_code == 400
    message = response.json()["error"]
    assert "segmnt" in message and "segment" in message and "lastPurchaseBefore" in message


def test_no_credentials_no_export(secured: TestClient) -> None:
    assert secured.get("/export/members.csv").status_code == 401


def test_the_cli_writes_the_same_rows(
    secured: TestClient, settings: Settings, tmp_path: Path
) -> None:
    # Given the gateway's store (the secured client loaded it), the operator exports from
    # the command line: the same rows as over HTTP, masked without --pii.
    over_http = _export(secured, ANALYST, segment="ZOMBIE")
    out = tmp_path / "zombies.csv"
    result = CliRunner().invoke(
        app,
        ["export", "--out", str(out), "--data", str(settings.data), "--store", settings.store]
        + ["--segment", "ZOMBIE"],
    )
    assert result.exit_code == 0, result.output
    assert whole_export(out.read_text()) == over_http
    refused = CliRunner().invoke(
        app, ["export", "--out", str(out), "--store", settings.store, "--tier", "DIAMOND"]
    )
    assert refused.exit_code == 2 and "DIAMOND" in refused.output


def test_the_parquet_export_holds_the_same_members_typed(secured: TestClient) -> None:
    import pyarrow.parquet as pq  # type: ignore[import-untyped]

    rows = _export(secured, ANALYST, segment="ZOMBIE")
    response = secured.get(
        "/export/members.parquet", params={"segment": "ZOMBIE"}, headers={"authorization": ANALYST}
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.apache.parquet"
    footer = pq.read_metadata(io.BytesIO(response.content)).metadata
    assert footer[b"membergraph.complete"] == b"true"
    assert footer[b"membergraph.members"] == str(len(rows)).encode()
    table = pq.read_table(io.BytesIO(response.content)).to_pylist()
    assert [r["member_id"] for r in table] == [r["member_id"] for r in rows]
    for typed, text in zip(table, rows, strict=True):
        assert typed["lifetime_spend_cents"] == int(text["lifetime_spend_cents"])
        assert typed["segments"] == text["segments"].split() and "ZOMBIE" in typed["segments"]
        assert (typed["email"] or "") == text["email"]
        bought = typed["last_purchase_at"]
        assert (bought.isoformat() if bought else "") == text["last_purchase_at"]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_a_repeated_parameter_is_refused_naming_it(secured: TestClient, suffix: str) -> None:
    # Adversarial pass: `?tier=GOLD&tier=SILVER` exported SILVER only. A filter holds one
    # value, as in members(filter:): the export says so rather than take half of it.
    response = secured.get(
        f"/export/members.{suffix}?tier=GOLD&tier=SILVER&segment=LOYAL",
        headers={"authorization": ANALYST},
    )
    assert response.status_code == 400
    message = response.json()["error"]
    assert message.startswith("tier:") and "more than once" in message


def test_the_cli_takes_every_filter_of_the_http_export(
    secured: TestClient, settings: Settings, tmp_path: Path
) -> None:
    # Given ranges and dates, as GET /export/members.csv takes them
    params = {
        "lifetimeSpendMin": "20000",
        "pointsBalanceMax": "100000",
        "lastPurchaseAfter": "2026-01-01T00:00:00Z",
    }
    over_http = _export(secured, ANALYST, **params)
    assert over_http
    out = tmp_path / "range.csv"
    flags = ["--lifetime-spend-min", "20000", "--points-balance-max", "100000"]
    flags += ["--last-purchase-after", "2026-01-01T00:00:00Z"]
    store = ["--data", str(settings.data), "--store", settings.store]
    result = CliRunner().invoke(app, ["export", "--out", str(out), *store, *flags])
    # then the command line writes the same rows
    assert result.exit_code == 0, result.output
    assert whole_export(out.read_text()) == over_http
    # and a bad value is named by its flag, before anything is written
    bad = CliRunner().invoke(
        app, ["export", "--out", str(tmp_path / "no.csv"), *store, "--last-purchase-after", "May"]
    )
    assert bad.exit_code == 2 and "--last-purchase-after" in bad.output
    assert not (tmp_path / "no.csv").exists()


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_exported_as_text(
    settings: Settings,
) -> None:
    # Given a contact whose e-mail begins like a formula (a valid address)
    contact = {
        "contact_id": "C-FORMULA-1",
        "first_name": "Eve",
        "last_name": "Sheet",
        "emails": ["=cmd+2@evil-corp.example"],
        "phones": ["+1 415 555 0166"],
        "consents": {"email": True},
        "updated_at": "2026-09-01T00:00:00Z",
    }
    assert settings.data is not None
    with (settings.data / "crm.jsonl").open("ab") as handle:
        handle.write(orjson.dumps(contact) + b"\n")
    keyed = settings.model_copy(update={"api_keys": Settings(api_keys=KEYS).api_keys})
    # When an analyst exports it, masked or not
    with TestClient(create_app(keyed), base_url="http://127.0.0.1") as client:
        rows = {
            auth: next(r for r in _export(client, auth, source="CRM") if "evil-corp" in r["email"])
            for auth in (PII, ANALYST)
        }
    # Then the cell is text to a spreadsheet (OWASP's leading quote), a phone stays as it is
    assert rows[PII]["email"] == "'=cmd+2@evil-corp.example"
    assert rows[ANALYST]["email"].startswith("'=")
    assert rows[PII]["phone"] == "+14155550166"

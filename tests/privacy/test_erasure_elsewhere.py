"""Erasure finds the person by her identifiers, not only by her member: her online account
split off by a steward, or held by another contact who gave the same family e-mail, goes
with her, and the request says what went where."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.conftest import gql
from tests.privacy.people import add_to_folder

EMAIL = "zephyrine.quill@quillmail.org"
ONLINE = f"online:{EMAIL}"
FIND = """query($v: String!) { memberByIdentifier(kind: EMAIL, value: $v) {
  id records { source key } transactions { totalCount } } }"""
ERASE = """mutation($id: ID!) { eraseMember(id: $id, reason: "ticket DPO-4") {
  state counts } }"""
# Her husband's contact, with the family e-mail she also gave.
SPOUSE = {
    "contact_id": "C-ZQ-88",
    "first_name": "Bartholomew",
    "last_name": "Quillfeather",
    "emails": [EMAIL],
    "updated_at": "2026-11-01T00:00:00Z",
}


def _hers(client: TestClient) -> str:
    found = gql(client, '{ memberByIdentifier(kind: CRM_ID, value: "C-ZQ-77") { id } }')
    return str(found["data"]["memberByIdentifier"]["id"])  # type: ignore[index]


def _holder(client: TestClient) -> dict[str, Any] | None:
    return gql(client, FIND, v=EMAIL)["data"]["memberByIdentifier"]  # type: ignore[index,no-any-return]


def _split_off(client: TestClient) -> None:
    split = gql(
        client,
        """mutation($m: ID!, $k: String!) { splitMember(memberId: $m,
        records: [{source: TRANSACTIONS, key: $k}], reason: "not hers?") { id } }""",
        m=_hers(client),
        k=ONLINE,
    )
    assert "errors" not in split, split


def _spouse_joins(client: TestClient) -> None:
    sent = client.post("/ingest/crm", json=[SPOUSE])
    assert sent.status_code == 200, sent.text


def _stored(db: Path, folder: Path, *, purchases_only: bool) -> list[str]:
    """Where the e-mail is still stored: every table and file, or only purchase lines and
    accounts (her husband's contact may keep the family e-mail he gave)."""
    queries = {
        "source_lines": "SELECT * FROM source_lines WHERE source = 'transactions'",
        "records": f"SELECT * FROM records WHERE key = '{ONLINE}'",
    }
    if not purchases_only:
        queries |= {t: f"SELECT * FROM {t}" for t in ("source_lines", "records", "identifiers")}
    where = []
    with sqlite3.connect(db) as conn:
        for table, query in queries.items():
            rows = conn.execute(query).fetchall()
            if EMAIL in orjson.dumps([[str(v) for v in r] for r in rows]).decode():
                where.append(table)
    files = ["transactions.jsonl"] if purchases_only else [p.name for p in folder.iterdir()]
    where += [name for name in files if EMAIL.encode() in (folder / name).read_bytes()]
    return where


@pytest.mark.parametrize(
    "elsewhere",
    [pytest.param(_split_off, id="split-off"), pytest.param(_spouse_joins, id="family-email")],
)
def test_her_online_account_in_another_member_is_erased_with_her(
    data_dir: Path, tmp_path: Path, elsewhere: Any
) -> None:
    add_to_folder(data_dir)
    db = tmp_path / "store.db"
    settings = Settings(data=data_dir, store=f"sqlite:///{db}", cache_dir=tmp_path / "cache")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        # Given her online account in a member that is not hers
        elsewhere(client)
        her = _hers(client)
        mine = gql(client, f'{{ member(id: "{her}") {{ records {{ key }} }} }}')
        assert ONLINE not in str(mine), "the account sits in another member"
        # When her member is erased
        erased = gql(client, ERASE, id=her)["data"]["eraseMember"]  # type: ignore[index]
        # Then her e-mail finds none of her records or purchases (her husband's contact
        # keeps the family e-mail he gave: it is his line, see docs/privacy.md)
        assert erased["state"] == "DONE", erased
        holder = _holder(client)
        assert holder is None or holder["records"] == [{"source": "CRM", "key": "C-ZQ-88"}]
        assert holder is None or holder["transactions"]["totalCount"] == 0
        # And no purchase line, record or data file line of hers holds it
        assert _stored(db, data_dir, purchases_only=holder is not None) == []
        # And the request says what went where
        counts = erased["counts"]
        assert counts["records_elsewhere"] == 1 and counts["members_elsewhere"] == 1
        assert counts["lines_transactions"] == 2, "her card's and her online purchase"

"""A line kept for no one that names her: a till typed her e-mail into the card field, so
the purchase identifies no one (a cash sale, kept for the books) and holds her address all
the same. Her erasure takes her address out of it and keeps the purchase for the books."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.conftest import gql
from tests.privacy.people import add_to_folder

HER = "zephyrine.quill@quillmail.org"
FIND = "query($value: String!) { memberByIdentifier(kind: EMAIL, value: $value) { id } }"
TYPED_IN_THE_CARD_FIELD = {
    "transaction_id": "T-ZQ-TILL",
    "loyalty_id": "Zephyrine.Quill@QuillMail.org",
    "channel": "store",
    "store_id": "S-9",
    "occurred_at": "2026-10-06T10:00:00Z",
    "amount_cents": 777,
}


def _books(db: Path) -> tuple[int, int, bool]:
    with sqlite3.connect(db) as conn:
        rows = [
            r[0]
            for r in conn.execute("SELECT body FROM source_lines WHERE source = 'transactions'")
        ]
    total = sum(orjson.loads(body)["amount_cents"] for body in rows)
    return total, len(rows), any(HER.encode() in body.lower() for body in rows)


def test_erasure_takes_her_address_out_of_a_line_kept_for_no_one(
    data_dir: Path, tmp_path: Path
) -> None:
    add_to_folder(data_dir)
    db = tmp_path / "store.db"
    settings = Settings(data=data_dir, store=f"sqlite:///{db}", cache_dir=tmp_path / "cache")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        # Given a purchase whose card field holds her e-mail: kept, nobody's
        [line] = client.post("/ingest/transactions", json=[TYPED_IN_THE_CARD_FIELD]).json()["lines"]
        assert line["status"] == "unattributed" and line["kept"] is True, line
        her = gql(client, FIND, value=HER)
        member = her["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
        total, count, named = _books(db)
        assert named
        # When she is erased
        erase = 'mutation($id: ID!) { eraseMember(id: $id, reason: "DPO-3") { state counts } }'
        request = gql(client, erase, id=member)["data"]["eraseMember"]  # type: ignore[index]
        assert request["state"] == "DONE", request
    # Then no line of the store names her, and the books still count every purchase
    assert _books(db) == (total, count, False)
    assert HER.encode() not in db.read_bytes().lower()


@pytest.mark.parametrize(
    ("card_field", "note", "trace"),
    [
        pytest.param("Zephyrine.Quill+till@quillmail.org", "", "+till@", id="tagged-email"),
        pytest.param("", "call her on (415) 555-0177", "555-0177", id="phone-as-typed"),
        pytest.param("", "or +1 415 555 0177", "555 0177", id="phone-spaced"),
        # 30,000 letters before an @ (60 KB of JSON): the search for e-mails in a line's
        # text was quadratic in such a run, minutes of an erasure holding the push lock
        pytest.param("", "é" * 30_000 + "@ or (415) 555-0177", "555-0177", id="long-run"),
    ],
)
def test_erasure_finds_her_in_a_line_kept_for_no_one_however_it_spells_her(
    data_dir: Path, tmp_path: Path, card_field: str, note: str, trace: str
) -> None:
    add_to_folder(data_dir)
    db = tmp_path / "store.db"
    settings = Settings(data=data_dir, store=f"sqlite:///{db}", cache_dir=tmp_path / "cache")
    sale = {**TYPED_IN_THE_CARD_FIELD, "loyalty_id": card_field or None}
    sale["items"] = [{"sku": "GIFT", "quantity": 1, "unit_price_cents": 777, "note": note}]
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        # Given a cash sale naming her e-mail with a +tag, or her phone as a clerk typed it
        [line] = client.post("/ingest/transactions", json=[sale]).json()["lines"]
        assert line["status"] == "unattributed", line
        member = gql(client, FIND, value=HER)["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
        # When she is erased
        erase = 'mutation($id: ID!) { eraseMember(id: $id, reason: "DPO-3") { state } }'
        assert gql(client, erase, id=member)["data"]["eraseMember"]["state"] == "DONE"  # type: ignore[index]
    # Then the sale is kept for the books, and no line of the store holds her value
    with sqlite3.connect(db) as conn:
        bodies = [bytes(r[0]).decode() for r in conn.execute("SELECT body FROM source_lines")]
    assert sum(orjson.loads(b).get("amount_cents") == 777 for b in bodies) == 1
    assert [b for b in bodies if trace in b] == []

"""The purchases an erasure keeps for the books are source lines of their own kind
(``anonymised``): every later load keeps them, under no member, and the books still add up."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import orjson
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.connectors.lines import NOBODY
from membergraph.mongo_load import load_folder
from membergraph.settings import Settings
from tests.conftest import gql
from tests.privacy.people import add_to_folder
from tests.support.mongo import EmulatedClient

ERASE = """mutation($id: ID!) { eraseMember(id: $id, reason: "ticket DPO-2") { state counts } }"""


def _erase_her(folder: Path, store: Path, cache: Path) -> None:
    settings = Settings(data=folder, store=f"sqlite:///{store}", cache_dir=cache)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        found = gql(client, '{ memberByIdentifier(kind: CRM_ID, value: "C-ZQ-77") { id } }')
        erased = gql(client, ERASE, id=found["data"]["memberByIdentifier"]["id"])  # type: ignore[index]
        assert erased["data"]["eraseMember"]["counts"]["kept_for_books"] == 2  # type: ignore[index]


def _revenue(store: Path) -> tuple[int, int]:
    """Completed purchases held in a store's source table: their sum and how many."""
    with sqlite3.connect(store) as db:
        row = db.execute(
            "SELECT sum(json_extract(body, '$.amount_cents')), count(*) FROM source_lines"
            " WHERE source = 'transactions'"
            " AND coalesce(json_extract(body, '$.status'), 'completed') = 'completed'"
        ).fetchone()
    return int(row[0]), int(row[1])


def _books(folder: Path) -> list[dict[str, object]]:
    lines = [orjson.loads(raw) for raw in (folder / "transactions.jsonl").read_bytes().splitlines()]
    return [line for line in lines if str(line["transaction_id"]).startswith("erased-")]


def test_a_load_of_the_erased_folder_keeps_the_books_lines(data_dir: Path, tmp_path: Path) -> None:
    # Given a folder an erasure rewrote: her two purchases kept for the books
    add_to_folder(data_dir)
    _erase_her(data_dir, tmp_path / "first.db", tmp_path / "cache")
    books = _books(data_dir)
    assert len(books) == 2
    assert all(
        b["anonymised"] is True and "email" not in b and "loyalty_id" not in b for b in books
    )
    assert {b["amount_cents"] for b in books} == {4200, 1300}

    # When the folder is loaded into a new SQLite file
    fresh = tmp_path / "fresh.db"
    loaded = CliRunner().invoke(
        app, ["load", "--data", str(data_dir), "--to", f"sqlite:///{fresh}"]
    )
    assert loaded.exit_code == 0, loaded.output
    # Then no line is malformed, and the books lines are there, nobody's
    assert "malformed" not in loaded.output
    with sqlite3.connect(fresh) as db:
        kept = db.execute(
            "SELECT owner, body FROM source_lines WHERE line_id LIKE 'erased-%'"
        ).fetchall()
    assert sorted(orjson.loads(body)["amount_cents"] for _, body in kept) == [1300, 4200]
    assert {owner for owner, _ in kept} == {NOBODY}
    # And the books add up as they did in the store the erasure ran on
    assert _revenue(fresh) == _revenue(tmp_path / "first.db")


def test_a_load_into_mongodb_keeps_the_books_lines(data_dir: Path, tmp_path: Path) -> None:
    add_to_folder(data_dir)
    _erase_her(data_dir, tmp_path / "first.db", tmp_path / "cache")
    client = EmulatedClient()
    counts = asyncio.run(load_folder(data_dir, "mongodb://h/db", "US", client))
    assert counts["transactions"]["malformed"] == 0
    collection = client["db"]["transactions"]
    kept = asyncio.run(collection.find({"anonymised": True}).to_list())
    assert sorted(d["amount_cents"] for d in kept) == [1300, 4200]
    assert {d["_owner"] for d in kept} == {NOBODY}

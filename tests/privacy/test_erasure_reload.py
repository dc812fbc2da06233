"""A copy of the folder loaded again after an erasure (an upstream copy, last night's
export): what the erasure removed stays out, counted as suppressed (user31 f4)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.settings import Settings
from tests.conftest import gql
from tests.support.mongo import EmulatedClient, load

runner = CliRunner()
HER = "erin.zedlander@mail-example.org"
LINES = {
    "crm": [
        {
            "contact_id": "C-100",
            "first_name": "Erin",
            "last_name": "Zedlander",
            "emails": [HER, "zedfamily@mail-example.org"],
            "loyalty_id": "LD-7777-0001",
            "updated_at": "2026-10-01T10:00:00Z",
        },
        {
            "contact_id": "C-102",
            "first_name": "Gus",
            "last_name": "Other",
            "emails": ["gus.other@mail-example.org"],
            "updated_at": "2026-10-01T10:00:00Z",
        },
    ],
    "transactions": [
        {"transaction_id": "T-1", "loyalty_id": "LD77770001", "channel": "store",
         "occurred_at": "2026-09-01T10:00:00Z", "amount_cents": 1200, "store_id": "S1"},
        {"transaction_id": "T-3", "email": "zedfamily@mail-example.org", "channel": "online",
         "occurred_at": "2026-09-03T10:00:00Z", "amount_cents": 5600},
        # A cash sale whose till note names her e-mail: nobody's, kept for the books
        {"transaction_id": "T-5", "channel": "store", "occurred_at": "2026-09-05T10:00:00Z",
         "amount_cents": 999, "store_id": "S1", "till_note": f"receipt mailed to {HER}"},
        {"transaction_id": "T-9", "email": "gus.other@mail-example.org", "channel": "online",
         "occurred_at": "2026-09-06T10:00:00Z", "amount_cents": 100},
    ],
}  # fmt: skip


def _books(db: Path) -> tuple[int, int, list[bytes]]:
    """The transactions' total, how many, and the bodies naming her."""
    with sqlite3.connect(db) as conn:
        rows = [
            b
            for (b,) in conn.execute(
                "SELECT body FROM source_lines WHERE source = ?", ("transactions",)
            )
        ]
    naming = [b for b in rows if HER.encode() in b.lower()]
    return sum(orjson.loads(b)["amount_cents"] for b in rows), len(rows), naming


def test_a_copy_of_the_folder_loaded_after_her_erasure_brings_nothing_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a folder loaded into a store, and a copy of it kept upstream
    folder, upstream, db = tmp_path / "data", tmp_path / "upstream", tmp_path / "s.db"
    folder.mkdir()
    for source, lines in LINES.items():
        (folder / f"{source}.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    shutil.copytree(folder, upstream)
    store = f"sqlite:///{db}"
    loaded = runner.invoke(app, ["load", "--data", str(folder), "--to", store])
    assert loaded.exit_code == 0, loaded.output
    total, count, _ = _books(db)
    settings = Settings(store=store, cache_dir=tmp_path / "cache")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        found = gql(client, '{ m: memberByIdentifier(kind: CRM_ID, value: "C-100") { id } }')
        member = found["data"]["m"]["id"]  # type: ignore[index]
    # When she is erased
    where = ["--store", store]
    erased = runner.invoke(app, ["privacy", "erase", member, "--reason", "DPO-4", *where])
    assert erased.exit_code == 0, erased.output
    assert orjson.loads(erased.stdout)["counts"]["lines_nobodys"] == 1
    after_erasure = _books(db)
    assert after_erasure[:2] == (total, count) and not after_erasure[2]
    # And the copy is loaded again
    again = runner.invoke(app, ["load", "--data", str(upstream), "--to", store])
    assert again.exit_code == 0, again.output
    # Then the cash sale naming her and her purchases stay out: every purchase is counted
    # once (the copies kept for the books, not the originals beside them), none names her
    assert _books(db) == after_erasure
    # And the load says what it left out: lines read = lines taken + left out
    said = caplog.text
    assert "crm: 1 line(s) left out as suppressed" in said, said
    assert "transactions: 3 line(s) left out as suppressed" in said, said
    # And the same cash sale pushed again is refused as suppressed, not counted twice
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        till = [line for line in LINES["transactions"] if line["transaction_id"] == "T-5"]
        [answer] = client.post("/ingest/transactions", json=till).json()["lines"]
        assert answer["status"] == "suppressed", answer
    assert _books(db) == after_erasure


def test_a_copy_loaded_into_mongodb_after_her_erasure_brings_nothing_back(
    tmp_path: Path,
) -> None:
    # Given the folder loaded into MongoDB (emulated), a copy kept upstream, and her erasure
    url, client = "mongodb://mongo.example:27017/membergraph?replicaSet=rs0", EmulatedClient()
    folder, upstream = tmp_path / "data", tmp_path / "upstream"
    folder.mkdir()
    for source, lines in LINES.items():
        (folder / f"{source}.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    shutil.copytree(folder, upstream)
    asyncio.run(load(folder, url, client))
    settings = Settings(store=url, sources=url, cache_dir=tmp_path / "cache")
    with TestClient(create_app(settings, mongo_client=client), base_url="http://127.0.0.1") as c:
        member = gql(c, '{ m: memberByIdentifier(kind: CRM_ID, value: "C-100") { id } }')
        erase = 'mutation($id: ID!) { eraseMember(id: $id, reason: "DPO-4") { state counts } }'
        asked = gql(c, erase, id=member["data"]["m"]["id"])["data"]["eraseMember"]  # type: ignore[index]
        assert asked["state"] == "DONE" and asked["counts"]["lines_nobodys"] == 1, asked

    def sales() -> list[dict[str, Any]]:
        return asyncio.run(client["membergraph"]["transactions"].find({}).to_list())

    before = sorted(d["amount_cents"] for d in sales())
    # When the copy is loaded again
    counts = asyncio.run(load(upstream, url, client))
    # Then the cash sale and her purchases are left out, counted as suppressed
    assert counts["transactions"]["suppressed"] == 3, counts
    assert sorted(d["amount_cents"] for d in sales()) == before
    assert not [d for d in sales() if HER in orjson.dumps(d, default=str).decode().lower()]

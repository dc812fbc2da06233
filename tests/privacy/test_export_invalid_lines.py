"""Her access export lists the lines that fail validation and name her, where they are:
exactly those her erasure then removes (``lines_invalid``; user31 f8)."""

from __future__ import annotations

from pathlib import Path

import orjson
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.settings import Settings
from tests.conftest import gql

runner = CliRunner()
HER = "erin.zedlander@mail-example.org"
CRM = [
    {"contact_id": "C-100", "first_name": "Erin", "last_name": "Zedlander", "emails": [HER],
     "loyalty_id": "LD-7777-0001", "updated_at": "2026-10-01T10:00:00Z"},
    {"contact_id": "C-102", "first_name": "Gus", "last_name": "Other",
     "emails": ["gus.other@mail-example.org"], "updated_at": "2026-10-01T10:00:00Z"},
]  # fmt: skip
# Hers, failing validation: a birth date in the future; an amount with a decimal point
BROKEN_CRM = {"contact_id": "C-103", "first_name": "Erin", "last_name": "Zedlander",
              "birth_date": "2999-01-01", "emails": [HER]}  # fmt: skip
BROKEN_SALE = {"transaction_id": "T-7", "loyalty_id": "LD-7777-0001", "channel": "store",
               "amount_cents": "12.00", "occurred_at": "2026-09-07"}  # fmt: skip
# Someone else's broken line: not hers
OTHERS = {"contact_id": "C-104", "first_name": "Gus", "birth_date": "2999-01-01"}


def _write(path: Path, lines: list[bytes]) -> None:
    path.write_bytes(b"".join(line + b"\n" for line in lines))


def test_the_export_lists_the_broken_lines_the_erasure_removes(tmp_path: Path) -> None:
    # Given a folder whose files hold two broken lines naming her, and one of another's
    folder = tmp_path / "data"
    folder.mkdir()
    _write(
        folder / "crm.jsonl",
        [*map(orjson.dumps, CRM), orjson.dumps(BROKEN_CRM), orjson.dumps(OTHERS)],
    )
    sale = {"transaction_id": "T-1", "loyalty_id": "LD77770001", "channel": "store",
            "occurred_at": "2026-09-01T10:00:00Z", "amount_cents": 1200}  # fmt: skip
    _write(folder / "transactions.jsonl", [orjson.dumps(sale), orjson.dumps(BROKEN_SALE)])
    store = f"sqlite:///{tmp_path / 's.db'}"
    settings = Settings(data=folder, store=store, cache_dir=tmp_path / "cache")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        found = gql(client, '{ m: memberByIdentifier(kind: CRM_ID, value: "C-100") { id } }')
        member = found["data"]["m"]["id"]  # type: ignore[index]
    where = ["--data", str(folder), "--store", store]
    # When her data is exported
    out = tmp_path / "export.json"
    exported = runner.invoke(app, ["privacy", "export", member, "--out", str(out), *where])
    assert exported.exit_code == 0, exported.output
    listed = orjson.loads(out.read_bytes())["lines_outside_records"]["failing_validation"]
    # Then it lists her two broken lines, where they are, as they read
    assert [(x["source"], Path(x["file"]).name, x["line"], x["content"]) for x in listed] == [
        ("crm", "crm.jsonl", 3, BROKEN_CRM),
        ("transactions", "transactions.jsonl", 2, BROKEN_SALE),
    ]
    # And her erasure then removes exactly those
    erased = runner.invoke(app, ["privacy", "erase", member, "--reason", "DPO-8", *where])
    assert erased.exit_code == 0, erased.output
    assert orjson.loads(erased.stdout)["counts"]["lines_invalid"] == len(listed)
    left = (folder / "crm.jsonl").read_bytes() + (folder / "transactions.jsonl").read_bytes()
    assert b"C-103" not in left and b"T-7" not in left and b"C-104" in left

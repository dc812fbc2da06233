"""An erasure rewrites a source file where it is: a data folder's ``crm.jsonl`` that is a
symbolic link to the export it came from (a pipeline's "latest" link) keeps the link, and the
export it points to loses her line; the file keeps its mode and owner (user30, findings 2
and 3)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from membergraph.cli import app

runner = CliRunner()

HER = {
    "contact_id": "S-1",
    "first_name": "Sam",
    "last_name": "Symlink",
    "emails": ["sam.symlink@mail-example.org"],
    "loyalty_id": "LD88880001",
    "updated_at": "2026-01-01T00:00:00Z",
}
OTHER = {
    "contact_id": "S-2",
    "first_name": "Other",
    "last_name": "Person",
    "emails": ["other.person@mail-example.org"],
    "updated_at": "2026-01-01T00:00:00Z",
}


@pytest.fixture
def umask_022() -> Iterator[None]:
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def _erase_her(tmp_path: Path, data: Path) -> dict[str, int]:
    store = f"sqlite:///{tmp_path / 'store.db'}"
    loaded = runner.invoke(app, ["load", "--data", str(data), "--to", store])
    assert loaded.exit_code == 0, loaded.output
    with sqlite3.connect(tmp_path / "store.db") as db:
        [(member,)] = db.execute("SELECT member_id FROM records WHERE key = 'S-1'")
    erased = runner.invoke(
        app,
        ["privacy", "erase", member, "--reason", "DPO-8", "--store", store, "--data", str(data)],
    )
    assert erased.exit_code == 0, erased.output
    counts: dict[str, int] = json.loads(erased.output)["counts"]
    return counts


def test_an_erasure_rewrites_the_file_a_source_link_points_to_and_keeps_the_link(
    tmp_path: Path, umask_022: None
) -> None:
    # Given a data folder whose crm.jsonl links to an export, readable by its owner and group
    exports, data = tmp_path / "exports", tmp_path / "data"
    exports.mkdir()
    data.mkdir()
    export = exports / "crm-2026-12-07.jsonl"
    export.write_text(f"{json.dumps(HER)}\n{json.dumps(OTHER)}\n")
    export.chmod(0o640)
    (data / "crm.jsonl").symlink_to(Path("..") / "exports" / export.name)

    # When she is erased
    counts = _erase_her(tmp_path, data)

    # Then the link is still a link to the export, the export lost her line and kept the
    # other person's, and its mode; nothing was left beside it
    assert counts["lines_folder"] == 1
    assert (data / "crm.jsonl").is_symlink()
    assert (data / "crm.jsonl").resolve() == export.resolve()
    assert export.read_text() == f"{json.dumps(OTHER)}\n"
    assert stat.S_IMODE(export.stat().st_mode) == 0o640
    assert sorted(p.name for p in exports.iterdir()) == [export.name]


@pytest.mark.parametrize(
    "mode",
    [
        pytest.param(0o600, id="0600"),
        pytest.param(0o644, id="0644"),
        pytest.param(0o660, id="0660"),
    ],
)
def test_an_erasure_keeps_the_mode_of_the_file_it_rewrites(
    tmp_path: Path, umask_022: None, mode: int
) -> None:
    # Given a source file with its operator's mode
    data = tmp_path / "data"
    data.mkdir()
    crm = data / "crm.jsonl"
    crm.write_text(f"{json.dumps(HER)}\n{json.dumps(OTHER)}\n")
    crm.chmod(mode)

    # When she is erased
    _erase_her(tmp_path, data)

    # Then the file was rewritten with the mode it had: never wider (0600 stays 0600 under a
    # umask of 022), never narrower
    assert json.dumps(HER) not in crm.read_text()
    assert stat.S_IMODE(crm.stat().st_mode) == mode


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user takes root")
def test_an_erasure_keeps_the_owner_of_the_file_it_rewrites(tmp_path: Path) -> None:
    # Given a source file owned by another user and group (a pipeline's account)
    data = tmp_path / "data"
    data.mkdir()
    crm = data / "crm.jsonl"
    crm.write_text(f"{json.dumps(HER)}\n{json.dumps(OTHER)}\n")
    os.chown(crm, 4321, 8765)

    # When root erases her
    _erase_her(tmp_path, data)

    # Then the rewritten file still belongs to that user and group
    assert json.dumps(HER) not in crm.read_text()
    assert (crm.stat().st_uid, crm.stat().st_gid) == (4321, 8765)


def test_a_purchase_kept_for_the_books_in_the_folder_is_counted(tmp_path: Path) -> None:
    # Given a data folder holding her contact and a purchase on her card
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_text(f"{json.dumps(HER)}\n{json.dumps(OTHER)}\n")
    purchase = {
        "transaction_id": "T-1",
        "loyalty_id": HER["loyalty_id"],
        "channel": "store",
        "store_id": "S01",
        "occurred_at": "2026-05-01T12:00:00Z",
        "amount_cents": 1250,
        "status": "completed",
    }
    (data / "transactions.jsonl").write_text(f"{json.dumps(purchase)}\n")

    # When she is erased
    counts = _erase_her(tmp_path, data)

    # Then the folder's purchase went, a copy without her card stayed for the books, and the
    # answer counts it beside the store's own copies
    assert counts["lines_folder"] == 2
    assert counts["kept_for_books_folder"] == 1
    [kept] = [json.loads(x) for x in (data / "transactions.jsonl").read_text().splitlines()]
    assert kept["amount_cents"] == 1250 and kept["anonymised"] is True
    assert "loyalty_id" not in kept and kept["transaction_id"] != "T-1"

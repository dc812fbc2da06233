"""Files the gateway writes with personal data in them are its owner's only (0600), whatever
the umask: the SQLite store (and the -wal and -shm files SQLite gives the store's mode), a
backup, `export --pii`, `privacy export --out`, `resolve --out`, a source file a push starts.
A file already there keeps the mode its operator gave it (user30, finding 3)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from membergraph.cli import app
from membergraph.connectors.files import FileConnector
from membergraph.connectors.models import CrmContact, SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.identity.load import ownership

runner = CliRunner()

CONTACT = {
    "contact_id": "M-1",
    "first_name": "Mona",
    "last_name": "Mode",
    "emails": ["mona.mode@mail-example.org"],
    "phones": ["+1 415 555 0177"],
    "updated_at": "2026-01-01T00:00:00Z",
}


@pytest.fixture(params=[0o022, 0o002, 0o000], ids=["umask-022", "umask-002", "umask-000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    before = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(before)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _ok(args: list[str]) -> str:
    said = runner.invoke(app, args)
    assert said.exit_code == 0, said.output
    return said.output


def test_the_store_and_every_copy_of_it_are_the_owners_only(tmp_path: Path, umask: int) -> None:
    # Given a folder loaded into a new store
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_text(json.dumps(CONTACT) + "\n")
    db = tmp_path / "store.db"
    store = f"sqlite:///{db}"
    _ok(["load", "--data", str(data), "--to", store])

    # When it is open (its -wal and -shm files there), backed up, exported with PII, her
    # record exported, its lines resolved
    with contextlib.closing(sqlite3.connect(db)) as held:
        held.execute("SELECT count(*) FROM records").fetchall()
        wal, shm = Path(f"{db}-wal"), Path(f"{db}-shm")
        modes = {"wal": _mode(wal), "shm": _mode(shm)}
    _ok(["backup", "--out", str(tmp_path / "store.bak"), "--store", store])
    _ok(["export", "--pii", "--out", str(tmp_path / "members.csv"), "--store", store])
    with sqlite3.connect(db) as read:
        [(member,)] = read.execute("SELECT member_id FROM records WHERE key = 'M-1'")
    out = tmp_path / "her.json"
    _ok(["privacy", "export", member, "--out", str(out), "--store", store])
    answers = tmp_path / "resolved.jsonl"
    resolved = f"sqlite:///{tmp_path / 'resolved.db'}"
    _ok(["resolve", "--data", str(data), "--out", str(answers), "--store", resolved])

    # Then each file is readable and writable by its owner only
    modes |= {p.name: _mode(p) for p in (db, tmp_path / "store.bak", tmp_path / "members.csv")}
    modes |= {out.name: _mode(out), answers.name: _mode(answers)}
    assert modes == dict.fromkeys(modes, 0o600)
    assert "mona.mode@mail-example.org" in (tmp_path / "members.csv").read_text()


def test_a_file_already_there_keeps_its_mode(tmp_path: Path, umask: int) -> None:
    # Given a store its operator opened to a group, and an export file he made before
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_text(json.dumps(CONTACT) + "\n")
    db = tmp_path / "store.db"
    store = f"sqlite:///{db}"
    _ok(["load", "--data", str(data), "--to", store])
    db.chmod(0o640)
    _ok(["backup", "--out", str(tmp_path / "store.bak"), "--store", store])

    # When the store is loaded again and restored from its backup
    _ok(["load", "--data", str(data), "--to", store])
    _ok(["restore", "--from", str(tmp_path / "store.bak"), "--store", store])

    # Then the store keeps the mode he gave it; its backup is the owner's only
    assert _mode(db) == 0o640
    assert _mode(tmp_path / "store.bak") == 0o600


def test_a_source_file_a_push_starts_is_the_owners_only(tmp_path: Path, umask: int) -> None:
    # Given a file source whose file is not there yet
    spec = SOURCES[SourceName.CRM]
    source = FileConnector(spec, tmp_path, ownership(SourceName.CRM))
    source.load()

    # When a contact is pushed to it
    asyncio.run(source.append([CrmContact.model_validate(CONTACT)]))

    # Then the file it started holds the contact and is its owner's only
    assert "mona.mode@mail-example.org" in (tmp_path / spec.file_name).read_text()
    assert _mode(tmp_path / spec.file_name) == 0o600

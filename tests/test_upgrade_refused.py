"""The upgrade path from an older release's store: what the commands that refuse it leave,
and what may run while it is brought up (docs/upgrading.md)."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from membergraph.cli import app
from membergraph.identity.store.format import STORE_FORMAT
from membergraph.settings import Settings
from tests.test_upgrade import _db, _loaded, _set_format

# What the format-6 release (852f115) did not have: the source table's counts and their
# triggers, and the suppressions' index by kind (sqlite_master of a store it made).
_ADDED_SINCE_6 = (
    "DROP TRIGGER source_lines_in",
    "DROP TRIGGER source_lines_out",
    "DROP TRIGGER source_lines_owned",
    "DROP TABLE source_counts",
    "DROP INDEX suppressions_kind",
)


def as_format_6(store: str) -> None:
    """The store as the format-6 release left it, checkpointed: one file, no log beside."""
    with sqlite3.connect(_db(store)) as db:
        for statement in _ADDED_SINCE_6:
            db.execute(statement)
    _set_format(store, "6")
    with sqlite3.connect(_db(store)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def _schema(store: str) -> list[tuple[str, str, str | None]]:
    uri = f"{_db(store).resolve().as_uri()}?mode=ro"
    with sqlite3.connect(uri, uri=True) as db:
        return list(db.execute("SELECT type, name, sql FROM sqlite_master ORDER BY 1, 2"))


def _digest(store: str) -> str:
    return hashlib.sha256(_db(store).read_bytes()).hexdigest()


def test_each_command_that_refuses_an_older_store_writes_nothing_to_it(
    settings: Settings, tmp_path: Path
) -> None:
    # Given a store the format-6 release made (without the tables and index added since)
    store = _loaded(settings)
    as_format_6(store)
    schema, digest = _schema(store), _digest(store)
    data = str(settings.data)
    for command in (
        ["load", "--data", data, "--to", store],
        ["resolve", "--data", data, "--out", str(tmp_path / "r.jsonl"), "--store", store],
        ["export", "--store", store, "--out", str(tmp_path / "e.csv")],
        ["export", "--pii", "--store", store, "--out", str(tmp_path / "p.csv")],
        ["privacy", "export", "--store", store, "m_someone"],
        ["privacy", "erase", "m_someone", "--reason", "T-1", "--store", store],
    ):
        # When each command is run over it, then it is refused in the start's one line
        said = CliRunner().invoke(app, command)
        assert said.exit_code == 1, (command, said.output)
        assert f"store format 6 is older than this release's format {STORE_FORMAT}" in (
            said.output
        ), command
        # And nothing was added to it, not a table, trigger or index, nor a byte changed
        assert _schema(store) == schema, command
        assert _digest(store) == digest, command

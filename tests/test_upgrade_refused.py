"""The upgrade path from an older release's store: what the commands that refuse it leave,
and what may run while it is brought up (docs/upgrading.md)."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from membergraph import resolve_cli
from membergraph.cli import app
from membergraph.identity.store.format import STORE_FORMAT
from membergraph.settings import Settings
from tests.test_upgrade import _db, _loaded, _meta, _set_format

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


# An older release's gateway over the store, as the store sees it: a process holding a SQLite
# connection open in WAL mode (the format-6 release's aiosqlite connection does, from its
# start to its end), which has read the store and may write into it at any moment.
_OLD_GATEWAY = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("SELECT count(*) FROM records").fetchone()
print("serving", flush=True)
sys.stdin.read()  # until the test closes its stdin
"""


@contextlib.contextmanager
def _gateway_over(store: str) -> Iterator[int]:
    """A process holding the store open as a gateway does, its pid; stopped after."""
    with subprocess.Popen(
        [sys.executable, "-c", _OLD_GATEWAY, str(_db(store))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as gateway:
        assert gateway.stdin is not None and gateway.stdout is not None
        try:
            assert gateway.stdout.readline() == "serving\n"
            yield gateway.pid
        finally:
            gateway.stdin.close()
            gateway.wait(timeout=30)


def test_reresolve_refuses_an_older_store_an_older_gateway_serves(settings: Settings) -> None:
    # Given a format-6 store an older release's gateway holds open
    store = _loaded(settings)
    as_format_6(store)
    digest = _digest(store)
    with _gateway_over(store) as pid:
        # When it is brought up, then it is refused, naming the process and what to do
        said = CliRunner().invoke(app, ["reresolve", "--store", store])
        assert said.exit_code == 1, said.output
        assert "store format 6 is older" in said.output
        assert f"pid {pid} (" in said.output
        assert "Stop every gateway, worker and command over it" in said.output
        # And the store is left as it was: format 6, not a byte written
        assert _meta(store)["format"] == "6"
        assert _digest(store) == digest
        # And the dry run may still run meanwhile (it writes no member)
        dry = CliRunner().invoke(app, ["reresolve", "--store", store, "--dry-run"])
        assert dry.exit_code == 0, dry.output
    # When the gateway is stopped, then it is brought up
    done = CliRunner().invoke(app, ["reresolve", "--store", store])
    assert done.exit_code == 0, done.output
    assert "store format 6 -> " in done.output
    assert _meta(store)["format"] == str(STORE_FORMAT)


def test_reresolve_of_a_current_store_runs_beside_its_gateways(settings: Settings) -> None:
    # Given a store of this release's format a gateway holds open (other rules: served)
    store = _loaded(settings)
    with _gateway_over(store):
        # When it is resolved again, then it runs as the docs say (gateways follow the feed)
        done = CliRunner().invoke(app, ["reresolve", "--store", store])
        assert done.exit_code == 0, done.output


def test_reresolve_names_a_gateway_that_opened_the_store_while_it_ran(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a format-6 store no process holds
    store = _loaded(settings)
    as_format_6(store)
    real = resolve_cli.bring_up
    with contextlib.ExitStack() as gateways:
        pids: list[int] = []

        async def meanwhile(*args: Any, **kwargs: Any) -> Any:
            # An older release's gateway started once the run has begun (past its check)
            pids.append(gateways.enter_context(_gateway_over(store)))
            return await real(*args, **kwargs)

        monkeypatch.setattr(resolve_cli, "bring_up", meanwhile)
        # When it is brought up, then it is, and the run names the process that opened it
        done = CliRunner().invoke(app, ["reresolve", "--store", store])
        assert done.exit_code == 0, done.output
        assert _meta(store)["format"] == str(STORE_FORMAT)
        said = done.output.replace("\n", " ")
        assert "warning: processes opened the store while it was brought up" in said
        assert f"pid {pids[0]} (" in said and "stop it at once" in said

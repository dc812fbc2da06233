"""A ``membergraph load`` killed (SIGKILL) part-way through a store's first load: a gateway
over the store is not ready and takes no push or change (the load, run again, resolves the
store without them), reads answer; and the load run again never puts a line's older version
over the one the store holds."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.connectors.models import CrmContact, SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.connectors.sqlite import SqliteLines
from membergraph.connectors.sqlite_source import SqliteSource
from membergraph.demo import write_demo_data
from membergraph.identity.load import ownership
from membergraph.settings import Settings
from tests.support.http import free_port
from tests.support.serve import until

pytestmark = pytest.mark.sqlite


def _held(store: Path, sql: str) -> Any:
    """One value read from the store (read only: the load may be writing it)."""
    try:
        with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=5)) as db:
            row = db.execute(sql).fetchone()
    except sqlite3.OperationalError:  # (not made yet)
        return None
    return None if row is None else row[0]


def _load(data: Path, store: Path) -> list[str]:
    return [sys.executable, "-m", "membergraph.cli", "load", "--data", str(data), "--to",
            f"sqlite:///{store}"]  # fmt: skip


@pytest.fixture(scope="module")
def killed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A folder, and a store whose first load of it was killed once it had written lines."""
    base = tmp_path_factory.mktemp("killed")
    data, store = base / "data", base / "s.db"
    write_demo_data(data, 3000)
    (data / "truth.jsonl").unlink()
    process = subprocess.Popen(
        _load(data, store), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        writing = until(
            lambda: (
                process.poll() is not None
                or (_held(store, "SELECT count(*) FROM source_lines") or 0) > 0
            ),
            120,
        )
        assert writing and process.poll() is None, "the load ended before it was killed"
        process.send_signal(signal.SIGKILL)
        process.wait(60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    # (its resolution is one transaction: killed before its end, it left no member)
    assert _held(store, "SELECT value FROM source_meta WHERE key = 'first_load'") is not None
    assert _held(store, "SELECT count(*) FROM members") == 0
    return data, store


@pytest.fixture
def cut(killed: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the killed load's folder and store, for one test."""
    data, store = killed
    copy = tmp_path / "s.db"
    for suffix in ("", "-wal"):
        if Path(f"{store}{suffix}").exists():
            shutil.copyfile(f"{store}{suffix}", f"{copy}{suffix}")
    return data, copy


def _newer(data: Path) -> dict[str, Any]:
    """A newer version of the folder's first contact than the folder's."""
    contact = orjson.loads((data / "crm.jsonl").read_bytes().splitlines()[0])
    return {**contact, "first_name": "Pushednewer", "updated_at": "2026-12-01T00:00:00Z"}


def test_a_gateway_over_a_killed_first_load_is_not_ready_and_takes_no_push_or_change(
    cut: tuple[Path, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a store whose first load was killed part-way, and a newer version of a contact
    data, store = cut
    newer = _newer(data)
    # When a gateway starts over it, naming no folder
    settings = Settings(store=f"sqlite:///{store}", cache_dir=tmp_path / "cache")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        ready = http.get("/readyz")
        pushed = http.post("/ingest/crm", content=orjson.dumps(newer))
        link = 'mutation { linkRecords(a: {source: CRM, key: "C-1"},'
        link += ' b: {source: CRM, key: "C-2"}, reason: "x") { id } }'
        changed = http.post("/graphql", json={"query": link})
        read = http.post("/graphql", json={"query": "{ members(first: 1) { totalCount } }"})
    # Then it is not ready, saying the load is unfinished and how to finish it
    assert ready.status_code == 503
    said = ready.json()["store"]["error"]
    assert "first load did not finish" in said and "run that load again" in said, said
    # and it refuses the push (nothing taken) and the change, each with a code
    assert pushed.status_code == 503, pushed.text
    assert pushed.json()["code"] == "STORE_UNAVAILABLE"
    assert "nothing was taken" in pushed.json()["error"]
    errors = changed.json()["errors"]
    assert [e["extensions"]["code"] for e in errors] == ["STORE_UNAVAILABLE"], errors
    assert "first load did not finish" in errors[0]["message"]
    # while reads answer, from the lines it holds
    assert "errors" not in read.json(), read.json()
    # its log names the folder and the command that finishes it, and no demo was written
    assert f"membergraph load --data {data.resolve()} --to sqlite:///{store}" in caplog.text
    assert not (tmp_path / "cache").exists()


async def _stored_beside(store: Path, line: dict[str, Any]) -> str:
    """``line`` stored as a push stores it (a process over the store while the load was
    cut: one started before it); its verdict."""
    lines = SqliteLines(store)
    await lines.open()
    try:
        crm = SqliteSource(SOURCES[SourceName.CRM], lines, ownership(SourceName.CRM))
        (taken,) = await crm.append([CrmContact.model_validate(line)])
    finally:
        await lines.aclose()
    return str(taken)


def test_the_load_run_again_keeps_a_newer_version_the_store_holds(
    cut: tuple[Path, Path], tmp_path: Path
) -> None:
    # Given a killed first load, and a newer version of one of its contacts stored since
    data, store = cut
    newer = _newer(data)
    assert asyncio.run(_stored_beside(store, newer)) in ("created", "updated")
    # When the load is run again, as the gateway's log says
    again = subprocess.run(_load(data, store), capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    # Then the store holds the newer version, not the folder's older one
    body = _held(store, f"SELECT body FROM source_lines WHERE line_id = '{newer['contact_id']}'")
    assert orjson.loads(body)["first_name"] == "Pushednewer"
    # and a gateway started over it now is ready and finds the contact by it
    settings = Settings(store=f"sqlite:///{store}", cache_dir=tmp_path / "cache")
    query = '{ memberByIdentifier(kind: CRM_ID, value: "%s") { profile { firstName } } }'
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        assert http.get("/readyz").status_code == 200
        found = http.post("/graphql", json={"query": query % newer["contact_id"]}).json()
    assert found["data"]["memberByIdentifier"]["profile"]["firstName"] == "Pushednewer", found


def test_serve_over_a_killed_first_load_says_it_is_not_ready(
    cut: tuple[Path, Path], tmp_path: Path
) -> None:
    # Given a store whose first load was killed part-way
    _, store = cut
    log = tmp_path / "serve.log"
    command = [sys.executable, "-m", "membergraph.cli", "serve", "--no-open"]
    command += ["--port", str(free_port()), "--store", f"sqlite:///{store}"]
    env = {**os.environ, "MEMBERGRAPH_CACHE_DIR": str(tmp_path / "cache")}
    # When `serve` starts over it
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        until(lambda: "GraphQL" in log.read_text() or process.poll() is not None, 120)
    finally:
        process.terminate()
        process.wait(30)
    # Then its banner says it is not ready, and why, rather than "ready in"
    said = " ".join(log.read_text().split())
    assert "(ready in" not in said, said
    assert "not ready: the store's first load did not finish" in said, said

"""``membergraph serve`` (re)started while its store's disk is full.

The disk is full under a file size limit (``ulimit -f``), set in the child process only: a
write past it fails as on a full disk (CPython ignores the ``SIGXFSZ`` it raises), and
SQLite cannot make the ``-shm`` file a store closed cleanly no longer has.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.connectors.sqlite import SqliteLines
from membergraph.demo import write_demo_data
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.settings import Settings
from tests.support.child import CHILD_ENV
from tests.support.http import free_port

pytestmark = [pytest.mark.sqlite, pytest.mark.skipif(os.name != "posix", reason="ulimit -f")]


def _limited(size: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def _run(
    args: list[str], cwd: Path, room: int | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    """A child Python run with ``args`` in ``cwd``, its files limited to ``room`` bytes."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=CHILD_ENV,
        cwd=cwd,
        preexec_fn=None if room is None else lambda: _limited(room),
    )


def _loaded(tmp_path: Path) -> Path:
    data, store = tmp_path / "data", tmp_path / "store.db"
    write_demo_data(data, 20)
    load = ["-m", "membergraph.cli", "load", "--data", str(data), "--to", f"sqlite:///{store}"]
    loaded = _run(load, tmp_path)
    assert loaded.returncode == 0, loaded.stderr
    assert not Path(f"{store}-shm").exists()  # (closed cleanly: SQLite removed it)
    return store


def test_a_store_that_cannot_even_be_opened_stops_serve_in_one_line_naming_why(
    tmp_path: Path,
) -> None:
    # Given a store closed cleanly, on a disk with no room for its -shm file (32 KiB)
    store = _loaded(tmp_path)
    command = ["-m", "membergraph.cli", "serve", "--no-open"]
    command += ["--port", str(free_port()), "--store", f"sqlite:///{store}"]
    # When the gateway is started over it
    ran = _run(command, tmp_path, room=16 * 1024)
    # Then it stops at once (exit 1), saying which store, why, and what to do; no trace
    said = ran.stdout + ran.stderr
    assert ran.returncode == 1, said
    assert f"SQLite store {store} cannot be opened" in said
    assert "file size limit (ulimit -f) of 16384 bytes is reached" in said
    assert "could not make its -shm file" in said
    assert "Traceback" not in said


_CHILD = r"""
import json, os, resource, sys, time
from pathlib import Path
from starlette.testclient import TestClient
from membergraph.app import create_app
from membergraph.connectors.sqlite import SqliteLines
from membergraph.settings import Settings

path, data, cache = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
query = {"query": '{ memberByIdentifier(kind: LOYALTY_ID, value: "LD-FULL-1") { id } }'}
card = {"query": '{ memberByIdentifier(kind: CRM_ID, value: "%s") { id } }'}

def contacts(n):
    return "\n".join(json.dumps({
        "contact_id": f"C-FULL-{i}", "first_name": "Mo", "last_name": f"Ved{i}",
        "emails": [f"mo.{i}@example.org"], "notes": "x" * 2000,
        "updated_at": "2026-11-01T00:00:00Z"}) for i in range(n))

said = {}
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, hard))  # the disk is full (-shm made)
settings = Settings(store=f"sqlite:///{path}", data=data, cache_dir=cache)
with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
    ready = http.get("/readyz")
    said["ready_while_full"] = [ready.status_code, ready.json()["store"]]
    first = json.loads((data / "crm.jsonl").read_text().splitlines()[0])["contact_id"]
    said["read_while_full"] = http.post("/graphql", json={"query": card["query"] % first}).json()
    said["new_card_while_full"] = http.post("/graphql", json=query).json()
    pushed = http.post("/ingest/crm", content=contacts(400))
    said["push_while_full"] = [pushed.status_code, pushed.json().get("code")]
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # room is made
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = http.post("/graphql", json=query).json()["data"]["memberByIdentifier"]
        if found is not None and http.get("/readyz").status_code == 200:
            break
        time.sleep(0.5)
    said["new_card_with_room"] = http.post("/graphql", json=query).json()
    said["ready_with_room"] = http.get("/readyz").status_code
print(json.dumps(said))
"""


def test_a_gateway_started_on_a_full_disk_serves_reads_and_loads_the_folder_once_room_is_made(
    tmp_path: Path,
) -> None:
    # Given a store loaded from a folder, the folder since changed (3,000 new purchases
    # on a new card), and a disk too full to take them
    store = _loaded(tmp_path)
    line = {
        "loyalty_id": "LD-FULL-1", "store_id": "S001", "channel": "store", "currency": "USD",
        "occurred_at": "2026-11-20T10:00:00Z", "amount_cents": 500, "points_earned": 5,
        "points_redeemed": 0, "status": "completed", "items": [],
    }  # fmt: skip
    new = [json.dumps({"transaction_id": f"T-FULL-{i}", **line}) for i in range(3000)]
    with (tmp_path / "data" / "transactions.jsonl").open("a") as file:
        file.write("\n".join(new) + "\n")
    # When the gateway starts over the folder (a restart: the load is its start's work)
    child = ["-c", _CHILD, str(store), str(tmp_path / "data"), str(tmp_path / "c")]
    ran = _run(child, tmp_path, timeout=600)
    # Then it starts, and serves the store as it is while it cannot write
    assert ran.returncode == 0, ran.stderr[-3000:]
    said = json.loads(ran.stdout.strip().splitlines()[-1])
    assert said["ready_while_full"][0] == 503, ran.stderr[-4000:]
    assert "cannot be written" in said["ready_while_full"][1]["error"]
    assert said["read_while_full"]["data"]["memberByIdentifier"] is not None
    assert said["new_card_while_full"]["data"]["memberByIdentifier"] is None
    assert said["push_while_full"] == [507, "STORE_FULL"]
    # and once room is made, it loads the changed folder and is ready, unrestarted
    assert said["new_card_with_room"]["data"]["memberByIdentifier"] is not None
    assert said["ready_with_room"] == 200
    assert "is loaded once room is made" in ran.stderr
    with closing(sqlite3.connect(store)) as db:
        held = db.execute("SELECT count(*) FROM source_lines WHERE line_id LIKE 'T-FULL-%'")
        assert held.fetchone()[0] == 3000


async def _made(store: Path) -> None:
    async with SqliteStore(store):
        pass
    lines = SqliteLines(store)
    await lines.open()
    await lines.aclose()


def test_a_load_a_full_disk_cut_is_never_finished_with_the_demo_people(tmp_path: Path) -> None:
    # Given `membergraph load` of someone's folder into a new store, cut part-way by a
    # full disk (room left for the store's tables, not for the folder's lines)
    data, store = tmp_path / "data", tmp_path / "store.db"
    write_demo_data(data, 20, seed=11)
    asyncio.run(_made(store))
    room = store.stat().st_size + 64 * 1024
    load = ["-m", "membergraph.cli", "load", "--data", str(data), "--to", f"sqlite:///{store}"]
    cut = _run(load, tmp_path, room=room)
    assert cut.returncode == 1, cut.stderr
    said = " ".join(cut.stderr.split())  # (rich wraps lines)
    assert f"the file size limit (ulimit -f) of {room} bytes is reached: raise it" in said
    assert "once there is room, run the same load again: it finishes this one" in said
    with closing(sqlite3.connect(store)) as db:
        held = db.execute("SELECT count(*) FROM source_lines").fetchone()[0]
        assert db.execute("SELECT 1 FROM source_meta WHERE key = 'first_load'").fetchall()
    # When a gateway is started over the store alone (no --data), room made again
    settings = Settings(store=f"sqlite:///{store}", cache_dir=tmp_path / "c", demo_members=20)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        ready = http.get("/readyz")
    # Then it serves the store as it is: the demo's made-up people are not mixed into it,
    # and it is not ready: never over a store its first load has not filled
    assert ready.status_code == 503
    assert "run that load again" in ready.json()["store"]["error"]
    with closing(sqlite3.connect(store)) as db:
        assert db.execute("SELECT count(*) FROM source_lines").fetchone()[0] == held
        assert not db.execute("SELECT 1 FROM source_meta WHERE key = 'folder'").fetchall()


def test_a_load_a_full_disk_cut_finishes_when_run_again_with_room(tmp_path: Path) -> None:
    # Given a load cut part-way by a full disk
    data, store = tmp_path / "data", tmp_path / "store.db"
    write_demo_data(data, 20, seed=11)
    asyncio.run(_made(store))
    load = ["-m", "membergraph.cli", "load", "--data", str(data), "--to", f"sqlite:///{store}"]
    assert _run(load, tmp_path, room=store.stat().st_size + 64 * 1024).returncode == 1
    # When it is run again with room, as its message says
    again = _run(load, tmp_path)
    # Then the store holds what one uncut load makes
    whole = tmp_path / "whole.db"
    uncut = _run([*load[:-1], f"sqlite:///{whole}"], tmp_path)
    assert again.returncode == 0 and uncut.returncode == 0, again.stderr + uncut.stderr
    assert _said_members(again.stderr) == _said_members(uncut.stderr) > 0
    held = []
    for db in (store, whole):
        with closing(sqlite3.connect(db)) as opened:
            held.append(opened.execute("SELECT count(*) FROM source_lines").fetchone()[0])
    assert held[0] == held[1] > 0


def _said_members(said: str) -> int:
    return int(" ".join(said.split()).split(": ")[-1].split(" members")[0])


_FIRST = r"""
import asyncio, json, logging, resource, sys, time
from pathlib import Path
from starlette.testclient import TestClient
from membergraph.app import create_app
from membergraph.settings import Settings

path, data, cache, room = sys.argv[1], Path(sys.argv[2]), sys.argv[3], int(sys.argv[4])
stats = {"query": "{ memberStats { members } }"}
line = json.dumps({"contact_id": "C-PUSHED-1", "first_name": "Pu", "last_name": "Shed",
                   "emails": ["pu.shed@example.org"], "updated_at": "2026-11-01T00:00:00Z"})
pushed = {"query": '{ memberByIdentifier(kind: CRM_ID, value: "C-PUSHED-1") { id } }'}
heard = []
class Heard(logging.Handler):
    def emit(self, record):
        heard.append(record.getMessage())
logging.getLogger("membergraph").addHandler(Heard())
said = {}
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
settings = Settings(store=f"sqlite:///{path}", data=data, cache_dir=cache)
resource.setrlimit(resource.RLIMIT_FSIZE, (room, hard))  # the disk fills during the load
with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
    said["ready_while_full"] = http.get("/readyz").status_code
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # room is made
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any("room was made" in m for m in heard):
        time.sleep(0.2)
    ready = http.get("/readyz")
    said["ready_with_room"] = [ready.status_code, ready.json()["store"]]
    push = http.post("/ingest/crm", content=line)
    said["push_with_room"] = [push.status_code, push.json()]
said["heard"] = heard
with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:  # restarted
    said["ready_restarted"] = http.get("/readyz").status_code
    said["members_restarted"] = http.post("/graphql", json=stats).json()
    push = http.post("/ingest/crm", content=line)
    said["push_restarted"] = push.status_code
    said["pushed_restarted"] = http.post("/graphql", json=pushed).json()
print(json.dumps(said))
"""


def test_a_first_load_a_full_disk_cut_is_not_ready_until_the_restart_that_finishes_it(
    tmp_path: Path,
) -> None:
    # Given a new store, and a folder the disk fills up with on the first start
    data, store = tmp_path / "data", tmp_path / "store.db"
    write_demo_data(data, 20, seed=11)
    asyncio.run(_made(store))
    room = store.stat().st_size + 64 * 1024
    # When the gateway's first start is cut by the full disk, then room is made while it runs
    child = ["-c", _FIRST, str(store), str(data), str(tmp_path / "c"), str(room)]
    ran = _run(child, tmp_path, timeout=600)
    assert ran.returncode == 0, ran.stderr[-3000:]
    said = json.loads(ran.stdout.strip().splitlines()[-1])
    # Then it is never said ready over the store its first load did not fill: it names the
    # restart, in the log from the start and on /readyz once room is made
    assert said["ready_while_full"] == 503
    assert said["ready_with_room"][0] == 503
    assert "restart the gateway" in said["ready_with_room"][1]["error"]
    heard = " ".join(said["heard"])
    assert f"the first load of {data} is finished by a restart of the gateway" in heard
    assert "the work its start left is done" not in heard
    assert f"the first load of {data} is finished by the next start only" in heard
    # and it takes no push its first load would leave out: nothing taken, said why
    assert said["push_with_room"][0] == 503
    assert "restart the gateway" in said["push_with_room"][1]["error"]
    # and the restart finishes the load: ready, every member, pushes taken again
    assert said["ready_restarted"] == 200
    assert said["members_restarted"]["data"]["memberStats"][0]["members"] > 0
    assert said["push_restarted"] == 200
    assert said["pushed_restarted"]["data"]["memberByIdentifier"] is not None

"""A store whose disk is full: pushes are refused 507 ``STORE_FULL`` (make room, then send
again), no acknowledged line is lost, and ``/readyz`` says the gateway cannot write until
room is made, then says it is ready again without a restart.

The disk fills in a child process, under a file size limit (``ulimit -f``: SQLite's write
past it fails as on a full disk; CPython ignores the ``SIGXFSZ`` it raises), lifted again
inside the child to make room.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.child import run_child

pytestmark = [pytest.mark.sqlite, pytest.mark.skipif(os.name != "posix", reason="ulimit -f")]

_CHILD = r"""
import json, os, resource, sys
import orjson
from starlette.testclient import TestClient
from membergraph.app import create_app
from membergraph.settings import Settings

path, cache = sys.argv[1], sys.argv[2]

def contacts(batch):
    return b"\n".join(
        orjson.dumps({
            "contact_id": f"C-{batch}-{i}", "first_name": "Mo", "last_name": f"Ved{i}",
            "emails": [f"mo.{batch}.{i}@example.org"], "notes": "x" * 2000,
            "updated_at": "2026-11-01T00:00:00Z",
        })
        for i in range(40)
    )

said = {"acked": []}
settings = Settings(store=f"sqlite:///{path}", cache_dir=cache, demo_members=20)
with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
    held = max(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (held + 2 * 1024 * 1024, hard))  # the disk fills
    for batch in range(200):
        pushed = http.post("/ingest/crm", content=contacts(batch))
        if pushed.status_code != 200:
            said["refused"] = [pushed.status_code, pushed.json().get("code"), batch]
            break
        said["acked"] += [l["id"] for l in pushed.json()["lines"] if l["status"] == "created"]
    said["ready_while_full"] = http.get("/readyz").status_code
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # room is made
    said["ready_with_room"] = http.get("/readyz").status_code
    again = http.post("/ingest/crm", content=contacts(said["refused"][2]))
    said["sent_again"] = again.status_code
print(json.dumps(said))
"""


def test_a_full_disk_refuses_pushes_507_and_the_gateway_is_not_ready_until_room_is_made(
    tmp_path: Path,
) -> None:
    # Given a gateway over a store whose disk fills while lines are pushed
    path = tmp_path / "store.db"
    said = run_child(_CHILD, tmp_path, str(path), str(tmp_path / "cache"))
    # Then the push the disk cannot take is refused as such: make room, then send again
    assert said["refused"][:2] == [507, "STORE_FULL"]
    assert said["acked"], "some pushes were taken before the disk filled"
    # and the gateway is not ready while it cannot write, ready once it can, unrestarted
    assert said["ready_while_full"] == 503
    assert said["ready_with_room"] == 200
    assert said["sent_again"] == 200
    # and every acknowledged line is in the store, with the lines sent again
    with closing(sqlite3.connect(path)) as db:
        held = {line for (line,) in db.execute("SELECT line_id FROM source_lines")}
    assert set(said["acked"]) <= held
    assert {f"C-{said['refused'][2]}-{i}" for i in range(40)} <= held


_LEASE_CHILD = r"""
import asyncio, json, os, resource, sys
from membergraph.identity.store.answers import AnswerToKeep, answers_of
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.identity.store.types import StoreError

path, now = sys.argv[1], 1_000_000.0

async def ready(store):
    try:
        await store.ping()
    except StoreError:
        return False
    return True

async def main():
    said = {}
    async with SqliteStore(path) as gateway, SqliteStore(path) as other:
        assert await answers_of(other).lead("other", now, 1e9)  # another worker re-makes
        held = max(os.path.getsize(path + s) for s in ("", "-wal") if os.path.exists(path + s))
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (held + 256 * 1024, hard))  # the disk fills
        big = AnswerToKeep(b"k", b"x" * (4 << 20), ("m_1",), 0, now + 60)
        try:
            await answers_of(gateway).keep([big], 100, 1 << 30, now)
        except StoreError:
            said["write_refused"] = True
        said["ready_while_full"] = await ready(gateway)
        said["lease"] = await answers_of(gateway).lead("mine", now, 15)
        said["ready_after_the_lease"] = await ready(gateway)
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # room is made
        said["ready_with_room"] = await ready(gateway)
    print(json.dumps(said))

asyncio.run(main())
"""


def test_a_re_make_lease_tried_on_a_full_disk_does_not_make_the_gateway_ready(
    tmp_path: Path,
) -> None:
    # Given a gateway whose disk filled (a write refused), another worker re-making
    # When its re-maker tries the re-make lease (every 5 s; nothing written: it is held)
    said = run_child(_LEASE_CHILD, tmp_path, str(tmp_path / "store.db"), timeout=300)
    assert said["write_refused"] and not said["ready_while_full"] and not said["lease"]
    # Then the gateway is still not ready (a push would be refused 507), until room is made
    assert not said["ready_after_the_lease"]
    assert said["ready_with_room"]

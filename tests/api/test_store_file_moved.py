"""A store file deleted or replaced under a running gateway: SQLite would go on writing to
the file the process still holds, which nothing names any more, so every line acknowledged
since would be gone at the next start. The gateway refuses to write instead (the client is
told to send again), and is not ready, so an orchestrator restarts it on the file there now.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import sys
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.identity.store.answers import NOT_HERE, AnswerToKeep, answers_of
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.response_cache.stored import StoredLevel
from membergraph.settings import Settings
from membergraph.sqlite_tx import FileMoved, OpenedFile

pytestmark = pytest.mark.sqlite


def _contact(cid: str) -> bytes:
    return orjson.dumps(
        {
            "contact_id": cid,
            "first_name": "Mo",
            "last_name": "Ved",
            "emails": [f"{cid.lower()}@mail-example.org"],
            "updated_at": "2026-11-01T00:00:00Z",
        }
    )


def _delete(path: Path) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _replace(path: Path) -> None:
    backup = path.with_name("backup.db")
    with sqlite3.connect(path) as db:  # a copy of the store as it is, restored with mv
        db.execute("VACUUM INTO ?", (str(backup),))
    os.replace(backup, path)
    for suffix in ("-wal", "-shm"):  # the old file's log is not the backup's
        Path(f"{path}{suffix}").unlink(missing_ok=True)


@pytest.mark.parametrize(
    "move", [pytest.param(_delete, id="deleted"), pytest.param(_replace, id="replaced")]
)
def test_a_gateway_whose_store_file_went_away_acknowledges_no_line(
    tmp_path: Path, move: object, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "store.db"
    settings = Settings(store=f"sqlite:///{path}", cache_dir=tmp_path / "cache")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        # Given a gateway taking pushes
        assert http.post("/ingest/crm", content=_contact("C-1")).status_code == 200
        assert http.get("/readyz").status_code == 200
        # When its store file is deleted, or replaced by another file
        move(path)  # type: ignore[operator]
        # Then a push is refused, told to send the lines again, and the gateway is not ready
        pushed = http.post("/ingest/crm", content=_contact("C-2"))
        assert pushed.status_code == 503, pushed.text
        said = pushed.json()["error"]
        assert "restart the process" in said
        assert http.get("/readyz").status_code == 503
        if move is _delete and sys.platform == "linux":
            # and the log says where the process still holds the data, to copy it back
            told = " ".join(
                r.getMessage() for r in caplog.records if "copy its data" in r.getMessage()
            )
            copies = re.findall(r"cp (\S+) (\S+?)(?= && |;|$)", told)
            assert [to for _, to in copies][:1] == [str(path)]
            for held, to in copies:
                shutil.copy(held, to)
            with sqlite3.connect(path) as db:
                kept = {cid for (cid,) in db.execute("SELECT line_id FROM source_lines")}
            assert "C-1" in kept
    # and once started again over the file there now, the line sent again is kept
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        assert http.post("/ingest/crm", content=_contact("C-2")).status_code == 200
    with sqlite3.connect(path) as db:
        held = {cid for (cid,) in db.execute("SELECT line_id FROM source_lines")}
    assert "C-2" in held
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)


@pytest.mark.skipif(sys.platform != "linux", reason="/proc/self/fd names the held files")
def test_the_log_is_named_when_the_file_is_seen_gone_before_its_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a store whose last change is only in its log (no checkpoint yet)
    path = tmp_path / "store.db"
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA wal_autocheckpoint = 0")
    db.execute("CREATE TABLE lines (id TEXT)")
    db.execute("INSERT INTO lines VALUES ('C-1')")
    db.commit()
    opened = OpenedFile(str(path))
    # When the file is deleted and the process looks before its log is deleted too
    path.unlink()
    with pytest.raises(FileMoved):
        opened.check()
    Path(f"{path}-wal").unlink()
    Path(f"{path}-shm").unlink(missing_ok=True)
    # Then the operator is told to copy back the log as well, and doing so keeps the line
    told = " ".join(r.getMessage() for r in caplog.records if "copy its data" in r.getMessage())
    copies = re.findall(r"cp (\S+) (\S+?)(?= && |;|$)", told)
    assert [to for _, to in copies] == [str(path), f"{path}-wal"]
    for held, to in copies:
        shutil.copy(held, to)
    db.close()
    with sqlite3.connect(path) as again:
        assert again.execute("SELECT id FROM lines").fetchall() == [("C-1",)]


def test_a_deleted_store_file_is_not_made_again_and_reads_answer_store_unavailable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "store.db"
    settings = Settings(store=f"sqlite:///{path}", cache_dir=tmp_path / "cache")
    query = '{ memberByIdentifier(kind: EMAIL, value: "c-1@mail-example.org") { id } }'
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        # Given a gateway that took a push (no lookup yet: its readers open at the first)
        assert http.post("/ingest/crm", content=_contact("C-1")).status_code == 200
        # When the store file alone is deleted (its log and shared memory stay)
        path.unlink()
        caplog.clear()
        answered = [http.post("/graphql", json={"query": query}).json() for _ in range(2)]
        # Then no connection of the gateway makes an empty file in its place
        assert not path.exists()
        # and a lookup answers as a store failure, logged as one WARNING line each
        for one in answered:
            assert [e["extensions"]["code"] for e in one["errors"]] == ["STORE_UNAVAILABLE"]
        graphql = [
            r
            for r in caplog.records
            if r.name in ("strawberry.execution", "membergraph.resolvers.errors")
        ]
        assert [r.levelname for r in graphql] == ["WARNING", "WARNING"]
        assert all("was deleted" in r.getMessage() for r in graphql)
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)


async def test_a_deleted_store_file_serves_no_kept_answer(tmp_path: Path) -> None:
    now = 1_000_000.0
    path = tmp_path / "store.db"
    async with SqliteStore(str(path)) as store:
        # Given an answer kept in the store, served by a lookup (its reader open)
        answers = answers_of(store)
        assert answers is not None
        level = StoredLevel(answers, 100, 1 << 20, 60, clock=lambda: now)
        kept = AnswerToKeep(b"k", b"{}", ("m_1",), await store.feed_head(), now + 60)
        await answers.keep([kept], 100, 1 << 20, now)
        assert level.read_here(b"k") not in (None, NOT_HERE)
        # When the store file is deleted under the running process
        _delete(path)
        # Then neither the read on the event loop's thread (a hit's) nor the awaited one
        # serves it: the file is gone (the awaited read says so, in the log)
        assert level.read_here(b"k") is NOT_HERE
        assert await level.read(b"k") is None

"""``membergraph backup`` and ``restore``: a backup taken while a gateway writes holds what
its log holds too, and a restore after a crash is not read with the crashed store's log
(which made the store malformed while the gateway started over it answered ready)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.settings import Settings
from tests.conftest import gql

pytestmark = pytest.mark.sqlite


def _purchases(tag: str, n: int) -> bytes:
    return b"\n".join(
        orjson.dumps(
            {
                "transaction_id": f"T-{tag}-{i}",
                "loyalty_id": f"LD-{tag}-{i % 7}",
                "email": None,
                "store_id": "S1",
                "channel": "store",
                "occurred_at": "2026-11-02T10:00:00Z",
                "amount_cents": 1000 + i,
                "currency": "EUR",
                "points_earned": 10,
                "points_redeemed": 0,
                "status": "completed",
                "items": [{"sku": "x" * 200, "quantity": 1}],
            }
        )  # fmt: skip
        for i in range(n)
    )


def _held(path: Path, tag: str) -> int:
    with closing(sqlite3.connect(path)) as db:
        like = f"T-{tag}-%"
        return int(db.execute("SELECT count(*) FROM source_lines WHERE line_id LIKE ?", (like,))
                   .fetchone()[0])  # fmt: skip


def _crashed_store(tmp_path: Path) -> tuple[Path, Path]:
    """A store with lines pushed before and after a backup, its gateway's process killed
    with the store's log still beside it (as a SIGKILL leaves it)."""
    path, backup = tmp_path / "store.db", tmp_path / "backup.db"
    settings = Settings(store=f"sqlite:///{path}", cache_dir=tmp_path / "cache", demo_members=20)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        assert http.post("/ingest/transactions", content=_purchases("A", 300)).status_code == 200
        # (the pushes are in the log, not yet in the store file: a `cp` misses them)
        assert Path(f"{path}-wal").stat().st_size > 0
        took = CliRunner().invoke(
            app, ["backup", "--store", f"sqlite:///{path}", "--out", str(backup)]
        )
        assert took.exit_code == 0, took.output
        assert http.post("/ingest/transactions", content=_purchases("B", 300)).status_code == 200
        # the process is killed: its log stays beside the store, as a SIGKILL leaves it
        for end in ("", "-wal", "-shm"):
            shutil.copy(f"{path}{end}", tmp_path / f"crashed.db{end}")
    for end in ("", "-wal", "-shm"):
        shutil.copy(tmp_path / f"crashed.db{end}", f"{path}{end}")
    return path, backup


def test_a_backup_holds_what_the_log_held_and_a_restore_after_a_crash_is_whole(
    tmp_path: Path,
) -> None:
    # Given a backup taken while the gateway wrote, then a crash after more pushes
    path, backup = _crashed_store(tmp_path)
    assert _held(backup, "A") == 300, "the backup holds the lines its store's log held"
    # When the backup is restored over the crashed store
    done = CliRunner().invoke(
        app, ["restore", "--from", str(backup), "--store", f"sqlite:///{path}"]
    )
    assert done.exit_code == 0, done.output
    # Then the store is the backup, whole, and not read with the crashed store's log
    with closing(sqlite3.connect(path)) as db:
        assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert (_held(path, "A"), _held(path, "B")) == (300, 0)
    # and the store it replaced is kept with its log: the lines pushed since are there
    kept = tmp_path.glob("store.db.before-restore-*")
    main = [p for p in kept if not p.name.endswith(("-wal", "-shm"))]
    assert len(main) == 1 and _held(main[0], "B") == 300
    # and a gateway starts over it, ready, and takes the lines sent again
    settings = Settings(store=f"sqlite:///{path}", cache_dir=tmp_path / "cache", demo_members=20)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        assert http.get("/readyz").status_code == 200
        again = http.post("/ingest/transactions", content=_purchases("B", 300))
        assert again.status_code == 200 and again.json()["accepted"] == 300
    assert _held(path, "B") == 300


def test_a_restore_is_refused_while_a_process_holds_the_store(tmp_path: Path) -> None:
    # Given a store another process holds open (a gateway)
    path, backup = _crashed_store(tmp_path)
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sqlite3, sys; db = sqlite3.connect(sys.argv[1]);"
            " db.execute('SELECT count(*) FROM members').fetchone(); print('open', flush=True);"
            " sys.stdin.readline()",
            str(path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        before = path.read_bytes()
        # When a restore is asked
        done = CliRunner().invoke(
            app, ["restore", "--from", str(backup), "--store", f"sqlite:///{path}"]
        )
        # Then it is refused, saying why, and the store is untouched
        assert done.exit_code == 2, done.output
        assert "open in another process" in done.output
        assert path.read_bytes() == before
    finally:
        assert holder.stdin is not None and holder.stdout is not None
        holder.stdin.close()
        holder.wait(30)
        holder.stdout.close()


def test_a_restore_refuses_a_copy_that_is_no_store(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    damaged = tmp_path / "copy.db"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\x00" * 100)
    done = CliRunner().invoke(
        app, ["restore", "--from", str(damaged), "--store", f"sqlite:///{path}"]
    )
    assert done.exit_code == 1, done.output
    assert "not restored" in done.output
    assert not path.exists()


CHANGES = "query ($after: String) { changes(after: $after, first: 1000) { edges { cursor } } }"


def _cursors(http: TestClient, after: str | None = None) -> list[int]:
    answer = gql(http, CHANGES, after=after)
    return [int(e["cursor"]) for e in answer["data"]["changes"]["edges"]]  # type: ignore[index]


def test_after_a_restore_no_cursor_names_two_changes(tmp_path: Path) -> None:
    # Adversarial pass: a subscriber had heard up to cursor 568; after a restore (the copy's
    # feed ending at 562) and 7 pushes, changes(after: "568") answered 8 entries with no
    # error: the restore had handed out 563-568 again, and those 6 changes went unheard.
    path, backup = tmp_path / "store.db", tmp_path / "backup.db"
    url = f"sqlite:///{path}"
    settings = Settings(store=url, cache_dir=tmp_path / "cache", demo_members=20)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        assert http.post("/ingest/transactions", content=_purchases("A", 5)).status_code == 200
        in_backup = max(_cursors(http))
        took = CliRunner().invoke(app, ["backup", "--store", url, "--out", str(backup)])
        assert took.exit_code == 0, took.output
        assert http.post("/ingest/transactions", content=_purchases("B", 5)).status_code == 200
        heard = max(_cursors(http))  # a subscriber heard the changes the restore takes back
    assert heard > in_backup
    done = CliRunner().invoke(app, ["restore", "--from", str(backup), "--store", url])
    assert done.exit_code == 0, done.output
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        assert http.post("/ingest/transactions", content=_purchases("C", 5)).status_code == 200
        new = [c for c in _cursors(http) if c > in_backup]
        # Then the changes made since follow every cursor handed out before the restore
        assert new and min(new) > heard
        # and the subscriber's cursor is refused (its changes are not in this store)
        answer = http.post("/graphql", json={"query": CHANGES, "variables": {"after": str(heard)}})
        [error] = answer.json()["errors"]
        assert error["extensions"]["code"] == "FEED_EXPIRED" and "restore" in error["message"]
        # while a cursor of the copy's reads on, with the changes made since only
        assert _cursors(http, str(in_backup)) == new


def test_right_after_a_restore_the_replaced_stores_cursor_has_expired(tmp_path: Path) -> None:
    # user23: with the replaced store's head cursor, changes(after:) answered BAD_USER_INPUT
    # ("not one of its cursors") from the restore until the first new change.
    path, backup = tmp_path / "store.db", tmp_path / "backup.db"
    url = f"sqlite:///{path}"
    settings = Settings(store=url, cache_dir=tmp_path / "cache", demo_members=20)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        assert http.post("/ingest/transactions", content=_purchases("A", 3)).status_code == 200
        took = CliRunner().invoke(app, ["backup", "--store", url, "--out", str(backup)])
        assert took.exit_code == 0, took.output
        assert http.post("/ingest/transactions", content=_purchases("B", 3)).status_code == 200
        heard = max(_cursors(http))
    done = CliRunner().invoke(app, ["restore", "--from", str(backup), "--store", url])
    assert done.exit_code == 0, done.output
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        # When a subscriber of the replaced store comes back before any change is made
        answer = http.post("/graphql", json={"query": CHANGES, "variables": {"after": str(heard)}})
        # Then its cursor has expired (its changes are not here), as after a change
        [error] = answer.json()["errors"]
        assert error["extensions"]["code"] == "FEED_EXPIRED", error
        # and the feed's place read now is none of the replaced store's: it hears what follows
        now = gql(http, "{ viewer { feedCursor } }")["data"]["viewer"]["feedCursor"]  # type: ignore[index]
        assert int(now) > heard and _cursors(http, now) == []
        assert http.post("/ingest/transactions", content=_purchases("C", 2)).status_code == 200
        assert len(_cursors(http, now)) >= 2


def test_the_default_store_is_backed_up_and_restored_by_the_commands_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Adversarial pass: `membergraph restore --from FILE` over the default store,
    # sqlite:///./membergraph.db (any relative path), stopped with a traceback, "relative
    # path can't be expressed as a file URI", and restored nothing.
    from membergraph.demo import write_demo_data

    monkeypatch.chdir(tmp_path)
    write_demo_data(tmp_path / "data", 10)
    loaded = CliRunner().invoke(
        app, ["load", "--data", "data", "--to", "sqlite:///./membergraph.db"]
    )
    assert loaded.exit_code == 0, loaded.output
    took = CliRunner().invoke(app, ["backup", "--out", "copy?1.db"])  # (a "?" in its name)
    assert took.exit_code == 0, took.output
    done = CliRunner().invoke(app, ["restore", "--from", "copy?1.db"])
    assert done.exit_code == 0, done.output
    assert "restored membergraph.db from copy?1.db" in " ".join(done.output.split())
    assert list(tmp_path.glob("membergraph.db.before-restore-*"))


def test_a_restored_older_format_backup_is_said_to_need_reresolve(tmp_path: Path) -> None:
    # Given a backup an older release took (its store marked format 3)
    from membergraph.demo import write_demo_data
    from membergraph.identity.store.format import STORE_FORMAT

    write_demo_data(tmp_path / "data", 10)
    old = tmp_path / "old.db"
    loaded = CliRunner().invoke(
        app, ["load", "--data", str(tmp_path / "data"), "--to", f"sqlite:///{old}"]
    )
    assert loaded.exit_code == 0, loaded.output
    with closing(sqlite3.connect(old)) as db, db:
        db.execute("UPDATE meta SET value = '3' WHERE key = 'format'")
    # When it is restored
    url = f"sqlite:///{tmp_path / 'store.db'}"
    done = CliRunner().invoke(app, ["restore", "--from", str(old), "--store", url])
    # Then it is put in place, and the restore says the store's format and what brings it up
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert f"store format 3 is older than this release's format {STORE_FORMAT}" in said
    assert f"membergraph reresolve --store '{url}'" in said


_LIMITED = r"""
import resource, sys
from membergraph.cli import app
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), hard))  # the disk is full
sys.argv = ["membergraph", *sys.argv[2:]]
app()
"""


def _limited_run(room: int, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with ``args``, its files limited to ``room`` bytes (a full disk)."""
    command = [sys.executable, "-c", _LIMITED, str(room), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)


def _leftovers(folder: Path, *kept: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name not in kept)


def test_a_backup_onto_a_full_disk_says_so_and_leaves_no_file(tmp_path: Path) -> None:
    # Given a store, and a folder for the copy on a disk with too little room for it
    path, _ = _crashed_store(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    # When a backup is taken into it
    took = _limited_run(64 * 1024, "backup", "--store", f"sqlite:///{path}", "--out", f"{out}/x.db")
    # Then it fails saying it could not write the copy, why, and what to do (not that the
    # store's own disk is full), and leaves nothing there (no partial copy, no journal)
    said = " ".join(took.stderr.split())
    assert took.returncode == 1, said
    assert f"could not write the copy {out}/x.db" in said
    assert "then take the backup again; no file is left" in said
    assert "Traceback" not in said
    assert _leftovers(out) == []


def test_a_restore_onto_a_full_disk_says_so_and_leaves_no_file(tmp_path: Path) -> None:
    # Given a backup, and a store's folder on a disk with too little room for the restore
    path, backup = _crashed_store(tmp_path)
    before = _leftovers(tmp_path)
    # When it is restored
    done = _limited_run(64 * 1024, "restore", "--from", str(backup), "--store", f"sqlite:///{path}")
    # Then it fails saying why and what to do, and leaves no file beside the store
    said = " ".join(done.stderr.split())
    assert done.returncode == 1, said
    assert f"could not restore {path}" in said
    assert "then restore again; no file is left" in said
    assert _leftovers(tmp_path) == before


def test_a_backup_into_a_read_only_folder_is_refused_in_one_line(tmp_path: Path) -> None:
    # Given a store, and a folder this process cannot write
    path, _ = _crashed_store(tmp_path)
    out = tmp_path / "ro"
    out.mkdir()
    if os.geteuid() == 0:  # (root writes any folder: a read-only file system, mounted)
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(out)])
        if mounted.returncode != 0:
            pytest.skip("root, and no read-only mount can be made here")
    else:
        out.chmod(0o555)
    try:
        # When a backup is taken into it
        took = CliRunner().invoke(
            app, ["backup", "--store", f"sqlite:///{path}", "--out", f"{out}/x.db"]
        )
    finally:
        if os.geteuid() == 0:
            subprocess.run(["umount", str(out)], check=True)
        else:
            out.chmod(0o755)
    # Then it is refused as the CLI's other refusals are (exit 2), naming the folder
    said = " ".join(took.output.split())
    assert took.exit_code == 2, said
    assert f"the folder {out} is" in said and "name a file in a folder you can write" in said
    assert took.exception is None or isinstance(took.exception, SystemExit)


def test_a_restore_leaves_no_index_nor_empty_log_beside_the_store_it_replaced(
    tmp_path: Path,
) -> None:
    # Given a backup of a store no process holds, closed cleanly
    path, backup = _crashed_store(tmp_path)
    with closing(sqlite3.connect(path)) as db:  # (its log checkpointed: no change in it)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # When it is restored over it
    done = CliRunner().invoke(
        app, ["restore", "--from", str(backup), "--store", f"sqlite:///{path}"]
    )
    assert done.exit_code == 0, done.output
    # Then the replaced store is kept alone: no -shm, no empty -wal beside it
    kept = sorted(p.name for p in tmp_path.glob("store.db.before-restore-*"))
    assert len(kept) == 1 and not kept[0].endswith(("-wal", "-shm")), kept
    said = " ".join(done.output.split())
    assert f"kept as {tmp_path / kept[0]}" in said and "with its log" not in said


def test_a_restore_from_a_folder_says_it_is_a_folder(tmp_path: Path) -> None:
    done = CliRunner().invoke(
        app, ["restore", "--from", str(tmp_path), "--store", f"sqlite:///{tmp_path}/s.db"]
    )
    assert done.exit_code == 2, done.output
    assert f"--from {tmp_path} is a folder" in " ".join(done.output.split())

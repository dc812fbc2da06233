"""``membergraph backup`` and ``membergraph privacy export`` of a store where nothing can be
written beside it: a read-only file system (a snapshot mounted read-only) or a folder this
user may not write. The store is read read-only (``mode=ro``, ``immutable=1`` when no
``-wal`` holds changes), so the snapshot is copied and exported; where it truly cannot be
read whole, one line says why, never "unable to open database file".

A real read-only mount needs root: it is made in a mount namespace of the command's own
(``unshare``), gone when it ends. A folder of mode 0555 stops only a user who is not root
(root writes anywhere): that check runs when the tests do not run as root.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest

from membergraph.demo import write_demo_data
from tests.support.child import CHILD_ENV

pytestmark = pytest.mark.sqlite


_CLI = [sys.executable, "-m", "membergraph.cli"]


def _members(store: Path) -> int:
    with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        return int(db.execute("SELECT count(*) FROM members").fetchone()[0])


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A store closed cleanly (no -wal, no -shm beside it), and one of its members."""
    base = tmp_path_factory.mktemp("ro")
    data, store = base / "data", base / "s.db"
    write_demo_data(data, 20)
    (data / "truth.jsonl").unlink()
    load = [*_CLI, "load", "--data", str(data), "--to", f"sqlite:///{store}"]
    subprocess.run(load, env=CHILD_ENV, check=True, capture_output=True)
    with closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True)) as db:
        (member,) = db.execute("SELECT id FROM members ORDER BY id LIMIT 1").fetchone()
    return store, member


def _on_a_read_only_mount(tmp_path: Path, files: list[Path], commands: list[list[str]]) -> Path:
    """Runs ``commands`` (``{store}`` standing for the copy) over a copy of ``files`` on a
    read-only file system mounted in a mount namespace of their own; their outputs, one
    JSON line each (``rc``, ``out``, ``err``), are in the file answered."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("a read-only mount needs root and unshare")
    mount, said = tmp_path / "ro", tmp_path / "said.jsonl"
    mount.mkdir()
    store = mount / files[0].name
    script = [
        f"mount -t tmpfs -o size=16m tmpfs {shlex.quote(str(mount))}",
        *(f"cp {shlex.quote(str(f))} {shlex.quote(str(mount))}/" for f in files),
        f"mount -o remount,ro {shlex.quote(str(mount))}",
    ]
    runner = "import json, subprocess, sys; r = subprocess.run(sys.argv[2:], capture_output=True, text=True); open(sys.argv[1], 'a').write(json.dumps({'rc': r.returncode, 'out': r.stdout, 'err': r.stderr}) + '\\n')"  # noqa: E501
    for command in commands:
        args = [a.format(store=store) for a in command]
        script.append(shlex.join([sys.executable, "-c", runner, str(said), *args]))
    made = subprocess.run(
        ["unshare", "-m", "--propagation", "private", "sh", "-ec", " && ".join(script)],
        env=CHILD_ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    if made.returncode != 0 and not said.exists():
        pytest.skip(f"no read-only mount could be made here: {made.stderr.strip()}")
    return said


def test_a_store_on_a_read_only_file_system_is_backed_up_and_exported(
    loaded: tuple[Path, str], tmp_path: Path
) -> None:
    # Given a store closed cleanly, on a file system mounted read-only
    store, member = loaded
    copy = tmp_path / "copy.db"
    # When it is backed up, and a member exported from it
    said = _on_a_read_only_mount(
        tmp_path,
        [store],
        [
            [*_CLI, "backup", "--store", "sqlite:///{store}", "--out", str(copy)],
            [*_CLI, "privacy", "export", member, "--store", "sqlite:///{store}"],
        ],
    )
    backup, export = (json.loads(line) for line in said.read_text().splitlines())
    # Then the backup is a whole copy
    assert backup["rc"] == 0, backup["err"]
    assert _members(copy) == _members(store) > 0
    # and the export is answered, saying it is not recorded in the store's audit
    assert export["rc"] == 0, export["err"]
    assert json.loads(export["out"])["member_id"] == member
    note = " ".join(export["err"].split())
    assert "is on a read-only file system: exported from a copy of it taken now" in note
    assert "not recorded in its audit" in note


def test_a_read_only_store_whose_log_cannot_be_read_says_why_in_one_line(
    loaded: tuple[Path, str], tmp_path: Path
) -> None:
    # Given a store whose -wal holds changes, copied with it but without its -shm, onto a
    # file system mounted read-only (no -shm can be made there to read the -wal through)
    store, member = loaded
    held = tmp_path / "held"
    held.mkdir()
    shutil.copyfile(store, held / "s.db")
    with closing(sqlite3.connect(held / "s.db")) as db:
        db.execute("PRAGMA wal_autocheckpoint = 0")
        db.execute("CREATE TABLE change_in_the_log (x)")
        db.commit()
        shutil.copyfile(held / "s.db", tmp_path / "s.db")
        shutil.copyfile(held / "s.db-wal", tmp_path / "s.db-wal")
    # When it is backed up
    copy = tmp_path / "copy.db"
    said = _on_a_read_only_mount(
        tmp_path,
        [tmp_path / "s.db", tmp_path / "s.db-wal"],
        [[*_CLI, "backup", "--store", "sqlite:///{store}", "--out", str(copy)]],
    )
    (backup,) = (json.loads(line) for line in said.read_text().splitlines())
    # Then it exits 1 in one line saying why and what to do, and leaves no file
    assert backup["rc"] == 1
    line = " ".join(backup["err"].split())
    assert "cannot be read: it is on a read-only file system and its -wal file holds" in line
    assert "copy" in line and "to a writable folder" in line
    assert "unable to open database file" not in line.split("(")[0]
    assert "Traceback" not in backup["err"]
    assert not copy.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a folder of mode 0555")
def test_a_store_in_a_folder_this_user_may_not_write_is_backed_up(
    loaded: tuple[Path, str], tmp_path: Path
) -> None:
    # Given a store in a folder this user may not write
    store, _ = loaded
    folder = tmp_path / "ro"
    folder.mkdir()
    shutil.copyfile(store, folder / "s.db")
    folder.chmod(0o555)
    copy = tmp_path / "copy.db"
    try:
        # When it is backed up
        command = [*_CLI, "backup", "--store", f"sqlite:///{folder / 's.db'}", "--out", str(copy)]
        ran = subprocess.run(command, env=CHILD_ENV, capture_output=True, text=True, check=False)
    finally:
        folder.chmod(0o755)
    # Then the copy is whole
    assert ran.returncode == 0, ran.stderr
    assert _members(copy) == _members(store)

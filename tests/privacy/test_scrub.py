"""The scrub step on the embedded SQLite file: secure delete zeroes what is deleted, not a
stale copy of a row elsewhere in a page's free space (a page split leaves those). When the
file still holds one of the person's values after the checkpoint, it is rewritten."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from membergraph.identity.service import IdentityService
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.privacy.sqlite_store import SqlitePrivacyStore
from tests.identity.builders import crm

TRACE = "ottoline.stalecopy@example.org"


async def _opened(path: Path) -> tuple[SqliteStore, SqlitePrivacyStore]:
    """An embedded store at ``path`` and its privacy tables, open."""
    store = SqliteStore(path)
    await store.open()
    privacy = SqlitePrivacyStore(store)
    await privacy.open()
    return store, privacy


async def test_a_value_left_in_free_space_is_rewritten_away(tmp_path: Path) -> None:
    # Given a store whose file holds her value in free space, as a stale copy would
    path = tmp_path / "store.db"
    store, privacy = await _opened(path)
    with sqlite3.connect(path, isolation_level=None) as raw:
        raw.execute("PRAGMA secure_delete = OFF")  # what a page split's copy amounts to
        raw.execute("CREATE TABLE scratch (v TEXT)")
        raw.execute("INSERT INTO scratch VALUES (?)", (TRACE * 3,))
        raw.execute("DELETE FROM scratch")
        raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert TRACE.encode() in path.read_bytes()
    try:
        # When the scrub looks for a value the file does not hold, nothing is rewritten
        assert await privacy.scrub(["someone.else@example.org"]) == {"checkpointed": True}
        # When it looks for hers
        said = await privacy.scrub([TRACE])
        # Then the file was rewritten, and no byte of it is left
        assert said == {"checkpointed": True, "vacuumed": True}
        assert TRACE.encode() not in path.read_bytes()
    finally:
        await store.aclose()


async def test_a_value_another_record_still_holds_does_not_rewrite_the_file(
    tmp_path: Path,
) -> None:
    # Given a store whose live rows hold the value (another person's shared e-mail)
    path = tmp_path / "store.db"
    store, privacy = await _opened(path)
    await IdentityService(store).ingest([crm("C-OTHER", emails=[TRACE])])
    try:
        # When the scrub looks for it, then nothing is rewritten: it is not hers to erase
        assert await privacy.scrub([TRACE]) == {"checkpointed": True}
    finally:
        await store.aclose()


def _count_records_in_another_process(path: Path) -> int:
    """What another process (a second worker, ``membergraph export``, a backup) reads: it
    opens the file, reads and closes its connection, as the last one if no lock says
    otherwise."""
    read = (
        "import sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1])\n"
        "print(db.execute('SELECT count(*) FROM records').fetchone()[0])\n"
        "db.close()\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", read, str(path)], capture_output=True, text=True, check=True
    )
    return int(done.stdout)


async def test_writes_after_a_scrub_stay_in_the_file_other_processes_read(tmp_path: Path) -> None:
    # Given an open store whose file was just scrubbed (the last step of every erasure)
    path = tmp_path / "store.db"
    store, privacy = await _opened(path)
    identity = IdentityService(store)
    await identity.ingest([crm("C-ANN", emails=["ann.first@mail.test.org"])])
    try:
        assert await privacy.scrub(["someone.else@mail.test.org"]) == {"checkpointed": True}
        # When another process opens the store and closes its connection
        assert _count_records_in_another_process(path) == 1
        # and the gateway then takes a line
        await identity.ingest([crm("C-BOB", emails=["bob.second@mail.test.org"])])
        # Then other processes read it: it went to the write-ahead log they read, not to
        # one the other process deleted as the last connection (the scrub's read of the
        # file in this process would have dropped its SQLite locks), which a crash loses
        assert _count_records_in_another_process(path) == 2
    finally:
        await store.aclose()

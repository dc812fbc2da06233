"""The scrub step on the embedded SQLite file: secure delete zeroes what is deleted, not a
stale copy of a row elsewhere in a page's free space (a page split leaves those). When the
file still holds one of the person's values after the checkpoint, it is rewritten."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from membergraph.identity.store.sqlite import SqliteStore
from membergraph.privacy.sqlite_store import SqlitePrivacyStore

TRACE = "ottoline.stalecopy@example.org"


async def test_a_value_left_in_free_space_is_rewritten_away(tmp_path: Path) -> None:
    # Given a store whose file holds her value in free space, as a stale copy would
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    await store.open()
    privacy = SqlitePrivacyStore(store)
    await privacy.open()
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

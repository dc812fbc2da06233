"""The scrub step on the embedded SQLite file: secure delete zeroes what is deleted, not a
stale copy of a row elsewhere in a page's free space (a page split leaves those). When the
file still holds one of the person's values after the checkpoint, it is rewritten."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from membergraph.identity.service import IdentityService
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.privacy.sqlite_store import SqlitePrivacyStore
from tests.identity.builders import crm

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


async def test_a_value_another_record_still_holds_does_not_rewrite_the_file(
    tmp_path: Path,
) -> None:
    # Given a store whose live rows hold the value (another person's shared e-mail)
    path = tmp_path / "store.db"
    store = SqliteStore(path)
    await store.open()
    privacy = SqlitePrivacyStore(store)
    await privacy.open()
    await IdentityService(store).ingest([crm("C-OTHER", emails=[TRACE])])
    try:
        # When the scrub looks for it, then nothing is rewritten: it is not hers to erase
        assert await privacy.scrub([TRACE]) == {"checkpointed": True}
    finally:
        await store.aclose()

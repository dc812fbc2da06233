"""An erased event's id is never given again on the SQLite store, with nothing read for it
on the write path: the erasure leaves a row standing at the highest id it deleted, and later
ids follow it. A store where an earlier release erased (the id kept in ``meta``) gets the row
as it opens. (Through the API: ``tests/api/test_undo_api.py``, the erased ids and ``undo``.)"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.service import IdentityService
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.privacy import privacy_store_for
from membergraph.privacy.port import Erasure
from tests.identity.builders import crm

pytestmark = pytest.mark.sqlite

AT = datetime(2026, 11, 2, tzinfo=UTC)


async def _two_of(service: IdentityService, name: str) -> str:
    """Two contacts of one person (one e-mail): a merge, whose events are the newest."""
    email = f"{name.lower()}@quaymail.org"
    await service.ingest([crm(f"C-{name}-{n}", first=name, emails=[email]) for n in (1, 2)])
    [member] = await service.store.find_members(IdentifierKind.EMAIL, email)
    return member


async def _event_ids(store: SqliteStore, member: str) -> list[int]:
    [history] = await store.member_events([member])
    return sorted(e.id for e in history if e.id is not None)


async def test_a_change_after_an_erasure_gets_new_ids_and_reads_nothing_for_it(
    tmp_path: Path,
) -> None:
    async with SqliteStore(tmp_path / "store.db") as store:
        # Given Ann's member erased, with its events, the newest of the store
        service = IdentityService(store)
        ann = await _two_of(service, "Ann")
        erased = await _event_ids(store, ann)
        privacy = privacy_store_for(store)
        await privacy.open()
        refs = tuple((await store.member_records([ann]))[0])
        await privacy.erase_identity(Erasure((ann,), refs, (), ("ann@quaymail.org",)), AT)
        # When Bob's contacts come, their change's statements traced
        said: list[str] = []
        await store.run(lambda db: db.set_trace_callback(said.append))
        bob = await _two_of(service, "Bob")
        await store.run(lambda db: db.set_trace_callback(None))
        # Then his events have ids past hers, which still tell an erased event
        assert erased and min(await _event_ids(store, bob)) > max(erased)
        assert all([await store.event_gone(i) for i in erased])
        # and the change read nothing to keep them past (the mark an earlier release read)
        assert said and [s for s in said if "events_given" in s or "'erased'" in s] == []


async def test_a_store_an_earlier_release_erased_in_keeps_ids_past_its_mark(
    tmp_path: Path,
) -> None:
    path = tmp_path / "store.db"
    async with SqliteStore(path) as store:
        ann = await _two_of(IdentityService(store), "Ann")
        erased = await _event_ids(store, ann)
    # Given a store where an earlier release erased Ann's newest events: their highest id
    # kept in the meta table, no row at it
    with sqlite3.connect(path) as db:
        db.execute("DELETE FROM events WHERE member_id = ?", (ann,))
        db.execute("INSERT INTO meta (key, value) VALUES ('events_given', ?)", (max(erased),))
    # When it is opened by this release (twice: the second finds the row made), and Bob's
    # contacts come
    for _ in range(2):
        async with SqliteStore(path):
            pass
    async with SqliteStore(path) as store:
        bob = await _two_of(IdentityService(store), "Bob")
        # Then his events have ids past the mark, and the ids under it tell erased events
        assert min(await _event_ids(store, bob)) > max(erased)
        assert all([await store.event_gone(i) for i in erased])
        assert await store.event(max(erased)) is None
    # and the mark is a row now: the meta table keeps none
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT * FROM meta WHERE key = 'events_given'").fetchall() == []
        assert db.execute("SELECT count(*) FROM events WHERE kind = 'erased'").fetchone() == (1,)

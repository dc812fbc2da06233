"""The SQLite store's lookups read on the event loop's thread, and through the store's
thread whenever the file would make a reader wait."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.store import Change
from membergraph.identity.store.port import MemberCarried
from membergraph.identity.store.sqlite import SqliteStore
from tests.identity.builders import crm, purchase

pytestmark = pytest.mark.sqlite


async def _ann(store: SqliteStore) -> None:
    ann, card = crm("C1", emails=["ann@x.org"], card="LD11110000"), purchase(card="LD11110000")
    await store.apply(
        Change(
            records=[ann, card],
            assignments={ann.ref: "m_ann", card.ref: "m_ann"},
            new_members=["m_ann"],
            actor="test",
            reason="first load",
        )
    )


async def _lookup(store: SqliteStore) -> MemberCarried | None:
    return await store.find_member_carried(IdentifierKind.EMAIL, "ann@x.org", 0, 5)


async def test_a_lookup_reads_on_the_loop_without_a_trip(tmp_path: Path) -> None:
    # Given a store file holding ann, when her e-mail and her ID are looked up, then both
    # are read on the loop's thread (no trip to the store's thread) and answer what the
    # store's thread reads.
    async with SqliteStore(tmp_path / "store.db") as store:
        await _ann(store)
        assert store.here is not None
        trips = store.trips
        by_email = await _lookup(store)
        by_id = await store.member_carried("m_ann", 0, 5)
        assert (store.trips, store.here.reads) == (trips, 2)
        assert by_email is not None and by_email.member == "m_ann"
        assert by_email.tied == ("m_ann",)  # (she alone holds it; found by ID: no value)
        assert by_id == by_email._replace(tied=())
        assert await store.find_member_parts(IdentifierKind.EMAIL, "ann@x.org") == (
            "m_ann",
            by_email.parts,
        )


async def test_a_lookup_reads_one_snapshot(tmp_path: Path) -> None:
    # Given a lookup on the loop, when another connection commits a change while the
    # lookup is half-way (here: in the read made beside it), then the lookup does not see
    # it: its statements read one snapshot, as reads and writes taking turns in the store's
    # thread did.
    path = tmp_path / "store.db"
    async with SqliteStore(path) as store:
        await _ann(store)
        other = sqlite3.connect(path, isolation_level=None)

        def beside(db: sqlite3.Connection, records: object) -> str:
            other.execute("UPDATE records SET first_name = 'Changed' WHERE key = 'C1'")
            return str(db.execute("SELECT first_name FROM records WHERE key = 'C1'").fetchone()[0])

        store.beside_lookup = beside
        try:
            found = await _lookup(store)
        finally:
            other.close()
        assert store.here is not None and store.here.reads == 1
        assert found is not None and found.beside == "Ann"


async def test_a_lookup_the_file_would_make_wait_goes_through_the_thread(
    tmp_path: Path,
) -> None:
    # Given a file in a rollback journal (as a first load writes it) that another
    # connection holds exclusively, when ann is looked up, then the loop does not wait: the
    # read is made in the store's thread, which waits until the file is free; the next
    # lookup reads on the loop again, and both answer the same.
    path = tmp_path / "store.db"
    async with SqliteStore(path) as store:
        await _ann(store)
        assert store.here is not None
        mode = await store.run(lambda db: db.execute("PRAGMA journal_mode = DELETE").fetchone())
        assert mode[0] == "delete"
        blocker = sqlite3.connect(path, isolation_level=None)
        try:
            blocker.execute("BEGIN EXCLUSIVE")
            trips = store.trips
            waiting = asyncio.create_task(_lookup(store))
            for _ in range(100):
                await asyncio.sleep(0)
                if store.trips > trips:
                    break
            assert (store.trips, store.here.reads) == (trips + 1, 0)
            assert not waiting.done()
        finally:
            blocker.close()
        found = await waiting
        assert found is not None and found.member == "m_ann"
        assert await _lookup(store) == found
        assert (store.trips, store.here.reads) == (trips + 1, 1)


async def test_an_in_memory_store_reads_through_its_thread() -> None:
    # An in-memory database is its connection's own: nothing is read beside it.
    async with SqliteStore(":memory:") as store:
        await _ann(store)
        trips = store.trips
        assert await _lookup(store) is not None
        assert store.here is None and store.trips == trips + 1

"""A store closes even when a loop that asked it a read closed with the read in flight."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from pathlib import Path

from membergraph.connectors.sqlite import SqliteLines
from membergraph.identity.store.sqlite import SqliteStore

# A read that keeps aiosqlite's thread busy well past its loop's end (a few million rows).
SLOW = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3000000)"
SLOW += " SELECT count(*) FROM n"


async def _left_in_flight(db: object) -> None:
    task = asyncio.create_task(db.execute_fetchall(SLOW))  # type: ignore[attr-defined]
    await asyncio.sleep(0.05)  # it reached the thread; the loop ends without its answer
    task.cancel()


def _closes(close: Callable[[], Awaitable[None]]) -> bool:
    """Whether ``close`` ends, in a loop of its own (in a thread: a hang fails the test, not
    the suite; a wait_for cannot end it, aiosqlite's close awaits again when cancelled)."""
    thread = threading.Thread(target=asyncio.run, args=(close(),), daemon=True)
    thread.start()
    thread.join(60)
    return not thread.is_alive()


def test_a_store_closes_after_the_loop_of_a_read_in_flight_closed(tmp_path: Path) -> None:
    # Given a store opened in one loop, a read left in flight by a second loop that closed,
    # when a third loop closes the store, then it closes (before: it waited forever, the
    # thread having died handing the answer to the closed loop), and the file opens again
    store = SqliteStore(str(tmp_path / "store.db"))
    asyncio.run(store.open())
    asyncio.run(_left_in_flight(store.db))
    assert _closes(store.aclose)

    async def reopened() -> int:
        async with SqliteStore(str(tmp_path / "store.db")) as again:
            return await again.count_members()

    assert asyncio.run(reopened()) == 0


def test_a_source_table_closes_after_the_loop_of_a_read_in_flight_closed(
    tmp_path: Path,
) -> None:
    table = SqliteLines(tmp_path / "sources.db")
    asyncio.run(table.open())
    assert table._db is not None
    asyncio.run(_left_in_flight(table._db))
    assert _closes(table.aclose)
    assert table._db is None


def test_a_source_table_cancelled_while_it_opens_leaves_no_thread(tmp_path: Path) -> None:
    # Given a source table opening (a Ctrl-C reaches `membergraph load` as the cancellation
    # of its task, here while the table's schema is written)
    table = SqliteLines(tmp_path / "sources.db")
    seen: list[object] = []

    async def cancelled_midway() -> None:
        task = asyncio.create_task(table.open())
        while table._db is None:  # noqa: ASYNC110 (until the connection is made: its thread runs)
            await asyncio.sleep(0)
        seen.append(table._db)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(cancelled_midway())
    # Then its connection's thread has ended (before: it waited for work for good, and the
    # process hung at exit after saying "interrupted")
    [db] = seen
    thread = db._thread  # type: ignore[attr-defined]  # (aiosqlite tells no other way)
    thread.join(10)
    assert not thread.is_alive()
    assert table._db is None

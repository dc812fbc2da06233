"""Point reads of the SQLite store run on the event loop's own thread, not in a trip.

A profile's lookup reads a few dozen indexed rows: tens of microseconds of SQLite. Through
aiosqlite's thread it cost a trip on top (a queue put, the thread woken, its answer handed
back through the loop, the GIL passed twice), and the thread's own Python: more CPU than
the reads. :class:`LoopReader` runs such a read at once on a second connection of the
loop's thread, and says when it cannot:

- the file is WAL: a reader never waits on the writer, a commit or a checkpoint (it reads
  the snapshot it finds). The connection waits on nothing either (a busy timeout of 0):
  in the cases where SQLite would make a reader wait (a connection holding the file in
  exclusive locking mode, a first load's rollback journal, a WAL being recovered) the
  read fails at once with ``SQLITE_BUSY`` and the caller makes it through the thread,
  which waits as every read does;
- it is read-only (``query_only``); each read is one read transaction (one snapshot, as
  the store's thread never interleaved a write of this process with a read), and it holds
  none between reads (a checkpoint that truncates the WAL waits for no one);
- an in-memory store (one connection's private database) and a store staging a first
  load (its rows visible to its own connection only) are never read here, nor a call from
  another thread than the one that opened it.

Scans and writes stay in the thread: a read that may take milliseconds would hold every
request the loop serves.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from typing import Any, Final, TypeVar

from membergraph.sqlite_tx import READER_SETUP, existing_file

__all__ = ["BUSY", "LoopReader"]

T = TypeVar("T")

BUSY: Final = object()
"""What :meth:`LoopReader.read` answers when the read must be made through the thread."""

_WAITING = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


class LoopReader:
    """A read-only connection to a store's file, used on the thread that first reads."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.reads = 0
        """Reads answered here (not through the thread)."""
        self._db: sqlite3.Connection | None = None
        self._thread = 0

    def read(self, fn: Callable[..., T], *args: Any) -> T | object:
        """``fn(connection, *args)`` here, or :data:`BUSY`: make it through the thread.

        Raises:
            sqlite3.Error: the read failed otherwise (the caller maps it).
        """
        try:
            db = self._connection()
            if db is None:
                return BUSY
            # One snapshot: the store's thread may commit between two statements of the read
            # (in its thread a read and the writes of this process took turns).
            db.execute("BEGIN")
            try:
                found = fn(db, *args)
            finally:
                db.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF in _WAITING:
                return BUSY
            raise
        self.reads += 1
        return found

    def _connection(self) -> sqlite3.Connection | None:
        if self._db is None:
            # Opened at the first read, not with the store: a first load switches an empty
            # file to a rollback journal only while it holds the file alone.
            db = sqlite3.connect(
                existing_file(self.path),
                uri=True,
                timeout=0,
                isolation_level=None,
                check_same_thread=False,
            )
            try:
                for statement in READER_SETUP:  # (query_only, the cache, the memory map)
                    db.execute(statement)
            except sqlite3.Error:
                db.close()  # (reading the schema may meet a lock too): opened again next time
                raise
            db.row_factory = sqlite3.Row  # as the store's own connection: the same rows
            self._db, self._thread = db, threading.get_ident()
        return self._db if threading.get_ident() == self._thread else None

    def close(self) -> None:
        db, self._db = self._db, None
        if db is not None:
            db.close()

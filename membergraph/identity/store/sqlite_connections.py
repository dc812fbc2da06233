"""One SQLite file's connections, and how a store's work reaches them.

A write runs in the writer's thread (aiosqlite's connection: ``BEGIN IMMEDIATE`` …
``COMMIT`` in one hop); a request's reads run on a connection of their own beside it, whose
thread no write holds; a lookup's point reads on the event loop's thread
(:mod:`.sqlite_here`), when the file's lock lets them. Every trip checks the path still
names the file opened, and maps the driver's errors to the store's, naming the file.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from membergraph.identity.store.port import StoreBusy, StoreError, StoreUnwritable
from membergraph.identity.store.sqlite_here import BUSY, LoopReader
from membergraph.sqlite_lock_wait import budgeted, locked
from membergraph.sqlite_room import unopenable, unwritten
from membergraph.sqlite_tx import (
    READS_ASIDE,
    OpenedFile,
    ReadConnection,
    close_connection,
    immediate,
)
from membergraph.trace_spans import backend_span, caller_operation

__all__ = ["ROOM_PROBE", "ROOM_PROBE_EVERY", "SqliteConnections"]

T = TypeVar("T")


def _fetch_all(db: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
    return db.execute(sql, params).fetchall()


ROOM_PROBE = 1 << 20
"""Bytes readiness writes to tell that a store which ran out of room takes writes again."""
ROOM_PROBE_EVERY = 5.0
"""Seconds a probe that found room stands for a file system reporting no byte free (whose
reserve a privileged process writes): readiness asked many times a second (it asks no
credentials) does not write a MiB each time."""


class SqliteConnections:
    """The connections of the SQLite file at ``path`` (``:memory:``: one connection's
    private database) and the trips a store makes through them."""

    def __init__(self, path: str | Path, durable: bool = True) -> None:
        self.path = str(path)
        # FULL: a commit is on disk before it returns (a power loss keeps it); NORMAL in
        # WAL mode may lose the last commits, never corrupts the file.
        self.synchronous = "FULL" if durable else "NORMAL"
        self._db: aiosqlite.Connection | None = None
        self._file: OpenedFile | None = None
        self._staging = False  # from a first load's first stage to its apply or unstage
        self.here: LoopReader | None = None if self.path == ":memory:" else LoopReader(self.path)
        """The lookups' reads on the event loop's thread (None: an in-memory store)."""
        self.reader: ReadConnection | None = (
            None if self.path == ":memory:" else ReadConnection(self.path, sqlite3.Row)
        )
        """The other reads, on a connection whose thread no write holds (None: in memory,
        one connection's private database)."""
        self.aside: ReadConnection | None = (
            None
            if self.path == ":memory:"
            else ReadConnection(
                self.path,
                writes=True,
                setup=(f"PRAGMA synchronous = {self.synchronous}", "PRAGMA secure_delete = ON"),
            )
        )
        """A writer of its own for the audit of a request's reads (:meth:`run_aside`)."""
        self.trips = 0
        """Trips made to the connection's thread."""
        self._room_seen = -ROOM_PROBE_EVERY  # (monotonic time of the last probe finding room)
        self.tracer: Any = None
        """An OpenTelemetry tracer while traces are on: a span per read or write."""

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise StoreError("the SQLite store is not open")
        return self._db

    @contextlib.asynccontextmanager
    async def _mapped(self, what: str) -> AsyncIterator[None]:
        # Map the driver's errors to ours, naming the file and the operation.
        try:
            yield
        except sqlite3.Error as exc:
            if self._file is not None:
                self._file.failed(exc)
            said = unopenable(self.path, exc) if what == "open" else None
            if said is not None:  # (not even reads: the process cannot serve)
                raise StoreUnwritable(said) from exc
            if locked(exc):  # another connection's write lock, held past the wait
                raise StoreBusy(unwritten(self.path, what, exc)) from exc
            raise StoreError(unwritten(self.path, what, exc)) from exc
        if what == "write" and self._file is not None:
            self._file.wrote()

    async def aclose(self) -> None:
        if self.here is not None:
            self.here.close()
        await self._close_beside()
        if self._db is not None:
            await close_connection(self._db)
            self._db = None

    async def _all(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        return await self._read(_fetch_all, sql, params)

    async def _writable(self) -> None:
        """Readiness of a file whose last write failed for want of room (or whose file
        system has no byte free): a write of a push's size (:data:`ROOM_PROBE`, written
        and deleted) tells whether it takes writes again. A gateway that cannot write
        answers reads but refuses every push and steward change, so it is not ready; the
        write is tried only then, never on a healthy store's probe. (A small write is no
        proof: SQLite reuses the room its log already holds.)

        Raises:
            StoreUnwritable: the write failed for want of room (or an I/O error).
        """
        file = self._file
        if file is None or (file.unwritable is None and not file.full()):
            return
        if file.unwritable is None and time.monotonic() - self._room_seen < ROOM_PROBE_EVERY:
            return  # (a full file system whose reserve this process may write: probed lately)

        def probe(db: sqlite3.Connection) -> None:
            with immediate(db):
                db.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('room_probe', zeroblob(?))",
                    (ROOM_PROBE,),
                )
            with immediate(db):
                db.execute("DELETE FROM meta WHERE key = 'room_probe'")

        try:
            async with self._mapped("write"):
                await self._in_thread(probe)
            self._room_seen = time.monotonic()
        except StoreError as exc:
            said = file.unwritable
            if said is None:
                raise
            raise StoreUnwritable(f"SQLite store {self.path} cannot be written: {said}") from exc

    async def _in_thread(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(connection, *args)`` in the connection's thread: one hop, many statements,
        while the path still names the file opened (:class:`~membergraph.sqlite_tx.OpenedFile`).

        aiosqlite's ``_execute`` is the queue its own methods use. A request's first trip
        here waits for the file's lock only for what is left of its time budget
        (:mod:`~membergraph.sqlite_lock_wait`): a request's reads go to :attr:`reader`.
        """
        self._same_file()
        fn, args = budgeted(fn, args)
        return await self._trip(fn, *args)

    async def _close_beside(self) -> None:
        for other in (self.reader, self.aside):
            if other is not None:
                await other.aclose()

    def _beside(self, connection: ReadConnection | None) -> ReadConnection | None:
        """``connection`` (:attr:`reader` or :attr:`aside`) for a request
        (:data:`~membergraph.sqlite_tx.READS_ASIDE`) while no first load stages; else None:
        the writer's thread."""
        return connection if READS_ASIDE.get() and not self._staging else None

    async def _trip(self, fn: Callable[..., T], *args: Any, on: ReadConnection | None = None) -> T:
        """``fn(connection, *args)`` in the writer's thread, or ``on`` another connection."""
        db = self.db
        self.trips += 1
        trip = (
            on.run(fn, *args) if on is not None else db._execute(fn, db._conn, *args)  # type: ignore[no-untyped-call]
        )
        if self.tracer is not None:
            with backend_span(self.tracer, "store." + caller_operation(), "sqlite"):
                return await trip
        return await trip

    def _same_file(self) -> None:
        if self._file is not None:
            self._file.check()

    async def _read(self, fn: Callable[..., T], *args: Any) -> T:
        """A read: a request's on :attr:`reader` (:data:`~membergraph.sqlite_tx.READS_ASIDE`;
        through the writer while a first load stages: only its connection sees what it
        staged), any other in the writer's thread."""
        async with self._mapped("read"):
            self._same_file()
            return await self._trip(fn, *args, on=self._beside(self.reader))

    async def _point_read(self, fn: Callable[..., T], *args: Any) -> T:
        """A lookup's read: on the event loop's thread when it can be, else in the trip."""
        here = self.here
        if here is not None and not self._staging and self._db is not None:
            async with self._mapped("read"):
                self._same_file()  # (a file gone answers as one: not "no such table")
                if self.tracer is None:
                    found = here.read(fn, *args)
                else:
                    found = self._traced_here(here, fn, args)
            if found is not BUSY:
                return found  # type: ignore[return-value]
        return await self._read(fn, *args)

    def _traced_here(self, here: LoopReader, fn: Callable[..., T], args: tuple[Any, ...]) -> object:
        with backend_span(
            self.tracer, "store." + caller_operation(), "sqlite", **{"membergraph.thread": "loop"}
        ) as span:
            found = here.read(fn, *args)
            if span is not None and found is BUSY:  # (the thread's trip: a span of its own)
                span.set_attribute("membergraph.busy", True)
            return found

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)`` in the connection's thread, driver errors mapped: for
        stores that share this file's connection (the privacy store)."""
        async with self._mapped("privacy records"):
            return await self._in_thread(fn, *args)

    async def run_aside(self, fn: Callable[..., T], *args: Any) -> T:
        """:meth:`run` for a request's small write (the audit of what it read) on
        :attr:`aside`: it waits for the file's write lock, not behind every trip queued
        for the writer (a push's reads, parsing and writes). ``fn`` begins its own write
        transaction. Elsewhere (in memory, while a first load stages, outside a request)
        in the writer's thread, as :meth:`run`."""
        async with self._mapped("audit write"):
            self._same_file()
            return await self._trip(fn, *args, on=self._beside(self.aside))

    async def run_read(self, fn: Callable[..., T], *args: Any) -> T:
        """:meth:`run` for a read: a request's on :attr:`reader`, behind no write."""
        async with self._mapped("privacy records read"):
            self._same_file()
            return await self._trip(fn, *args, on=self._beside(self.reader))

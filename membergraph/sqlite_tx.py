"""One SQLite write transaction, written the same way by every store over SQLite.

The connections are opened with ``isolation_level=None`` (the driver begins nothing on its
own), so each write says where it starts and ends. ``BEGIN IMMEDIATE`` takes the write lock
at the start, so what the transaction reads stays true until it commits: no other process
writes in between, and no upgrade from a read lock can fail half-way with ``SQLITE_BUSY``.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import sqlite3
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import aiosqlite

from membergraph.sqlite_room import out_of_room

__all__ = [
    "BUSY_SECONDS",
    "READER_SETUP",
    "FileMoved",
    "READS_ASIDE",
    "OpenedFile",
    "ReadConnection",
    "close_connection",
    "existing_file",
    "immediate",
    "in_transaction",
    "to_wal",
]

T = TypeVar("T")
logger = logging.getLogger(__name__)

BUSY_SECONDS = 30.0
"""How long a connection waits for another's lock before it says "database is locked"."""

READER_SETUP = (
    "PRAGMA query_only = ON",
    "PRAGMA cache_size = -65536",  # as the stores' own connections
    # The file's pages read through a memory map, not a read() system call and a copy into
    # SQLite's cache for each page the cache lacks: a profile's lookup at 100,000 people
    # (a 1.5 GB file, its pages far more than the cache holds) fetched most of its pages
    # so. SQLite caps the size at its build's limit (2 GB by default); pages beyond it, and
    # those in the WAL, are read as before. Readers only: a write never goes through it.
    "PRAGMA mmap_size = 2147418112",
)
"""What a read-only connection to a store's file runs as it opens (:class:`ReadConnection`
and the lookups' reader on the event loop's thread)."""


def existing_file(path: str) -> str:
    """The URI (``uri=True``) that opens the file at ``path`` only while it exists.

    Every connection but a store's first opens it so: a plain ``connect`` of a path no
    file names creates an empty one there, and a store file deleted under the running
    process would be replaced by an empty store (its reads failing on "no such table",
    the next start building a store anew in it) where the operator copies the data back.
    """
    return f"file:{urllib.parse.quote(os.path.abspath(path))}?mode=rw"


def to_wal(db: sqlite3.Connection, seconds: float = BUSY_SECONDS) -> None:
    """The file in WAL mode, waiting up to ``seconds`` for another connection's write.

    SQLite's journal-mode switch answers "database is locked" at once instead of calling
    the busy handler: while one process wrote its first load through a rollback journal
    (``sqlite_first_load``), a second process opening the store failed at once (two
    ``warm --jobs 2`` processes, two gateway workers), and the loader's own switch back
    failed while another connection read. Tried again every 20 ms until the busy timeout.
    """
    deadline = time.monotonic() + seconds
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
        time.sleep(0.02)


@contextmanager
def immediate(db: sqlite3.Connection, begun: bool = False) -> Iterator[sqlite3.Connection]:
    """A write transaction around the block: committed at its end, rolled back (and the
    error raised again) on any error, so none of it is half-written. ``begun``: the
    transaction was begun before (a first load stages its records in it), only end it."""
    if not begun:
        db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def in_transaction(db: sqlite3.Connection, write: Callable[..., T], *args: Any) -> T:
    """``write(db, *args)`` in one write transaction (for a connection's thread: ``run``)."""
    with immediate(db):
        return write(db, *args)


async def close_connection(db: aiosqlite.Connection) -> None:
    """Close an aiosqlite connection, also when its thread dies meanwhile.

    aiosqlite's thread hands each answer to the event loop that asked; when that loop has
    closed meanwhile (a server stopped with a read in flight, its loop closed, the store
    closed from another), handing it over raises in the thread, twice, and the thread
    ends with the close still queued: ``close()`` alone would wait forever. So the thread's
    end is awaited instead: it ends once it stopped as asked (the close's answer then on
    its way), or died; then the connection is let go (its file closed when it is
    collected: a sqlite3 connection is closed only in its own thread).
    """
    thread = db._thread  # noqa: SLF001 (aiosqlite tells no other way)
    if not thread.is_alive():
        db._connection = None  # noqa: SLF001
        return
    closing = asyncio.ensure_future(db.close())
    await asyncio.to_thread(thread.join)
    if db._tx.empty():  # noqa: SLF001 (it took the stop it was sent: it stopped as asked)
        await closing
    else:
        closing.cancel()
        db._connection = None  # noqa: SLF001


def in_snapshot(db: sqlite3.Connection, read: Callable[..., T], *args: Any) -> T:
    """``read(db, *args)`` inside one read transaction: one snapshot of the file (or inside
    the transaction the connection is in already)."""
    if db.in_transaction:
        return read(db, *args)
    db.execute("BEGIN")
    try:
        return read(db, *args)
    finally:
        db.execute("COMMIT")


READS_ASIDE: contextvars.ContextVar[bool] = contextvars.ContextVar("reads_aside", default=False)
"""True in a task whose store reads go to the stores' :class:`ReadConnection`: a GraphQL
request's. The reads of pushes, steward changes and the gateway's own followers stay in the
writer's thread, in order with its writes, so that a request's reads queue behind no
push's reads either."""


class ReadConnection:
    """A second, read-only connection to a store's WAL file, with a thread of its own.

    A store's reads and writes took turns in its one connection's thread (aiosqlite's
    queue): during a large push, each read of a profile waited behind the push's write
    trips (profile p99 1.6-2.1 s while the push ran, ``benchmarks/push_stall.py``). A WAL
    reader never waits on the writer, so the reads of requests go here and wait for
    nothing but each other. Each read is one snapshot (``BEGIN`` ... ``COMMIT``): a write
    of this process may commit between two statements of a read, as another process's
    always could. What a write committed before the read began, the read sees. Which
    reads come here, each store decides (:data:`READS_ASIDE`).

    Opened at the first read, not with the store: a first load switches an empty file to a
    rollback journal only while it holds the file alone, so the store closes this one
    (:meth:`aclose`) before it begins one, and reads meanwhile go through the writer.
    """

    def __init__(
        self, path: str, row_factory: Any = None, writes: bool = False, setup: Sequence[str] = ()
    ) -> None:
        self.path = path
        self.setup = tuple(setup)
        """Statements run as it opens (a writer's ``synchronous``, ``secure_delete``)."""
        self.row_factory = row_factory
        self.writes = writes
        """A writer of its own (the audit of reads: see ``SqliteStore.run_aside``): its
        functions begin their own write transactions; it waits for the file's write lock,
        not behind the trips queued for the store's writer."""
        self._db: aiosqlite.Connection | None = None
        self._opening: asyncio.Future[aiosqlite.Connection] | None = None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)`` in this connection's thread, in one read transaction
        (for a writer, as ``fn`` transacts)."""
        db = self._db if self._db is not None else await self._open()
        if self.writes:
            return await db._execute(fn, db._conn, *args)  # type: ignore[no-untyped-call,no-any-return]  # noqa: SLF001
        return await db._execute(in_snapshot, db._conn, fn, *args)  # type: ignore[no-untyped-call,no-any-return]  # noqa: SLF001

    async def _open(self) -> aiosqlite.Connection:
        if self._opening is None:
            self._opening = asyncio.ensure_future(self._connect())
        opening = self._opening
        try:
            return await asyncio.shield(opening)
        finally:
            if opening.done() and self._opening is opening:
                self._opening = None  # (failed: tried again at the next read)

    async def _connect(self) -> aiosqlite.Connection:
        db = await aiosqlite.connect(
            existing_file(self.path), uri=True, isolation_level=None, timeout=BUSY_SECONDS
        )
        try:
            if not self.writes:  # (a writer of a few rows keeps SQLite's default cache)
                for statement in READER_SETUP:
                    await db.execute(statement)
            for statement in self.setup:
                await db.execute(statement)
        except BaseException:
            await close_connection(db)
            raise
        db.row_factory = self.row_factory
        self._db = db
        return db

    async def aclose(self) -> None:
        """Close it (a later read opens it again)."""
        opening, self._opening = self._opening, None
        if opening is not None and not opening.done():
            with suppress(BaseException):
                await opening
        db, self._db = self._db, None
        if db is not None:
            await close_connection(db)


class FileMoved(sqlite3.OperationalError):
    """The path a connection opened names another file now, or none."""


class OpenedFile:
    """The file at ``path`` when a connection opened it, to tell when the path is replaced
    or deleted under the running process (a backup restored with ``mv``, a clean-up that
    removed it): SQLite in WAL mode goes on writing to the old file, whose inode nothing
    names any more, so every change acknowledged since would vanish at the next start."""

    _unwritable: dict[str, str] = {}
    """Per file (its real path), what the last write's storage failure said: every
    connection of the process to that file shares it (the store's, the source table's)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._id = None if path == ":memory:" else _identity(path)
        self._real = os.path.realpath(path)
        self._told = False

    def failed(self, exc: BaseException) -> None:
        """Note ``exc`` when it says the file cannot be written (:func:`out_of_room`)."""
        said = out_of_room(exc)
        if said is not None and self._id is not None:
            self._unwritable[self._real] = said

    def wrote(self) -> None:
        """A write to the file was committed: it can be written again."""
        if self._unwritable:
            self._unwritable.pop(self._real, None)

    @property
    def unwritable(self) -> str | None:
        """What the last failed write said, while no write has succeeded since."""
        return self._unwritable.get(self._real) if self._unwritable else None

    def full(self) -> bool:
        """The file system holding the file has no byte free (for an unprivileged user)."""
        if self._id is None:
            return False
        try:
            found = os.statvfs(os.path.dirname(self._real) or ".")
        except OSError:
            return False
        return found.f_bavail == 0

    def check(self) -> None:
        """Raises:
        FileMoved: ``path`` was replaced or deleted since (the process must open it again).
        """
        if self._id is None:
            return
        try:
            now = _identity(self.path)
        except FileNotFoundError:
            now = None
        if now == self._id:
            return
        done = "deleted" if now is None else "replaced by another file"
        if not self._told:  # the operator's account, once, with where the data still is
            self._told = True
            copies = self._copies() if now is None else ""
            keep = f"; copy its data back before this process ends: {copies}" if copies else ""
            logger.error(
                "%s was %s since this process opened it: its writes are refused from now on"
                "%s; then restart the process",
                self.path,
                done,
                keep,
            )
        raise FileMoved(
            f"the store file was {done} since this process opened it: nothing more is written"
            " to the file it still holds (it would be lost); restart the process"
        )

    def _copies(self) -> str:
        """Where this process still reads the deleted file and its log (Linux): until it
        ends, the data is there to copy back (a store deleted by mistake lives only there).
        The log is named whether it is gone yet or not: ``rm store.db store.db-wal`` is
        seen between its two unlinks as often as after them, and the log holds every
        change since the last checkpoint."""
        held = {
            f"{self._real} (deleted)": "",
            f"{self._real}-wal (deleted)": "-wal",
            f"{self._real}-wal": "-wal",
        }
        found: dict[str, str] = {}
        try:
            for fd in os.listdir("/proc/self/fd"):
                with suppress(OSError):
                    suffix = held.get(os.readlink(f"/proc/self/fd/{fd}"))
                    if suffix is not None:
                        found.setdefault(suffix, f"/proc/{os.getpid()}/fd/{fd}")
        except OSError:
            return ""
        if "" not in found:
            return ""
        # One line to paste into a shell: the file, then its log.
        return " && ".join(f"cp {found[s]} {self.path}{s}" for s in ("", "-wal") if s in found)


def _identity(path: str) -> tuple[int, int]:
    found = os.stat(path)
    return found.st_dev, found.st_ino


def add_columns(db: sqlite3.Connection, table: str, columns: Sequence[str]) -> None:
    """Add the TEXT ``columns`` that ``table`` lacks (a file an earlier release made).

    A file that has them takes no write lock. Otherwise the look and the change are one
    write transaction: two processes opening such a file at once (``serve --workers 2``
    after an upgrade) add each column once, the second finding it added, instead of the
    second failing on "duplicate column name"."""

    def missing() -> list[str]:
        held = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        return [column for column in columns if column not in held]

    if missing():
        with immediate(db):
            for column in missing():
                db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")

"""The SQLite backend: source lines in an indexed table of the embedded store's file.

What MongoDB collections are to the docker-compose deployment, this table is to the embedded
default: the sources live in the database, not in a process. Any number of gateway
processes over one file read the same lines (SQLite's WAL lets readers run beside the one
writer); a line pushed through one is read by the next query on any other. A process holds
no line beyond the request that reads it.

One table for the four sources, keyed by (source, line id) and indexed by (source, owner)
(:mod:`.sqlite_rows`), on one connection shared by the four sources' connectors
(:class:`SqliteLines`; each source's connector is :class:`.sqlite_source.SqliteSource`).
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import orjson

from membergraph.connectors import sqlite_rows as sql
from membergraph.connectors.base import SourceUnavailable
from membergraph.connectors.lines import Held, LineError, LoadReport, Owner
from membergraph.connectors.push_lock import PushLock
from membergraph.connectors.reasons import Reason, public_reason
from membergraph.connectors.shared_trips import SharedTrips
from membergraph.connectors.sources import SOURCES, SourceSpec
from membergraph.connectors.sqlite_source import HeldLines, SqliteSource
from membergraph.private_files import create_private
from membergraph.sqlite_lock_wait import budgeted
from membergraph.sqlite_room import unopenable
from membergraph.sqlite_tx import (
    BUSY_SECONDS,
    READS_ASIDE,
    OpenedFile,
    ReadConnection,
    close_connection,
)
from membergraph.trace_spans import backend_span, operation

__all__ = [
    "HeldLines",
    "SqliteLines",
    "SqliteSource",
    "file_fingerprints",
    "folder_fingerprint",
]

T = TypeVar("T")


def folder_fingerprint(folder: Path) -> str:
    """What says a folder is the one loaded before, without reading its lines: each source
    file's name, size and modification time."""
    parts = [f"{name}:{found}" for name, found in file_fingerprints(folder).items()]
    return hashlib.sha256(f"{folder.resolve()}|{'|'.join(parts)}".encode()).hexdigest()


def file_fingerprints(folder: Path) -> dict[str, str]:
    """Each source file's size and modification time, by file name: which files of a changed
    folder changed (the others are not read again)."""
    found = {}
    for spec in SOURCES.values():
        path = folder / spec.file_name
        if path.exists():
            stat = path.stat()
            found[spec.file_name] = f"{stat.st_size}:{stat.st_mtime_ns}"
    return found


Beside = Callable[[sqlite3.Connection, Sequence[tuple[str, str]]], HeldLines | None]


class SqliteLines:
    """The connection to the source table, shared by the four sources of one file."""

    def __init__(self, path: str | Path, durable: bool = True) -> None:
        self.path = str(path)
        self.durable = durable
        self._db: aiosqlite.Connection | None = None
        self._file: OpenedFile | None = None
        # Processes over one file push one at a time (none share an in-memory database).
        self.push_lock = PushLock(f"{self.path}-push.lock") if self.path != ":memory:" else None
        self.reader = None if self.path == ":memory:" else ReadConnection(self.path)
        """The lookups' reads, on a connection whose thread no push holds (None: in memory,
        one connection's private database)."""
        self.shared = SharedTrips(self.read, sql.unavailable)
        """A request's lookups of the four sources, in one trip to the thread."""
        self.tracer: Any = None
        """An OpenTelemetry tracer while traces are on: a span per trip."""

    async def open(self) -> None:
        try:
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                create_private(self.path)  # personal data: its owner's only, -wal and -shm too
            self._db = await aiosqlite.connect(
                self.path, isolation_level=None, timeout=BUSY_SECONDS
            )
            self._file = OpenedFile(self.path)
            await self._db.execute("PRAGMA journal_mode = WAL")
            sync = "FULL" if self.durable else "NORMAL"
            await self._db.execute(f"PRAGMA synchronous = {sync}")
            # Deleted lines are overwritten with zeros (an erased person leaves no bytes).
            await self._db.execute("PRAGMA secure_delete = ON")
            await self._db.executescript(sql.SCHEMA)
            await self.run(sql.keep_counts)
        except BaseException as exc:
            # Its thread would keep the process alive: a file that is no database, and a
            # Ctrl-C in the middle of opening (a `load` then hung at exit) alike.
            await self.aclose()
            if isinstance(exc, sqlite3.Error):
                said = unopenable(self.path, exc) or f"{self.path}: {exc}"
                raise SourceUnavailable("sqlite", said) from exc
            raise

    async def aclose(self) -> None:
        if self.reader is not None:
            await self.reader.aclose()
        if self._db is not None:
            await close_connection(self._db)
            self._db = None

    def sources(
        self, owner_of: Callable[[SourceSpec], Owner], timeout: float = 5.0
    ) -> dict[Any, SqliteSource]:
        return {
            name: SqliteSource(spec, self, owner_of(spec), timeout)
            for name, spec in SOURCES.items()
        }

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)`` in the connection's thread: one hop, many statements."""
        return await self._trip(False, fn, *args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """A read: a request's on :attr:`reader`, behind no push's writes
        (:data:`~membergraph.sqlite_tx.READS_ASIDE`), any other in the writer's thread."""
        return await self._trip(True, fn, *args)

    async def _trip(self, read: bool, fn: Callable[..., T], *args: Any) -> T:
        if self._db is None:
            raise SourceUnavailable("sqlite", "the source table is closed")
        db, reader = self._db, self.reader if read and READS_ASIDE.get() else None
        # (A request's write waits for the file's lock only what its time budget has left.)
        run, given = (fn, args) if read else budgeted(fn, args)
        try:
            if self._file is not None:
                self._file.check()
            trip = (
                reader.run(fn, *args) if reader is not None else db._execute(run, db._conn, *given)  # type: ignore[no-untyped-call]
            )
            if self.tracer is not None:
                with backend_span(self.tracer, "sources." + operation(fn, args), "sqlite"):
                    return await trip
            return await trip
        except sqlite3.Error as exc:
            if self._file is not None:
                self._file.failed(exc)  # (a full disk: readiness says so)
            raise sql.unavailable(exc) from exc

    def beside_lookup(self, sources: Collection[str]) -> Beside:
        """A read of ``sources``' lines of a member's records, for the identity store of the
        same file to run in the trip of the lookup that finds the member, on its own
        connection: a profile by e-mail then makes one trip to a thread, not two (a trip
        costs more CPU than the reads it carries). None when it fails: the loaders then
        read the lines the usual way, and say what fails."""
        path, wanted = self.path, tuple(sources)

        def read(db: sqlite3.Connection, records: Sequence[tuple[str, str]]) -> HeldLines | None:
            try:
                return HeldLines(path, sql.owned_by(db, wanted, records))
            except sqlite3.Error:
                return None

        return read

    async def meta(self, key: str) -> str | None:
        row = await self.run(
            lambda db: db.execute("SELECT value FROM source_meta WHERE key = ?", (key,)).fetchone()
        )
        return None if row is None else str(row[0])

    async def set_meta(self, key: str, value: str) -> None:
        await self.run(
            lambda db: db.execute(
                "INSERT INTO source_meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
        )

    async def drop_meta(self, key: str) -> None:
        await self.run(lambda db: db.execute("DELETE FROM source_meta WHERE key = ?", (key,)))

    @contextlib.asynccontextmanager
    async def first_load(self) -> AsyncIterator[None]:
        """Around the :meth:`SqliteSource.put` calls of a first load: the owner index is set
        aside and built once at the end, by sorting (keeping it line by line costs more
        than the lines). A crash before the end leaves it to the next :meth:`open`."""
        await self.run(lambda db: db.execute("DROP INDEX IF EXISTS source_lines_owner"))
        await self.run(sql.stop_counting)  # (counted once at the end, as the index is built)
        try:
            yield
        finally:
            await self.run(lambda db: db.executescript(sql.SCHEMA))
            await self.run(sql.keep_counts, True)

    async def empty(self) -> bool:
        """No line of any source (one row read, not a count of them all)."""
        row = await self.run(lambda db: db.execute("SELECT 1 FROM source_lines LIMIT 1").fetchone())
        return row is None

    async def counts(self) -> dict[str, int]:
        """Lines held per source."""
        return {name: held.lines for name, held in (await self.held(list(SOURCES))).items()}

    async def held(self, sources: Sequence[str]) -> dict[str, Held]:
        """Each source's :class:`Held` figures, as the store keeps them (one trip, a few
        rows read by key: what ``/readyz`` reads at each probe)."""
        rows = await self.read(sql.held, [str(s) for s in sources])
        return {
            name: Held(lines, nobodys, None if said is None else _kept(orjson.loads(said)))
            for name, lines, nobodys, said in rows
        }

    async def keep_report(self, source: str, report: LoadReport) -> None:
        """What loading a source's file found (malformed lines with where they are, lines
        that identify no one by reason), kept for ``/readyz`` on later starts that do not
        read the file."""
        said = {
            "lines": report.lines,
            "accepted": report.accepted,
            "malformed": report.malformed,
            # Without the lines' values: /readyz reads them, and asks no credentials.
            "errors": [[e.where, public_reason(e.message)] for e in report.errors],
            "public": True,
            "unattributed": report.unattributed,
        }
        await self.set_meta(f"report:{source}", orjson.dumps(said).decode())

    async def report(self, source: str) -> LoadReport:
        said = await self.meta(f"report:{source}")
        return LoadReport() if said is None else _kept(orjson.loads(said))


def _kept(found: dict[str, Any]) -> LoadReport:
    """A report :meth:`SqliteLines.keep_report` kept."""
    return LoadReport(
        found["lines"],
        found["accepted"],
        found["malformed"],
        [LineError(where, _public(message, found)) for where, message in found["errors"]],
        found.get("unattributed", {}),  # stores made before kept none
    )


def _public(message: str, report: dict[str, Any]) -> Reason:
    """A kept report's reason, said as it was kept: without values (a report kept by an
    earlier release holds each reason whole: its quoted values are masked now)."""
    said = message if report.get("public") else public_reason(message)
    return Reason(said, said)

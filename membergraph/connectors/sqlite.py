"""The SQLite backend: source lines in an indexed table of the embedded store's file.

What MongoDB collections are to the docker-compose deployment, this table is to the embedded
default: the sources live in the database, not in a process. Any number of gateway
processes over one file read the same lines (SQLite's WAL lets readers run beside the one
writer); a line pushed through one is read by the next query on any other. A process holds
no line beyond the request that reads it.

One table for the four sources, keyed by (source, line id) and indexed by (source, owner),
so a DataLoader batch is one indexed read, and the batches of the four sources asked
together share one trip to the connection's thread (:mod:`.shared_trips`). Lines are
stored as their JSON and validated by the model again when read (they were valid when
written; a model that changed since may refuse one, which then reads as missing and is
logged, never a crash of the query).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
import orjson
from pydantic import BaseModel, ValidationError

from membergraph._perf import gc_paused
from membergraph.connectors import sqlite_rows as sql
from membergraph.connectors.base import Guard, Mark, SourceConnector, SourceUnavailable
from membergraph.connectors.fastlines import FastLineError, fast_decoder
from membergraph.connectors.lines import LineError, LoadReport, Owner
from membergraph.connectors.push_lock import PushLock
from membergraph.connectors.shared_trips import SharedTrips
from membergraph.connectors.sources import SOURCES, SourceSpec, Taken
from membergraph.sqlite_tx import (
    READS_ASIDE,
    OpenedFile,
    ReadConnection,
    close_connection,
    immediate,
)
from membergraph.trace_spans import backend_span, operation

__all__ = ["HeldLines", "SqliteLines", "SqliteSource", "folder_fingerprint"]

logger = logging.getLogger(__name__)
T = TypeVar("T")


def folder_fingerprint(folder: Path) -> str:
    """What says a folder is the one loaded before, without reading its lines: each source
    file's name, size and modification time."""
    parts = []
    for spec in SOURCES.values():
        path = folder / spec.file_name
        if path.exists():
            stat = path.stat()
            parts.append(f"{spec.file_name}:{stat.st_size}:{stat.st_mtime_ns}")
    return hashlib.sha256(f"{folder.resolve()}|{'|'.join(parts)}".encode()).hexdigest()


def render(line: BaseModel) -> bytes:
    """A line as stored: its JSON as given (unset fields left out, unknown ones kept), by
    pydantic's serializer in one call (the bytes ``orjson`` makes of ``model_dump(mode=
    "json")``, sooner: a first load renders every line)."""
    return line.model_dump_json(exclude_unset=True).encode()


@dataclass(frozen=True, slots=True)
class HeldLines:
    """A member's lines in the source table, read in the trip of the identity store's
    lookup that found the member (:meth:`SqliteLines.beside_lookup`): for each source, the
    record keys asked and the rows ``(owner, body)`` of their lines. A loader batch of
    those keys is answered from them (:meth:`SqliteSource.held_lines`), without a trip."""

    path: str
    found: Mapping[str, tuple[frozenset[str], list[tuple[str, bytes]]]]


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
            self._db = await aiosqlite.connect(self.path, isolation_level=None, timeout=30)
            self._file = OpenedFile(self.path)
            await self._db.execute("PRAGMA journal_mode = WAL")
            sync = "FULL" if self.durable else "NORMAL"
            await self._db.execute(f"PRAGMA synchronous = {sync}")
            # Deleted lines are overwritten with zeros (an erased person leaves no bytes).
            await self._db.execute("PRAGMA secure_delete = ON")
            await self._db.executescript(sql.SCHEMA)
        except sqlite3.Error as exc:
            await self.aclose()  # its thread would keep the process alive
            raise SourceUnavailable("sqlite", f"{self.path}: {exc}") from exc

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
        try:
            if self._file is not None:
                self._file.check()
            trip = (
                reader.run(fn, *args) if reader is not None else db._execute(fn, db._conn, *args)  # type: ignore[no-untyped-call]
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

    @contextlib.asynccontextmanager
    async def first_load(self) -> AsyncIterator[None]:
        """Around the :meth:`SqliteSource.put` calls of a first load: the owner index is set
        aside and built once at the end, by sorting (keeping it line by line costs more
        than the lines). A crash before the end leaves it to the next :meth:`open`."""
        await self.run(lambda db: db.execute("DROP INDEX IF EXISTS source_lines_owner"))
        try:
            yield
        finally:
            await self.run(lambda db: db.executescript(sql.SCHEMA))

    async def empty(self) -> bool:
        """No line of any source (one row read, not a count of them all)."""
        row = await self.run(lambda db: db.execute("SELECT 1 FROM source_lines LIMIT 1").fetchone())
        return row is None

    async def counts(self) -> dict[str, int]:
        """Lines held per source."""
        rows = await self.run(
            lambda db: db.execute(
                "SELECT source, count(*) FROM source_lines GROUP BY source"
            ).fetchall()
        )
        return {str(source): int(n) for source, n in rows}

    async def keep_report(self, source: str, report: LoadReport) -> None:
        """What loading a source's file found (malformed lines with where they are, lines
        that identify no one by reason), kept for ``/readyz`` on later starts that do not
        read the file."""
        said = {
            "lines": report.lines,
            "accepted": report.accepted,
            "malformed": report.malformed,
            "errors": [[e.where, e.message] for e in report.errors],
            "unattributed": report.unattributed,
        }
        await self.set_meta(f"report:{source}", orjson.dumps(said).decode())

    async def report(self, source: str) -> LoadReport:
        said = await self.meta(f"report:{source}")
        if said is None:
            return LoadReport()
        found = orjson.loads(said)
        return LoadReport(
            found["lines"],
            found["accepted"],
            found["malformed"],
            [LineError(where, message) for where, message in found["errors"]],
            found.get("unattributed", {}),  # stores made before kept none
        )


TURN_ROWS = 500
"""Stored lines parsed between two turns given to the event loop (a few ms of work)."""


class SqliteSource(SourceConnector):
    """One source kind's lines in the source table."""

    def __init__(
        self, spec: SourceSpec, lines: SqliteLines, owner: Owner, timeout: float = 5.0
    ) -> None:
        super().__init__(spec, owner, timeout)
        self.lines = lines
        self.count: int | None = None  # lines held, once counted (size())

    def size(self) -> int | None:
        return self.count

    def pushing(self) -> contextlib.AbstractAsyncContextManager[None]:
        lock = self.lines.push_lock
        return lock.held() if lock is not None else super().pushing()

    def _parse(self, body: bytes) -> BaseModel | None:
        try:
            return self.spec.model.model_validate_json(body)
        except ValidationError as exc:
            logger.warning("source %s: a stored line no longer validates: %s", self.source, exc)
            return None

    async def _load_many(self, keys: Sequence[str]) -> Sequence[list[BaseModel]]:
        rows = await self.lines.shared.read(sql.by_owner, self.source.value, list(keys))
        if len(rows) <= TURN_ROWS:
            return self._grouped(rows, keys)
        # Many lines (the members a large push touched, measured again): parsed a share at
        # a time, the event loop given a turn between two.
        found: dict[str, list[BaseModel]] = {}
        for start in range(0, len(rows), TURN_ROWS):
            await asyncio.sleep(0)
            for owner, body in rows[start : start + TURN_ROWS]:
                line = self._parse(body)
                if line is not None:
                    found.setdefault(owner, []).append(line)
        return [found.get(key, []) for key in keys]

    def held_lines(self, held: object, keys: Sequence[str]) -> list[list[BaseModel]] | None:
        if not isinstance(held, HeldLines) or held.path != self.lines.path:
            return None
        found = held.found.get(self.source.value)
        if found is None or not found[0].issuperset(keys):
            return None
        return self._grouped(found[1], keys)

    def _grouped(self, rows: Iterable[tuple[str, bytes]], keys: Sequence[str]) -> list[list[Any]]:
        found: dict[str, list[BaseModel]] = {}
        for owner, body in rows:
            line = self._parse(body)
            if line is not None:
                found.setdefault(owner, []).append(line)
        return [found.get(key, []) for key in keys]

    async def _load_light(self, keys: Sequence[str]) -> Sequence[list[Any]]:
        # Stored lines were validated and rendered by their model on the way in, so the fast
        # reader accepts them with the model's values (timestamps carry at most microseconds:
        # nothing to round); the model still answers for any it refuses.
        rows = await self.lines.read(sql.by_owner, self.source.value, list(keys))
        fast = fast_decoder(self.spec.model)
        found: dict[str, list[Any]] = {}
        for start in range(0, len(rows), TURN_ROWS * 4):  # the fast reader: 4 times as many
            if start:
                await asyncio.sleep(0)  # the event loop's turn between two shares
            with gc_paused(freeze=False):  # thousands of small objects, no cycle among them
                for owner, body in rows[start : start + TURN_ROWS * 4]:
                    try:
                        line: Any = fast(body)
                    except FastLineError:
                        line = self._parse(body)
                    if line is not None:
                        found.setdefault(owner, []).append(line)
        return [found.get(key, []) for key in keys]

    async def scan(self) -> AsyncIterator[BaseModel]:
        after = ""
        while True:
            rows = await self.lines.run(sql.page, self.source.value, after)
            for line_id, body in rows:
                # Not counted into ``report``: that is what loading the file found.
                line = self._parse(body)
                if line is not None:
                    yield line
                after = line_id
            if len(rows) < 5000:
                return

    checks_suppressions = True  # the store's suppressions are in the same file

    async def append(
        self, lines: Sequence[BaseModel], mark: Mark | None = None, guard: Guard | None = None
    ) -> list[Taken]:
        """Store lines and their marks (one transaction, written before anything is
        answered); per line what :meth:`~SourceConnector.sort_out` decided against the
        stored versions. A line carrying a digest of ``guard`` that the store's
        suppressions hold is refused (``suppressed``), read in that same transaction."""
        if not lines:
            return []
        ids = sorted({self.line_id(line) for line in lines})
        source = self.source.value

        def take(db: sqlite3.Connection) -> list[Taken]:
            with immediate(db):  # read and write in one: no writer in between
                refused = guard.refused(sql.suppressed(db, guard.carried())) if guard else set()
                kept = [line for n, line in enumerate(lines) if n not in refused]
                stored = {
                    line_id: parsed
                    for line_id, body in sql.by_id(db, self.source.value, ids)
                    if (parsed := self._parse(body)) is not None
                }
                outcomes, changed = self.sort_out(kept, stored, mark)
                db.executemany(
                    sql.UPSERT,
                    [(source, self.line_id(line), owner, render(line)) for line, owner in changed],
                )
                marks = self.marks(kept, outcomes)
                db.executemany(sql.MARK, [(source, i, m) for i, m in marks.items()])
            verdicts = iter(outcomes)
            return [
                Taken("suppressed") if n in refused else next(verdicts) for n in range(len(lines))
            ]

        outcomes = await self.lines.run(take)
        if self.count is not None:
            self.count += sum(1 for taken in outcomes if taken == "created")
        return outcomes

    async def abandoned(self) -> list[tuple[BaseModel, str]]:
        if self.lines.push_lock is None:
            return []
        source = self.source.value
        marked = await self.lines.run(sql.any_pending, source)
        # Under the push lock no other process is pushing: any mark is a push's left over.
        return await self.unsettled() if marked else []

    async def by_id(self, ids: Sequence[str]) -> dict[str, BaseModel]:
        """The stored version of each line id held (ids not held are left out)."""
        rows = await self.lines.run(sql.by_id, self.source.value, sorted(set(ids)))
        return {line_id: line for line_id, body in rows if (line := self._parse(body)) is not None}

    async def unsettled(self) -> list[tuple[BaseModel, str]]:
        # A stored line that no longer validates is logged by _parse and left unannounced.
        rows = await self.lines.run(sql.pending, self.source.value)
        return [(line, mark) for body, mark in rows if (line := self._parse(body)) is not None]

    async def settle(self, marks: Sequence[tuple[str, str]]) -> None:
        if marks:
            source = self.source.value
            await self.lines.run(sql.settle, source, list(marks))

    async def put(self, rows: Iterable[tuple[str, str, bytes]]) -> None:
        """Write ``(line id, owner, JSON)`` rows as they are (a first load of lines already
        ordered; of two rows with one id, the later one is kept), in one transaction."""
        # In key order the table's pages fill one after the other; in a file's order each
        # line lands on a random page (3 times the time for 250,000 lines). A stable sort:
        # the later of two rows with one id is still written last.
        ordered = sorted(rows, key=itemgetter(0))

        await self.lines.run(sql.put, self.source.value, ordered)

"""The embedded identity store: one SQLite file through aiosqlite.

Every :meth:`SqliteStore.apply` is one transaction (``BEGIN IMMEDIATE`` … ``COMMIT``), so a
crash leaves the state before or after a change, never between. WAL mode lets readers go
on while a change is written (the file's connections: :mod:`.sqlite_connections`; what
the loaders and lookups read: :mod:`.sqlite_member_reads`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import UTC, datetime
from pathlib import Path

import aiosqlite

from membergraph.identity.closure import Closure, Walk
from membergraph.identity.engine import Link, ValueKey
from membergraph.identity.feed import FeedEntry
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.store import sqlite_erased_ids as erased_ids
from membergraph.identity.store import sqlite_feed, sqlite_read
from membergraph.identity.store.format import (
    STORE_FORMAT,
    StoreMark,
    Verdict,
    read_mark,
)
from membergraph.identity.store.port import (
    Change,
    ClosureStep,
    IdentityStore,
    MemberColumn,
    ScopeState,
    StoredLink,
)
from membergraph.identity.store.sqlite_answers import SqliteAnswers
from membergraph.identity.store.sqlite_first_load import (
    FirstLoad,
    apply_change,
    roll_back_load,
    stage_links,
    stage_members,
    stage_records,
)
from membergraph.identity.store.sqlite_member_reads import SqliteMemberReads
from membergraph.identity.store.sqlite_metrics import METRICS_SCHEMA, SqliteMetrics
from membergraph.identity.store.sqlite_schema import SCHEMA
from membergraph.identity.store.sqlite_write import member_versions
from membergraph.identity.store.tombstones import any_buried_sqlite
from membergraph.private_files import create_private
from membergraph.sqlite_tx import BUSY_SECONDS, OpenedFile, add_columns, immediate, to_wal

__all__ = ["SqliteStore"]


class SqliteStore(SqliteMemberReads, IdentityStore):
    """Identity store on a SQLite file (``sqlite:///./membergraph.db``)."""

    def __init__(self, path: str | Path, durable: bool = True) -> None:
        super().__init__(path, durable)
        self.url = f"sqlite:///{self.path}"
        # A first load's open transaction (see stage), in the connection's thread.
        self._load: FirstLoad | None = None

    @classmethod
    def from_url(cls, url: str, durable: bool = True) -> SqliteStore:
        """``sqlite:///relative/or/absolute/path.db`` (``sqlite:///:memory:`` for tests)."""
        return cls(url.removeprefix("sqlite:///"), durable)

    async def open(self) -> None:
        try:
            await self._open()
        except BaseException:
            # The connection's thread keeps a process alive: a file that is no database
            # must end the command that said so, not leave it hanging.
            await self.aclose()
            raise

    async def _open(self) -> None:
        async with self._mapped("open"):
            if self.path != ":memory:":
                Path(self.path).parent.mkdir(parents=True, exist_ok=True)
                create_private(self.path)  # personal data: its owner's only, -wal and -shm too
            self._db = await aiosqlite.connect(
                self.path, isolation_level=None, timeout=BUSY_SECONDS
            )
            self._file = OpenedFile(self.path)
            self._db.row_factory = sqlite3.Row
            await self._db.execute(f"PRAGMA synchronous = {self.synchronous}")
            # A store of another format is left as it is: a start refuses it, writing
            # nothing; ``membergraph reresolve`` writes this release's schema into it.
            if await self.apart() is None:
                await self.write_schema()

    async def apart(self) -> Verdict | None:
        # A new file holds no table to read (records first, as every store made them).
        if not await self._all("SELECT 1 FROM sqlite_master WHERE name = 'records'"):
            return None
        return await super().apart()

    async def write_schema(self) -> None:
        async with self._mapped("open"):
            await self._in_thread(to_wal)
            await self.db.executescript(SCHEMA)
            await self.db.executescript(METRICS_SCHEMA)
            await self.db.execute(f"PRAGMA synchronous = {self.synchronous}")  # (SCHEMA's)
            # A store written before purchase days, a card's e-mails by day, line versions;
            # a feed written before value tags (its entries carry none: read as none).
            await self._in_thread(add_columns, "records", ("days", "email_days", "version"))
            await self._in_thread(add_columns, "feed", ("value_tags",))
            # A store an earlier release erased in: the id it kept in meta becomes a row.
            await self._in_thread(erased_ids.upgrade)
            # A new store is marked with this release's format from the start (what made a
            # store holding records and no mark is unknown: format 0, ``format.verdict``).
            # Read first: a store marked already takes no write lock as it opens.
            marked = await self.db.execute_fetchall(
                "SELECT EXISTS (SELECT 1 FROM meta WHERE key = 'format')"
                " OR EXISTS (SELECT 1 FROM records)"
            )
            if not list(marked)[0][0]:
                await self.db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('format', ?)",
                    (str(STORE_FORMAT),),
                )

    async def ping(self) -> dict[str, int]:
        async with self._mapped("read"):
            self._same_file()  # (readiness: a process writing to a deleted file is not ready)
        await self._writable()
        rows = await self._all(
            "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM members),"
            " (SELECT count(*) FROM links WHERE retracted_at IS NULL)"
        )
        records, members, links = rows[0]
        return {"records": records, "members": members, "links": links}

    async def apply(self, change: Change) -> None:
        at = (change.at or datetime.now(UTC)).isoformat()
        try:
            async with self._mapped("write"):
                await self._in_thread(self._finish, change, at)
        finally:
            self._staging = False  # a first load's transaction, if any, is over

    def metrics(self) -> SqliteMetrics:
        return SqliteMetrics(self)

    async def mark(self) -> StoreMark | None:
        if not await self._all("SELECT 1 FROM sqlite_master WHERE name = 'meta'"):
            return None  # (a store from before marks, opened as it is)
        rows = await self._all("SELECT key, value FROM meta WHERE key IN ('format', 'rules')")
        found = {row[0]: row[1] for row in rows}
        if "format" not in found:
            return None
        return read_mark(found["format"], found.get("rules", ""))

    async def set_mark(self, mark: StoreMark) -> None:
        await self._set_meta([("format", str(mark.format)), ("rules", mark.rules)])
        # A whole-store resolution: answers kept from the members before are no one's now.
        await SqliteAnswers(self).clear()

    async def sources_resolved(self) -> str | None:
        rows = await self._all("SELECT value FROM meta WHERE key = 'sources_resolved'")
        return str(rows[0][0]) if rows else None

    async def set_sources_resolved(self, version: str) -> None:
        await self._set_meta([("sources_resolved", version)])

    async def _set_meta(self, pairs: list[tuple[str, str]]) -> None:
        def write(db: sqlite3.Connection) -> None:
            with immediate(db):
                db.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", pairs)

        async with self._mapped("write"):
            await self._in_thread(write)

    async def holds_records(self) -> bool:
        return bool(await self._all("SELECT 1 FROM records LIMIT 1"))

    async def append_feed(self, entries: Sequence[FeedEntry]) -> list[int]:
        if not entries:
            return []
        async with self._mapped("write"):
            return await self._in_thread(sqlite_feed.append, entries)

    async def feed_after(
        self, cursor: int, limit: int, member_id: str | None = None
    ) -> list[FeedEntry]:
        # The retention check and the entries are two reads: one snapshot, or another
        # process's pruning between them leaves a hole in the tail instead of FEED_EXPIRED.
        return await self._read(
            sqlite_read.in_snapshot, sqlite_feed.after, cursor, limit, member_id
        )

    async def feed_head(self) -> int:
        return await self._read(sqlite_feed.head)

    async def redirect_chain(self, member_id: str) -> list[str]:
        return await self._read(sqlite_feed.redirect_chain, member_id)

    async def fed_lines(self, source: str, line_ids: Sequence[str], after: int = 0) -> set[str]:
        return await self._read(sqlite_feed.fed, source, list(line_ids), after)

    async def prune_feed(self, before: datetime) -> int:
        async with self._mapped("write"):
            return await self._in_thread(sqlite_feed.prune, before)

    # A first load's stages run in the connection's thread in the order they were called
    # (aiosqlite's queue): each finds there what the ones before it wrote, even when called
    # before those are done (the engine's first links arrive while the records are written).

    async def stage(self, records: Sequence[RecordData]) -> None:
        self._staging = True  # (reads now go through the writer: they see what it stages)
        await self._close_beside()  # (the file held alone: see ReadConnection)
        async with self._mapped("write"):
            await self._in_thread(self._begin, records)

    async def stage_links(
        self, links: Sequence[Link], actor: str, at: datetime, more: bool = False
    ) -> None:
        async with self._mapped("write"):
            await self._in_thread(self._links, links, actor, at.isoformat(), more)

    async def stage_members(
        self, assignments: Mapping[RecordKey, str], new_members: Sequence[str], at: datetime
    ) -> None:
        async with self._mapped("write"):
            await self._in_thread(self._members, assignments, new_members, at.isoformat())

    async def unstage(self) -> None:
        if self._db is None:  # closed: nothing can be open on it
            return
        try:
            async with self._mapped("rollback"):
                await self._trip(self._abandon)  # (a rollback, whatever the file is now)
        finally:
            self._staging = False

    def _begin(self, db: sqlite3.Connection, records: Sequence[RecordData]) -> None:
        ordered = stage_records(db, records)
        # Read in the load's transaction: an erasure cannot add one before it commits.
        self._load = None if ordered is None else FirstLoad(ordered, erased=any_buried_sqlite(db))

    def _links(
        self, db: sqlite3.Connection, links: Sequence[Link], actor: str, at: str, more: bool
    ) -> None:
        if self._load is not None:
            stage_links(db, links, actor, at, more)
            self._load.staged |= {"links"}

    def _members(
        self,
        db: sqlite3.Connection,
        assignments: Mapping[RecordKey, str],
        new_members: Sequence[str],
        at: str,
    ) -> None:
        if self._load is not None:
            stage_members(db, self._load.records, assignments, new_members, at)
            self._load.staged |= {"members"}

    def _finish(self, db: sqlite3.Connection, change: Change, at: str) -> None:
        load, self._load = self._load, None
        apply_change(db, change, at, load, self.synchronous)

    def _abandon(self, db: sqlite3.Connection) -> None:
        if self._load is not None:
            self._load = None
            roll_back_load(db, self.synchronous)

    async def record_members(
        self, column: MemberColumn, refs: Iterable[RecordKey] | None
    ) -> dict[RecordKey, str]:
        refs = None if refs is None else list(refs)
        return await self._read(sqlite_read.record_column, column, refs)

    async def active_links(self, refs: Iterable[RecordKey] | None) -> list[StoredLink]:
        return await self._read(sqlite_read.links, None if refs is None else list(refs), "")

    async def manual_links(self, refs: Iterable[RecordKey] | None) -> list[StoredLink]:
        refs = None if refs is None else list(refs)
        return await self._read(sqlite_read.links, refs, " AND l.rule = 'manual'")

    async def cannot_links(
        self, refs: Iterable[RecordKey] | None, lifted: bool = False
    ) -> list[tuple[RecordKey, RecordKey]]:
        refs = None if refs is None else list(refs)
        return await self._read(sqlite_read.cannot_links, refs, lifted)

    async def scope_state(self, refs: Iterable[RecordKey] | None) -> ScopeState:
        return await self._read(sqlite_read.scope_state, None if refs is None else list(refs))

    async def closure_step(
        self,
        values: Iterable[ValueKey],
        frontier: Sequence[RecordKey],
        seen_members: set[str],
        known: Set[RecordKey],
        limit: int,
        peek: Sequence[ValueKey] = (),
        crowded: Mapping[ValueKey, Set[RecordKey]] | None = None,
    ) -> ClosureStep:
        step, values, frontier = sqlite_read.closure_step, list(values), list(frontier)
        read, peek = sqlite_read.in_snapshot, list(peek)
        asked = (values, frontier, seen_members, known, limit, peek, crowded)
        return await self._read(read, step, *asked)

    async def closure_state(self, walk: Walk) -> tuple[Closure, ScopeState]:
        return await self._read(sqlite_read.closure_state, walk)

    async def member_versions(self, member_ids: Iterable[str]) -> dict[str, int]:
        return await self._read(member_versions, list(member_ids))

    async def whole_store_versions(self) -> dict[str, int]:
        return await self._read(member_versions, None)

    async def taken_member_ids(self, ids: Iterable[str]) -> set[str]:
        load = self._load  # set by stage, which the caller awaited
        if load is not None and "members" not in load.staged and not load.erased:
            # A first load, which found no record and no tombstone under its write lock: no
            # member ever existed here (records are deleted only by an erasure, which leaves
            # its members' tombstones), so no ID was ever used. No read, which would wait
            # behind the staged writes.
            return set()
        return await self._read(sqlite_read.taken_member_ids, list(ids))

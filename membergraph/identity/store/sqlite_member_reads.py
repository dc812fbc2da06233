"""What the loaders and lookups read of a SQLite store: the identity store port's
:class:`~membergraph.identity.store.port_reads.MemberReads` (a member's records,
identifiers, parts and history, a member found by an identifier, a page of members, the
conflicts), over the file's connections.

:class:`SqliteMemberReads` is the read side of
:class:`~membergraph.identity.store.sqlite.SqliteStore`, as
:class:`~membergraph.identity.store.mongodb_read.MongoReads` is of the MongoDB store; the
statements themselves are in :mod:`.sqlite_read`, :mod:`.sqlite_members` and
:mod:`.sqlite_lookup`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path

import orjson

from membergraph.identity.engine import ValueKey
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordData, RecordKey
from membergraph.identity.store import sqlite_lookup, sqlite_members, sqlite_read
from membergraph.identity.store.port import IdentityEvent, MemberCarried, MemberParts, event_from
from membergraph.identity.store.sqlite_connections import SqliteConnections
from membergraph.identity.store.sqlite_erased_ids import SHOWN
from membergraph.identity.store.sqlite_rows import chunks

__all__ = ["SqliteMemberReads"]


def _event_row(row: sqlite3.Row) -> IdentityEvent:
    return event_from(row, orjson.loads(row["evidence"]), orjson.loads(row["records"]))


class SqliteMemberReads(SqliteConnections):
    """The member reads of the identity store port, through the file's connections."""

    def __init__(self, path: str | Path, durable: bool = True) -> None:
        super().__init__(path, durable)
        self.beside_lookup: Callable[[sqlite3.Connection, list[RecordKey]], object] | None = None
        """A read of a found member's records run in the lookup's own trip
        (:meth:`find_member_carried`, :meth:`member_carried`), its answer in
        ``MemberCarried.beside``: the gateway sets it to read the member's lines when the
        sources live in this file."""

    async def load_records(self, refs: Iterable[RecordKey] | None) -> dict[RecordKey, RecordData]:
        # Records and their identifiers are two reads: one snapshot, or a line another
        # process commits between them gives identifiers of a record not read (reresolve
        # beside a gateway taking pushes failed with a KeyError).
        refs = None if refs is None else list(refs)
        return await self._read(sqlite_read.in_snapshot, sqlite_read.load_records, refs)

    async def carriers(
        self, values: Iterable[ValueKey], cap: int | None = None
    ) -> dict[ValueKey, list[RecordKey]]:
        return await self._read(sqlite_read.carriers, list(values), cap)

    async def resolve_member_id(self, member_id: str) -> str | None:
        return await self._read(sqlite_lookup.live_member_id, member_id)

    async def member_records(self, member_ids: Sequence[str]) -> list[list[RecordKey]]:
        return await self._read(sqlite_members.member_records, list(member_ids))

    async def member_identifiers(
        self, member_ids: Sequence[str]
    ) -> list[list[tuple[RecordKey, Identifier]]]:
        return await self._read(sqlite_members.member_identifiers, list(member_ids))

    async def member_parts(self, member_ids: Sequence[str]) -> list[MemberParts]:
        return await self._read(sqlite_members.member_parts, list(member_ids))

    async def find_members(self, kind: IdentifierKind, key: str) -> list[str]:
        return await self._read(sqlite_lookup.find_members, kind.value, key)

    async def ranked_members(self, kind: IdentifierKind, key: str) -> list[tuple[str, int]]:
        return await self._read(sqlite_lookup.ranked_members, kind.value, key)

    async def find_member_parts(
        self, kind: IdentifierKind, key: str
    ) -> tuple[str, MemberParts] | None:
        return await self._read(sqlite_lookup.find_member_parts, kind.value, key)

    async def find_member_carried(
        self, kind: IdentifierKind, key: str, floor: int, max_records: int
    ) -> MemberCarried | None:
        return await self._point_read(
            sqlite_lookup.find_member_carried,
            kind.value,
            key,
            floor,
            max_records,
            self.beside_lookup,
        )

    async def member_carried(
        self, member_id: str, floor: int, max_records: int
    ) -> MemberCarried | None:
        return await self._point_read(
            sqlite_lookup.member_carried, member_id, floor, max_records, self.beside_lookup
        )

    async def page_members(
        self, after: str | None, limit: int, source: str | None = None
    ) -> list[str]:
        if source is None:
            sql, params = (
                "SELECT id FROM members WHERE id > ? ORDER BY id LIMIT ?",
                (after or "", limit),
            )
        else:
            sql = (
                "SELECT DISTINCT member_id FROM records WHERE source = ? AND member_id > ?"
                " ORDER BY member_id LIMIT ?"
            )
            params = (source, after or "", limit)  # type: ignore[assignment]
        return [r[0] for r in await self._all(sql, params)]

    async def count_members(self, source: str | None = None) -> int:
        if source is None:
            rows = await self._all("SELECT count(*) FROM members")
        else:
            rows = await self._all(
                "SELECT count(DISTINCT member_id) FROM records WHERE source = ?", (source,)
            )
        return int(rows[0][0])

    async def member_events(self, member_ids: Sequence[str]) -> list[list[IdentityEvent]]:
        grouped = await self._read(sqlite_members.member_histories, list(member_ids))
        return [[_event_row(r) for r in grouped.get(m, [])] for m in member_ids]

    async def list_conflicts(self, limit: int, offset: int = 0) -> list[IdentityEvent]:
        rows = await self._all(
            "SELECT * FROM events WHERE kind = 'conflict' ORDER BY id DESC LIMIT ? OFFSET ?",
            (limit, offset),
        )
        return [_event_row(r) for r in rows]

    async def member_created(self, member_ids: Iterable[str]) -> dict[str, datetime]:
        def read(db: sqlite3.Connection, ids: list[str]) -> dict[str, datetime]:
            found: dict[str, datetime] = {}
            for chunk in chunks(ids):
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT id, created_at FROM members WHERE id IN ({marks})"
                rows = db.execute(sql, chunk)
                found.update({r[0]: datetime.fromisoformat(r[1]) for r in rows})
            return found

        return await self._read(read, sorted(set(member_ids)))

    async def event(self, event_id: int) -> IdentityEvent | None:
        rows = await self._all(f"SELECT * FROM events WHERE id = ? AND {SHOWN}", (event_id,))
        return _event_row(rows[0]) if rows else None

    async def event_gone(self, event_id: int) -> bool | None:
        # The newest id given: the newest row's, an erasure's standing row's (sqlite_erased_ids).
        rows = await self._all("SELECT coalesce(max(id), 0) FROM events")
        return event_id <= rows[0][0] and await self.event(event_id) is None

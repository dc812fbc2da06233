"""The SQLite store's per-member metrics: kept in tables beside the identity graph, scored
from cut points found through indexes (``sqlite_scoring``), filtered, ordered and aggregated
by SQL over indexes.

Plain ``sqlite3`` functions run in the store connection's thread (one hop, many
statements); :class:`SqliteMetrics` is the port over them.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from membergraph.identity.store.metrics_port import (
    DAYS,
    FIGURES,
    RANKS,
    ConflictQuery,
    GroupKey,
    MemberQuery,
    MetricsRow,
    MetricsStore,
    OrderField,
    SalesRow,
    ScoredRow,
    Scoring,
    StatsRow,
    cuts_of,
    cuts_text,
    tier_changes,
)
from membergraph.identity.store.port import IdentityEvent
from membergraph.identity.store.sqlite_query import (
    conflict_count,
    conflict_decisions,
    conflicts_page,
    member_count,
    member_page,
    member_stats,
    segment_counts,
)
from membergraph.identity.store.sqlite_scoring import (
    RANK_INDEXES,
    SCORING_SCHEMA,
    mark_unscored,
    score_pass,
)
from membergraph.identity.store.sqlite_write import write_feed
from membergraph.sqlite_tx import in_transaction

if TYPE_CHECKING:
    from membergraph.identity.store.sqlite import SqliteStore

__all__ = ["METRICS_SCHEMA", "SqliteMetrics"]

T = TypeVar("T")

_ORDERED = ("lifetime_spend_cents", "monetary_cents", "points_balance", "last_purchase_at")
_INDEXES = {
    f"member_metrics_{c}": f"ON member_metrics ({c}, member_id)"
    for c in (*_ORDERED, "member_since", "tier", "measured_at")
} | RANK_INDEXES
"""The rows' secondary indexes, by name: set aside while a rebuild fills an empty table."""
METRICS_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS member_metrics (member_id TEXT PRIMARY KEY,"
    " measured_at INTEGER NOT NULL, cursor INTEGER NOT NULL, member_since TEXT NOT NULL,"
    + "".join(f" {f} INTEGER NOT NULL," for f in FIGURES)
    + "".join(f" {d} INTEGER," for d in DAYS)
    + " tier TEXT NOT NULL, sources TEXT NOT NULL, consented TEXT NOT NULL,"
    " reachable TEXT NOT NULL, r INTEGER NOT NULL DEFAULT 1, f INTEGER NOT NULL DEFAULT 1,"
    " m INTEGER NOT NULL DEFAULT 1, e INTEGER NOT NULL DEFAULT 1,"
    " p INTEGER NOT NULL DEFAULT 1) WITHOUT ROWID;\n"
    "CREATE TABLE IF NOT EXISTS member_segments (segment TEXT NOT NULL,"
    " member_id TEXT NOT NULL, PRIMARY KEY (segment, member_id)) WITHOUT ROWID;\n"
    "CREATE INDEX IF NOT EXISTS member_segments_member ON member_segments (member_id);\n"
    "CREATE TABLE IF NOT EXISTS member_sales (member_id TEXT NOT NULL, channel TEXT NOT NULL,"
    " store TEXT NOT NULL, month TEXT NOT NULL, purchases INTEGER NOT NULL,"
    " spend_cents INTEGER NOT NULL, points_earned INTEGER NOT NULL,"
    " points_redeemed INTEGER NOT NULL, PRIMARY KEY (member_id, channel, store, month))"
    " WITHOUT ROWID;\n"
    + "".join(f"CREATE INDEX IF NOT EXISTS {n} {on};\n" for n, on in _INDEXES.items())
    + "CREATE INDEX IF NOT EXISTS events_kind_id ON events (kind, id);\n"
    + SCORING_SCHEMA
)

_COLUMNS = ("measured_at", "cursor", *FIGURES, *DAYS, "tier", "sources", "consented", "reachable")
_SCORES = tuple(RANKS)  # r f m e p


def _set(values: Sequence[str]) -> str:
    """A small set as text that ``instr`` can test: ``,crm,transactions,``."""
    return "," + ",".join(sorted(values)) + ","


def _unset(text: str) -> tuple[str, ...]:
    return tuple(v for v in text.split(",") if v)


def _meta(db: sqlite3.Connection, key: str) -> str | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _set_meta(db: sqlite3.Connection, key: str, value: str) -> None:
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _put(
    db: sqlite3.Connection,
    rows: Sequence[MetricsRow],
    gone: Sequence[str],
    cursor: int,
    announce: bool = False,
) -> int:
    def write(db: sqlite3.Connection) -> int:
        ids = [r.member_id for r in rows]
        held: dict[str, tuple[int, str]] = {  # each member's kept row: its cursor and tier
            m: (c, t)
            for start in range(0, len(ids), 500)
            for m, c, t in db.execute(
                "SELECT member_id, cursor, tier FROM member_metrics WHERE member_id IN"
                f" ({','.join('?' * len(ids[start : start + 500]))})",
                ids[start : start + 500],
            )
        }
        kept = [r for r in rows if held.get(r.member_id, (cursor, ""))[0] <= cursor]
        dropped = [*gone, *(r.member_id for r in kept)]
        for table in ("member_metrics", "member_sales", "member_segments"):
            db.executemany(f"DELETE FROM {table} WHERE member_id = ?", [(m,) for m in dropped])
        marks = ",".join("?" * len(_COLUMNS))
        db.executemany(
            f"INSERT INTO member_metrics (member_id, member_since, {', '.join(_COLUMNS)})"
            f" VALUES (?, coalesce((SELECT created_at FROM members WHERE id = ?), ''), {marks})",
            [_values(r, cursor) for r in kept],
        )
        db.executemany(
            "INSERT INTO member_sales VALUES (?,?,?,?,?,?,?,?)",
            [(r.member_id, *s) for r in kept for s in r.sales],
        )
        mark_unscored(db, (r.member_id for r in kept))
        if kept or gone:
            version = int(_meta(db, "metrics_version") or 0) + 1
            _set_meta(db, "metrics_version", str(version))
        if not announce:
            return 0
        return len(write_feed(db, tier_changes(kept, {m: t for m, (_, t) in held.items()})))

    return in_transaction(db, write)


def _set_indexes_aside(db: sqlite3.Connection) -> bool:
    """Drop the rows' indexes if there is no row yet (a first rebuild): whether it did. Built
    once at the end, they cost a fifth of keeping them row by row; a crash before the end
    leaves them to the next open (``METRICS_SCHEMA``)."""

    def write(db: sqlite3.Connection) -> bool:
        if db.execute("SELECT 1 FROM member_metrics LIMIT 1").fetchone() is not None:
            return False
        for name in _INDEXES:
            db.execute(f"DROP INDEX IF EXISTS {name}")
        return True

    return in_transaction(db, write)


def _build_indexes(db: sqlite3.Connection) -> None:
    def write(db: sqlite3.Connection) -> None:
        for name, on in _INDEXES.items():
            db.execute(f"CREATE INDEX IF NOT EXISTS {name} {on}")

    in_transaction(db, write)


def _values(row: MetricsRow, cursor: int) -> tuple[Any, ...]:
    return (
        row.member_id,
        row.member_id,  # its start, read from ``members``
        row.measured_at,
        cursor,
        *(row.figures[f] for f in FIGURES),
        *(row.days[d] for d in DAYS),
        row.tier,
        _set(row.sources),
        _set(row.consented),
        _set(row.reachable),
    )


def _scored_as(db: sqlite3.Connection, scoring: Scoring) -> tuple[str, bool]:
    wanted = f"{_meta(db, 'metrics_version') or 0}|{scoring.name}"
    return wanted, _meta(db, "metrics_scored") == wanted


def _score(db: sqlite3.Connection, scoring: Scoring) -> bool:
    if _scored_as(db, scoring)[1]:  # read first: most questions find nothing to do
        return False

    def write(db: sqlite3.Connection) -> bool:
        wanted, done = _scored_as(db, scoring)  # again, under the write lock
        if done:
            return False
        scored_by = (_meta(db, "metrics_scored") or "").partition("|")[2]
        since = cuts_of(_meta(db, "metrics_cuts"))
        cuts = score_pass(db, scoring.rules, scored_by == scoring.name, since)
        _set_meta(db, "metrics_cuts", cuts_text(cuts))
        _set_meta(db, "metrics_scored", wanted)
        return True

    return in_transaction(db, write)


def _scored(db: sqlite3.Connection, member_ids: list[str]) -> list[ScoredRow | None]:
    found: dict[str, ScoredRow] = {}
    for start in range(0, len(member_ids), 500):
        chunk = member_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        segments: dict[str, list[str]] = {}
        for segment, member in db.execute(
            f"SELECT segment, member_id FROM member_segments WHERE member_id IN ({marks})"
            " ORDER BY segment",
            chunk,
        ):
            segments.setdefault(member, []).append(segment)
        sales: dict[str, list[SalesRow]] = {}
        for member, *sale in db.execute(
            f"SELECT * FROM member_sales WHERE member_id IN ({marks})"
            " ORDER BY member_id, channel, store, month",
            chunk,
        ):
            sales.setdefault(member, []).append(SalesRow(*sale))
        for row in db.execute(
            f"SELECT * FROM member_metrics WHERE member_id IN ({marks})", chunk
        ).fetchall():
            found[row["member_id"]] = ScoredRow(
                _row(row, tuple(sales.get(row["member_id"], ()))),
                tuple(row[c] for c in _SCORES),
                tuple(segments.get(row["member_id"], ())),
            )
    return [found.get(m) for m in member_ids]


def _row(row: sqlite3.Row, sales: tuple[SalesRow, ...]) -> MetricsRow:
    return MetricsRow(
        member_id=row["member_id"],
        measured_at=row["measured_at"],
        figures={f: row[f] for f in FIGURES},
        days={d: row[d] for d in DAYS},
        tier=row["tier"],
        sources=_unset(row["sources"]),
        consented=_unset(row["consented"]),
        reachable=_unset(row["reachable"]),
        sales=sales,
    )


class SqliteMetrics(MetricsStore):
    """The metrics tables of a :class:`SqliteStore`'s file, over its connection."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def _write(self, fn: Callable[..., T], *args: Any) -> T:
        async with self.store._mapped("metrics write"):
            return await self.store._in_thread(fn, *args)

    async def put(
        self,
        rows: Sequence[MetricsRow],
        gone: Sequence[str] = (),
        cursor: int = 0,
        announce: bool = False,
    ) -> int:
        if not rows and not gone:
            return 0
        return await self._write(_put, list(rows), list(gone), cursor, announce)

    @contextlib.asynccontextmanager
    async def rebuilding(self) -> AsyncIterator[None]:
        aside = await self._write(_set_indexes_aside)
        try:
            yield
        finally:
            if aside:
                await self._write(_build_indexes)

    async def position(self) -> int | None:
        found = await self.store._read(_meta, "metrics_position")
        return None if not found else int(found)

    async def set_position(self, cursor: int | None) -> None:
        await self._write(_set_meta, "metrics_position", "" if cursor is None else str(cursor))

    async def basis(self) -> str | None:
        return await self.store._read(_meta, "metrics_basis")

    async def set_basis(self, basis: str) -> None:
        await self._write(_set_meta, "metrics_basis", basis)

    async def outdated(self, reference: int, max_age: int, limit: int) -> list[str]:
        def find(db: sqlite3.Connection) -> list[str]:
            rows = db.execute(
                "SELECT member_id FROM member_metrics WHERE measured_at > ? OR measured_at < ?"
                " LIMIT ?",
                (reference, reference - max_age, limit),
            )
            return [r[0] for r in rows]

        return await self.store._read(find)

    async def score(self, scoring: Scoring) -> bool:
        return await self._write(_score, scoring)

    async def scored(self, member_ids: Sequence[str]) -> list[ScoredRow | None]:
        return await self.store._read(_scored, list(member_ids))

    async def page(
        self,
        query: MemberQuery,
        order: OrderField,
        descending: bool,
        after: tuple[int | str, str] | None,
        limit: int,
    ) -> list[tuple[str, int | str]]:
        return await self.store._read(member_page, query, order, descending, after, limit)

    async def count(self, query: MemberQuery) -> int:
        return await self.store._read(member_count, query)

    async def stats(self, query: MemberQuery, group_by: Sequence[GroupKey]) -> list[StatsRow]:
        return await self.store._read(member_stats, query, list(group_by))

    async def segment_counts(self) -> dict[str, int]:
        return await self.store._read(segment_counts)

    async def conflicts(
        self, query: ConflictQuery, before: int | None, limit: int, oldest_first: bool = False
    ) -> list[IdentityEvent]:
        return await self.store._read(conflicts_page, query, before, limit, oldest_first)

    async def count_conflicts(self, query: ConflictQuery) -> int:
        return await self.store._read(conflict_count, query)

    async def conflict_decisions(
        self, conflicts: Iterable[int] | None = None
    ) -> list[IdentityEvent]:
        return await self.store._read(conflict_decisions, conflicts)

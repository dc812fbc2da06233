"""The privacy store on the embedded SQLite file, over the identity store's connection.

Plain ``sqlite3`` functions run in that connection's thread (:meth:`SqliteStore.run`), so an
erasure is one transaction beside the identity graph it edits. Secure delete is on for every
connection to the file (deleted content is overwritten with zeros); :meth:`scrub` then
checkpoints the WAL and truncates it, so no copy of an erased page is left in it either.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson

from membergraph.identity.records import RecordKey
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.insights.consent import Channel, ConsentFact
from membergraph.privacy.port import (
    AccessEntry,
    Erasure,
    PrivacyRequest,
    PrivacyStore,
    Suppression,
)

__all__ = ["SqlitePrivacyStore"]

SCHEMA = """
PRAGMA secure_delete = ON;
CREATE TABLE IF NOT EXISTS consent_facts (
    source TEXT NOT NULL, rkey TEXT NOT NULL, channel TEXT NOT NULL, line TEXT NOT NULL,
    at TEXT NOT NULL, granted INTEGER NOT NULL,
    PRIMARY KEY (source, rkey, channel, line, at, granted)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS suppressions (
    digest TEXT PRIMARY KEY, kind TEXT NOT NULL, actor TEXT NOT NULL, at TEXT NOT NULL,
    reason TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS privacy_requests (
    id TEXT PRIMARY KEY, member_id TEXT NOT NULL, created_at TEXT NOT NULL, body TEXT NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS privacy_requests_member ON privacy_requests (member_id);
CREATE INDEX IF NOT EXISTS privacy_requests_created ON privacy_requests (created_at);
CREATE TABLE IF NOT EXISTS pii_access (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, actor TEXT NOT NULL,
    member_id TEXT NOT NULL, fields TEXT NOT NULL, request_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS pii_access_member ON pii_access (member_id, id);
CREATE INDEX IF NOT EXISTS pii_access_at ON pii_access (at);
CREATE TRIGGER IF NOT EXISTS pii_access_append_only BEFORE UPDATE ON pii_access
BEGIN SELECT RAISE(ABORT, 'the audit of personal data read is append-only'); END;
"""
_CHUNK = 400


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _in_tx(db: sqlite3.Connection, fn: Any, *args: Any) -> Any:
    db.execute("BEGIN IMMEDIATE")
    try:
        result = fn(db, *args)
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return result


def _fact_row(f: ConsentFact) -> tuple[str, str, str, str, str, int]:
    at = f.at.isoformat() if f.at is not None else ""
    return (f.source, f.record, f.channel.value, f.line, at, int(f.granted))


def _request_body(request: PrivacyRequest) -> str:
    body = {
        "kind": request.kind,
        "reason": request.reason,
        "actor": request.actor,
        "updated_at": request.updated_at.isoformat(),
        "state": request.state,
        "steps": request.steps,
        "counts": request.counts,
        "forwarded": request.forwarded,
        "sources": request.sources,
    }
    return orjson.dumps(body).decode()


def _request_of(row: sqlite3.Row | tuple[Any, ...]) -> PrivacyRequest:
    body = orjson.loads(row[3])
    return PrivacyRequest(
        id=row[0],
        member_id=row[1],
        created_at=datetime.fromisoformat(row[2]),
        kind=body["kind"],
        reason=body["reason"],
        actor=body["actor"],
        updated_at=datetime.fromisoformat(body["updated_at"]),
        state=body["state"],
        steps=body["steps"],
        counts=body["counts"],
        forwarded=body.get("forwarded", []),
        sources=body.get("sources", {}),
    )


def _where_refs(db: sqlite3.Connection, sql: str, refs: Sequence[RecordKey]) -> int:
    """Run ``sql`` (with ``{pairs}`` for a list of (source, key) rows) over ``refs``."""
    done = 0
    for chunk in _chunks(refs):
        pairs = ",".join("(?,?)" for _ in chunk)
        done += db.execute(sql.format(pairs=pairs), [v for ref in chunk for v in ref]).rowcount
    return done


def _where_in(db: sqlite3.Connection, sql: str, values: Sequence[str]) -> int:
    done = 0
    for chunk in _chunks(values):
        marks = ",".join("?" * len(chunk))
        done += db.execute(sql.format(marks=marks), list(chunk) * sql.count("{marks}")).rowcount
    return done


def _mentioning(db: sqlite3.Connection, table: str, id_col: str, words: Sequence[str]) -> list[int]:
    """Rows of ``table`` whose JSON columns hold one of ``words`` as a whole value, or whose
    free text (a steward's reason) holds one anywhere: one pass over the table."""
    if not words:
        return []
    json_cols = {"events": ("records", "evidence"), "feed": ("member_ids",)}[table]
    tests: list[str] = []
    params: list[str] = []
    for word in words:
        quoted = orjson.dumps(word).decode()
        tests += [f"instr({col}, ?) > 0" for col in json_cols] + [
            "instr(coalesce(reason,''), ?) > 0"
        ]
        params += [quoted] * len(json_cols) + [word]
    rows = db.execute(f"SELECT {id_col} FROM {table} WHERE {' OR '.join(tests)}", params)
    return sorted(int(r[0]) for r in rows)


def _erase(db: sqlite3.Connection, erasure: Erasure) -> dict[str, int]:
    refs, members = list(erasure.refs), list(erasure.member_ids)
    counts: dict[str, int] = {}
    pair = "(source, key) IN (VALUES {pairs})"
    counts["records"] = _where_refs(db, f"DELETE FROM records WHERE {pair}", refs)
    counts["identifiers"] = _where_refs(
        db, "DELETE FROM identifiers WHERE (source, rkey) IN (VALUES {pairs})", refs
    )
    counts["links"] = sum(
        _where_refs(
            db, f"DELETE FROM links WHERE ({end}_source, {end}_key) IN (VALUES {{pairs}})", refs
        )
        for end in ("a", "b")
    )
    counts["cannot_links"] = sum(
        _where_refs(
            db,
            f"DELETE FROM cannot_links WHERE ({end}_source, {end}_key) IN (VALUES {{pairs}})",
            refs,
        )
        for end in ("a", "b")
    )
    counts["consent_facts"] = _where_refs(
        db, "DELETE FROM consent_facts WHERE (source, rkey) IN (VALUES {pairs})", refs
    )
    events = _where_in(db, "DELETE FROM events WHERE member_id IN ({marks})", members)
    mentioning = _mentioning(db, "events", "id", erasure.words)
    counts["events"] = events + _where_in(
        db, "DELETE FROM events WHERE id IN ({marks})", [str(i) for i in mentioning]
    )
    counts["members"] = _where_in(db, "DELETE FROM members WHERE id IN ({marks})", members)
    counts["redirects"] = _where_in(
        db, "DELETE FROM redirects WHERE old_id IN ({marks}) OR new_id IN ({marks})", members
    )
    counts["feed"] = _erase_feed(db, erasure)
    return counts


def _erase_feed(db: sqlite3.Connection, erasure: Erasure) -> int:
    cursors: set[int] = set()
    for chunk in _chunks(list(erasure.member_ids)):
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT cursor FROM feed_members WHERE member_id IN ({marks})", chunk)
        cursors.update(int(r[0]) for r in rows)
    for chunk in _chunks(list(erasure.lines)):
        pairs = ",".join("(?,?)" for _ in chunk)
        rows = db.execute(
            f"SELECT cursor FROM feed WHERE (source, line_id) IN (VALUES {pairs})",
            [v for line in chunk for v in line],
        )
        cursors.update(int(r[0]) for r in rows)
    cursors.update(_mentioning(db, "feed", "cursor", erasure.words))
    ids = [str(c) for c in sorted(cursors)]
    _where_in(db, "DELETE FROM feed_members WHERE cursor IN ({marks})", ids)
    return _where_in(db, "DELETE FROM feed WHERE cursor IN ({marks})", ids)


def _secure_since_start(db: sqlite3.Connection) -> bool:
    row = db.execute("SELECT value FROM meta WHERE key = 'secure_delete'").fetchone()
    return row is not None


def _vacuum(db: sqlite3.Connection) -> None:
    # Pages freed before secure delete was on may still hold old bytes: rewrite the file.
    db.execute("VACUUM")
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('secure_delete', 'vacuumed')")


def _checkpoint(db: sqlite3.Connection) -> tuple[int, int, int]:
    row = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return int(row[0]), int(row[1]), int(row[2])


class SqlitePrivacyStore(PrivacyStore):
    """Privacy tables in the embedded store's file."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def open(self) -> None:
        def create(db: sqlite3.Connection) -> None:
            db.executescript(SCHEMA)
            # A store whose identity tables are still empty never freed a page before secure
            # delete was on: nothing to rewrite at its first erasure.
            if db.execute("SELECT 1 FROM records LIMIT 1").fetchone() is None:
                db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('secure_delete', 'from-start')"
                )

        await self.store.run(create)

    async def kept_secret(self) -> bytes:
        def read(db: sqlite3.Connection) -> str:
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('privacy_secret', ?)",
                (secrets.token_hex(32),),
            )
            return str(
                db.execute("SELECT value FROM meta WHERE key = 'privacy_secret'").fetchone()[0]
            )

        return bytes.fromhex(await self.store.run(_in_tx, read))

    async def record_consents(self, facts: Sequence[ConsentFact]) -> None:
        if not facts:
            return
        rows = [_fact_row(f) for f in facts]

        def write(db: sqlite3.Connection) -> None:
            db.executemany("INSERT OR IGNORE INTO consent_facts VALUES (?,?,?,?,?,?)", rows)

        await self.store.run(_in_tx, write)

    async def consent_facts(self, refs: Sequence[RecordKey]) -> list[list[ConsentFact]]:
        def read(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            rows: list[tuple[Any, ...]] = []
            for chunk in _chunks(list(refs)):
                pairs = ",".join("(?,?)" for _ in chunk)
                rows += db.execute(
                    "SELECT source, rkey, channel, line, at, granted FROM consent_facts"
                    f" WHERE (source, rkey) IN (VALUES {pairs})",
                    [v for ref in chunk for v in ref],
                ).fetchall()
            return rows

        found: dict[RecordKey, list[ConsentFact]] = {}
        for source, rkey, channel, line, at, granted in await self.store.run(read):
            when = datetime.fromisoformat(at) if at else None
            fact = ConsentFact(Channel(channel), bool(granted), when, source, rkey, line)
            found.setdefault((source, rkey), []).append(fact)
        return [found.get(ref, []) for ref in refs]

    async def suppress(self, entries: Sequence[Suppression]) -> int:
        rows = [(s.digest, s.kind, s.actor, s.at.isoformat(), s.reason) for s in entries]

        def write(db: sqlite3.Connection) -> int:
            before = db.total_changes
            db.executemany("INSERT OR IGNORE INTO suppressions VALUES (?,?,?,?,?)", rows)
            return db.total_changes - before

        return int(await self.store.run(_in_tx, write))

    async def unsuppress(self, digest: str) -> bool:
        def write(db: sqlite3.Connection) -> int:
            return db.execute("DELETE FROM suppressions WHERE digest = ?", (digest,)).rowcount

        return bool(await self.store.run(_in_tx, write))

    async def any_suppressed(self) -> bool:
        def read(db: sqlite3.Connection) -> bool:
            return db.execute("SELECT 1 FROM suppressions LIMIT 1").fetchone() is not None

        return bool(await self.store.run(read))

    async def suppressed(self, digests: Iterable[str]) -> set[str]:
        wanted = sorted(set(digests))

        def read(db: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for chunk in _chunks(wanted):
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT digest FROM suppressions WHERE digest IN ({marks})"
                found.update(r[0] for r in db.execute(sql, chunk))
            return found

        return await self.store.run(read) if wanted else set()

    async def save_request(self, request: PrivacyRequest) -> None:
        row = (
            request.id,
            request.member_id,
            request.created_at.isoformat(),
            _request_body(request),
        )

        def write(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO privacy_requests VALUES (?,?,?,?)", row)

        await self.store.run(_in_tx, write)

    async def requests(
        self, limit: int, offset: int = 0, member_id: str | None = None
    ) -> list[PrivacyRequest]:
        where, params = ("WHERE member_id = ?", [member_id]) if member_id else ("", [])

        def read(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return db.execute(
                f"SELECT id, member_id, created_at, body FROM privacy_requests {where}"
                " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
                [*params, limit, offset],
            ).fetchall()

        return [_request_of(r) for r in await self.store.run(read)]

    async def record_access(self, entries: Sequence[AccessEntry]) -> None:
        rows = [
            (e.at.isoformat(), e.actor, e.member_id, orjson.dumps(e.fields).decode(), e.request_id)
            for e in entries
        ]
        if not rows:
            return

        def write(db: sqlite3.Connection) -> None:
            db.executemany(
                "INSERT INTO pii_access (at, actor, member_id, fields, request_id)"
                " VALUES (?,?,?,?,?)",
                rows,
            )

        await self.store.run(_in_tx, write)

    async def access_log(self, member_id: str, limit: int) -> list[AccessEntry]:
        def read(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return db.execute(
                "SELECT id, at, actor, member_id, fields, request_id FROM pii_access"
                " WHERE member_id = ? ORDER BY id DESC LIMIT ?",
                (member_id, limit),
            ).fetchall()

        return [
            AccessEntry(
                id=row[0],
                at=datetime.fromisoformat(row[1]),
                actor=row[2],
                member_id=row[3],
                fields=tuple(orjson.loads(row[4])),
                request_id=row[5],
            )
            for row in await self.store.run(read)
        ]

    async def prune_access(self, before: datetime) -> int:
        def write(db: sqlite3.Connection) -> int:
            return db.execute("DELETE FROM pii_access WHERE at < ?", (before.isoformat(),)).rowcount

        return int(await self.store.run(_in_tx, write))

    async def erase_identity(self, erasure: Erasure, at: datetime) -> dict[str, int]:
        return dict(await self.store.run(_in_tx, _erase, erasure))

    async def scrub(self) -> dict[str, Any]:
        said: dict[str, Any] = {}
        if not await self.store.run(_secure_since_start):
            await self.store.run(_vacuum)
            said["vacuumed"] = True
        for attempt in range(50):  # a reader in the middle of a snapshot: try again shortly
            busy, log, done = await self.store.run(_checkpoint)
            if not busy and log == done:
                said["checkpointed"] = True
                return said
            await asyncio.sleep(0.02 * (attempt + 1))
        said["checkpointed"] = False
        return said

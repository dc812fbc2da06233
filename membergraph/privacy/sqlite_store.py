"""The privacy store on the embedded SQLite file, over the identity store's connection.

Plain ``sqlite3`` functions run in that connection's thread (:meth:`SqliteStore.run`), so an
erasure (:mod:`~membergraph.privacy.sqlite_erase`) is one transaction beside the identity
graph it edits. Secure delete is on for every connection to the file (deleted content is
overwritten with zeros); :meth:`scrub` then checkpoints the WAL and truncates it, so no copy
of an erased page is left in it either.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson

from membergraph.identity.records import RecordKey
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.insights.consent import Channel, ConsentFact
from membergraph.privacy.file_scan import file_holds_any
from membergraph.privacy.port import (
    EARLIER_ERASURES,
    AccessEntry,
    Erasure,
    PrivacyRequest,
    PrivacyStore,
    Suppression,
)
from membergraph.privacy.sqlite_erase import (
    bury_earlier,
    checkpoint,
    chunks,
    erase,
    secure_since_start,
    still_held,
    vacuum,
)
from membergraph.sqlite_tx import add_columns, in_transaction

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
    reason TEXT, key TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS suppressions_kind ON suppressions (kind);
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
CREATE TABLE IF NOT EXISTS privacy_leases (
    key TEXT PRIMARY KEY, holder TEXT NOT NULL, until TEXT NOT NULL
) WITHOUT ROWID;
CREATE TRIGGER IF NOT EXISTS pii_access_append_only BEFORE UPDATE ON pii_access
BEGIN SELECT RAISE(ABORT, 'the audit of personal data read is append-only'); END;
"""


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
        "resolve_again": request.resolve_again,
        "erased_ids": request.erased_ids,
        "only": request.only,
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
        resolve_again=[(s, k) for s, k in body.get("resolve_again", [])],
        erased_ids=list(body.get("erased_ids", [])),
        only=[(s, k) for s, k in body.get("only", [])],
    )


class SqlitePrivacyStore(PrivacyStore):
    """Privacy tables in the embedded store's file."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    async def open(self) -> None:
        def create(db: sqlite3.Connection) -> None:
            db.executescript(SCHEMA)
            add_columns(db, "suppressions", ("key",))  # an earlier release's rows name no key
            # A store whose identity tables are still empty never freed a page before secure
            # delete was on: nothing to rewrite at its first erasure.
            if db.execute("SELECT 1 FROM records LIMIT 1").fetchone() is None:
                db.execute(
                    "INSERT OR IGNORE INTO meta (key, value) VALUES ('secure_delete', 'from-start')"
                )

        await self.store.run(create)

        def earlier(db: sqlite3.Connection) -> bool:
            row = db.execute("SELECT 1 FROM meta WHERE key = ?", (EARLIER_ERASURES,)).fetchone()
            return row is not None

        if not await self.store.run(earlier):  # (read first: no write lock at every open)
            await self.store.run(in_transaction, bury_earlier, datetime.now(UTC))

    async def kept_secret(self) -> bytes:
        def read(db: sqlite3.Connection) -> str:
            db.execute(
                "INSERT OR IGNORE INTO meta (key, value) VALUES ('privacy_secret', ?)",
                (secrets.token_hex(32),),
            )
            return str(
                db.execute("SELECT value FROM meta WHERE key = 'privacy_secret'").fetchone()[0]
            )

        return bytes.fromhex(await self.store.run(in_transaction, read))

    async def own_secret(self) -> bytes | None:
        def read(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT value FROM meta WHERE key = 'privacy_secret'").fetchone()
            return None if row is None else str(row[0])

        found = await self.store.run_read(read)
        return None if found is None else bytes.fromhex(found)

    async def record_consents(self, facts: Sequence[ConsentFact]) -> None:
        if not facts:
            return
        rows = [_fact_row(f) for f in facts]

        def write(db: sqlite3.Connection) -> None:
            db.executemany("INSERT OR IGNORE INTO consent_facts VALUES (?,?,?,?,?,?)", rows)

        await self.store.run(in_transaction, write)

    async def consent_facts(self, refs: Sequence[RecordKey]) -> list[list[ConsentFact]]:
        def read(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            rows: list[tuple[Any, ...]] = []
            for chunk in chunks(list(refs)):
                pairs = ",".join("(?,?)" for _ in chunk)
                rows += db.execute(
                    "SELECT source, rkey, channel, line, at, granted FROM consent_facts"
                    f" WHERE (source, rkey) IN (VALUES {pairs})",
                    [v for ref in chunk for v in ref],
                ).fetchall()
            return rows

        found: dict[RecordKey, list[ConsentFact]] = {}
        for source, rkey, channel, line, at, granted in await self.store.run_read(read):
            when = datetime.fromisoformat(at) if at else None
            fact = ConsentFact(Channel(channel), bool(granted), when, source, rkey, line)
            found.setdefault((source, rkey), []).append(fact)
        return [found.get(ref, []) for ref in refs]

    async def suppress(self, entries: Sequence[Suppression]) -> int:
        rows = [(s.digest, s.kind, s.actor, s.at.isoformat(), s.reason, s.key) for s in entries]

        def write(db: sqlite3.Connection) -> int:
            before = db.total_changes
            db.executemany(
                "INSERT OR IGNORE INTO suppressions (digest, kind, actor, at, reason, key)"
                " VALUES (?,?,?,?,?,?)",
                rows,
            )
            return db.total_changes - before

        return int(await self.store.run(in_transaction, write))

    async def unsuppress(self, digest: str) -> bool:
        def write(db: sqlite3.Connection) -> int:
            return db.execute("DELETE FROM suppressions WHERE digest = ?", (digest,)).rowcount

        return bool(await self.store.run(in_transaction, write))

    async def suppression_keys(self) -> dict[str | None, int]:
        def read(db: sqlite3.Connection) -> dict[str | None, int]:
            rows = db.execute("SELECT key, count(*) FROM suppressions GROUP BY key")
            return {key: int(n) for key, n in rows}

        return await self.store.run_read(read)

    async def any_suppressed(self, kind: str | None = None) -> bool:
        where, args = ("WHERE kind = ?", (kind,)) if kind else ("", ())

        def read(db: sqlite3.Connection) -> bool:
            found = db.execute(f"SELECT 1 FROM suppressions {where} LIMIT 1", args).fetchone()
            return found is not None

        return bool(await self.store.run_read(read))

    async def suppressed(self, digests: Iterable[str]) -> set[str]:
        wanted = sorted(set(digests))

        def read(db: sqlite3.Connection) -> set[str]:
            found: set[str] = set()
            for chunk in chunks(wanted):
                marks = ",".join("?" * len(chunk))
                sql = f"SELECT digest FROM suppressions WHERE digest IN ({marks})"
                found.update(r[0] for r in db.execute(sql, chunk))
            return found

        return await self.store.run_read(read) if wanted else set()

    async def save_request(self, request: PrivacyRequest) -> None:
        row = (
            request.id,
            request.member_id,
            request.created_at.isoformat(),
            _request_body(request),
        )

        def write(db: sqlite3.Connection) -> None:
            db.execute("INSERT OR REPLACE INTO privacy_requests VALUES (?,?,?,?)", row)

        await self.store.run(in_transaction, write)

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

        return [_request_of(r) for r in await self.store.run_read(read)]

    async def request_states(self) -> dict[str, int]:
        def read(db: sqlite3.Connection) -> list[tuple[Any, ...]]:
            return db.execute(
                "SELECT json_extract(body, '$.state'), count(*) FROM privacy_requests GROUP BY 1"
            ).fetchall()

        return {str(state): int(n) for state, n in await self.store.run_read(read)}

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

        # (a request waits for its audit: on a writer of its own, not behind a push)
        await self.store.run_aside(in_transaction, write)

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
            for row in await self.store.run_read(read)
        ]

    async def prune_access(self, before: datetime) -> int:
        def write(db: sqlite3.Connection) -> int:
            return db.execute("DELETE FROM pii_access WHERE at < ?", (before.isoformat(),)).rowcount

        return int(await self.store.run(in_transaction, write))

    async def erase_identity(self, erasure: Erasure, at: datetime) -> dict[str, int]:
        return dict(await self.store.run(in_transaction, erase, erasure, at))

    async def lease(self, key: str, holder: str, until: datetime, now: datetime) -> bool:
        def take(db: sqlite3.Connection) -> bool:
            db.execute(
                "INSERT INTO privacy_leases VALUES (?,?,?) ON CONFLICT (key) DO UPDATE SET"
                " holder = excluded.holder, until = excluded.until"
                " WHERE privacy_leases.until < ? OR privacy_leases.holder = excluded.holder",
                (key, holder, until.isoformat(), now.isoformat()),
            )
            row = db.execute("SELECT holder FROM privacy_leases WHERE key = ?", (key,)).fetchone()
            return bool(row is not None and row[0] == holder)

        return bool(await self.store.run(in_transaction, take))

    async def release(self, key: str, holder: str) -> None:
        def drop(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM privacy_leases WHERE key = ? AND holder = ?", (key, holder))

        await self.store.run(in_transaction, drop)

    async def lease_holder(self, key: str) -> str | None:
        def read(db: sqlite3.Connection) -> str | None:
            row = db.execute("SELECT holder FROM privacy_leases WHERE key = ?", (key,)).fetchone()
            return None if row is None else str(row[0])

        held: str | None = await self.store.run(read)
        return held

    async def scrub(self, traces: Sequence[str] | None = ()) -> dict[str, Any]:
        said: dict[str, Any] = {}
        if traces is None or not await self.store.run(secure_since_start):
            await self.store.run(vacuum)
            said["vacuumed"] = True
        said["checkpointed"] = await self._checkpoint()
        # Secure delete zeroes what is deleted, not the copy of a row a page split left in
        # its old page's free space: if the file still holds one of her values that no live
        # row holds (another person's shared e-mail is not hers to erase), it is rewritten.
        if said["checkpointed"] and not said.get("vacuumed") and traces:
            traces = [t for t in traces if t not in await self.store.run(still_held, traces)]
        if (
            said["checkpointed"]
            and not said.get("vacuumed")
            and await asyncio.to_thread(file_holds_any, self.store.path, traces or ())
        ):
            await self.store.run(vacuum)
            said["vacuumed"] = True
            said["checkpointed"] = await self._checkpoint()
        return said

    async def _checkpoint(self) -> bool:
        """The WAL copied into the file and truncated (False: readers kept it busy)."""
        for attempt in range(50):  # a reader in the middle of a snapshot: try again shortly
            busy, log, done = await self.store.run(checkpoint)
            if not busy and log == done:
                return True
            await asyncio.sleep(0.02 * (attempt + 1))
        return False

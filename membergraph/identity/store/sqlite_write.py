"""The SQLite store's schema and its write path: one change, one transaction.

The write path is plain ``sqlite3``: :class:`SqliteStore` runs the whole of a change in the
connection's thread in one hop (``BEGIN IMMEDIATE`` ... ``COMMIT``), instead of a dozen
round trips through the event loop, which cost more than the writes themselves.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from membergraph.identity.store.port import Change, ConcurrentChange

__all__ = ["SCHEMA", "chunks", "member_versions", "write_change"]

SCHEMA = """
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
-- 64 MiB of page cache: a batch write touches the identifier index all over.
PRAGMA cache_size = -65536;
PRAGMA temp_store = MEMORY;
CREATE TABLE IF NOT EXISTS records (
    source TEXT NOT NULL, key TEXT NOT NULL, role TEXT NOT NULL, member_id TEXT,
    origin_member_id TEXT, previous_member_id TEXT,
    first_name TEXT, last_name TEXT, birth_date TEXT, address TEXT,
    PRIMARY KEY (source, key)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_member ON records (member_id);
CREATE TABLE IF NOT EXISTS identifiers (
    kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, via TEXT NOT NULL,
    source TEXT NOT NULL, rkey TEXT NOT NULL,
    PRIMARY KEY (kind, key, source, rkey, value, via)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS identifiers_record ON identifiers (source, rkey);
CREATE TABLE IF NOT EXISTS members (
    id TEXT PRIMARY KEY, created_at TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS redirects (old_id TEXT PRIMARY KEY, new_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS links (
    id INTEGER PRIMARY KEY, a_source TEXT, a_key TEXT, b_source TEXT, b_key TEXT,
    rule TEXT NOT NULL, evidence TEXT NOT NULL, actor TEXT NOT NULL, created_at TEXT NOT NULL,
    retracted_at TEXT
);
CREATE INDEX IF NOT EXISTS links_a ON links (a_source, a_key) WHERE retracted_at IS NULL;
CREATE INDEX IF NOT EXISTS links_b ON links (b_source, b_key) WHERE retracted_at IS NULL;
CREATE TABLE IF NOT EXISTS cannot_links (
    a_source TEXT, a_key TEXT, b_source TEXT, b_key TEXT, actor TEXT, reason TEXT,
    created_at TEXT, lifted_at TEXT
);
CREATE INDEX IF NOT EXISTS cannot_a ON cannot_links (a_source, a_key);
CREATE INDEX IF NOT EXISTS cannot_b ON cannot_links (b_source, b_key);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, member_id TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
    actor TEXT NOT NULL, rule TEXT, reason TEXT, evidence TEXT NOT NULL, records TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_member ON events (member_id);
CREATE INDEX IF NOT EXISTS events_kind ON events (kind);
"""

_CHUNK = 500  # SQLite's variable limit is 32766; chunks keep statements short and cached


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_change(db: sqlite3.Connection, change: Change, at: str) -> None:
    """Write one change inside the caller's transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``)."""
    if change.expected_versions:
        now = member_versions(db, change.expected_versions)
        moved = {m for m, v in change.expected_versions.items() if now.get(m) != v}
        if moved:
            raise ConcurrentChange(f"members changed meanwhile: {', '.join(sorted(moved))}")
    assigned = change.assignments
    if change.records:
        # Rows in key order: inserts then walk the B-trees instead of jumping around them.
        # A record's member rides along; origin_member_id is its first member, kept.
        db.executemany(
            "INSERT INTO records (source, key, role, first_name, last_name, birth_date,"
            " address, member_id, origin_member_id) VALUES (?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (source, key) DO UPDATE SET"
            " first_name=excluded.first_name, last_name=excluded.last_name,"
            " birth_date=excluded.birth_date, address=excluded.address,"
            " previous_member_id=CASE WHEN excluded.member_id IS NOT NULL AND"
            " excluded.member_id IS NOT member_id THEN member_id ELSE previous_member_id END,"
            " member_id=coalesce(excluded.member_id, member_id),"
            " origin_member_id=coalesce(origin_member_id, excluded.member_id)",
            sorted(
                (
                    r.source,
                    r.key,
                    r.role,
                    r.first_name,
                    r.last_name,
                    r.birth_date.isoformat() if r.birth_date else None,
                    r.address,
                    assigned.get(r.ref),
                    assigned.get(r.ref),
                )
                for r in change.records
            ),
        )
        db.executemany(
            "INSERT OR IGNORE INTO identifiers VALUES (?,?,?,?,?,?)",
            sorted(
                (i.kind.value, i.key, i.value, i.via, r.source, r.key)
                for r in change.records
                for i in r.identifiers
            ),
        )
    if change.redirects:
        retired = list(change.redirects)
        for chunk in chunks(retired):
            marks = ",".join("?" * len(chunk))
            db.execute(f"DELETE FROM members WHERE id IN ({marks})", chunk)
        db.executemany(
            "INSERT OR REPLACE INTO redirects VALUES (?,?)", list(change.redirects.items())
        )
    if change.new_members:
        for chunk in chunks(change.new_members):
            marks = ",".join("?" * len(chunk))
            db.execute(f"DELETE FROM redirects WHERE old_id IN ({marks})", chunk)
        db.executemany(
            "INSERT OR IGNORE INTO members (id, created_at) VALUES (?,?)",
            [(m, at) for m in change.new_members],
        )
    if change.assignments:
        written = {r.ref for r in change.records}
        # origin_member_id is the first member a record was given: a split hands it back.
        db.executemany(
            "UPDATE records SET previous_member_id=member_id, member_id=?,"
            " origin_member_id=coalesce(origin_member_id, ?) WHERE source=? AND key=?",
            [(m, m, s, k) for (s, k), m in assigned.items() if (s, k) not in written],
        )
        touched = sorted(set(change.assignments.values()))
        db.executemany(
            "UPDATE members SET version = version + 1 WHERE id=?", [(m,) for m in touched]
        )
    if change.links_retracted:
        # Two statements, each searching its own partial index (an OR would scan).
        rows = [(at, rule, *a, *b) for a, b, rule in change.links_retracted]
        rows += [(at, rule, *b, *a) for a, b, rule in change.links_retracted]
        db.executemany(
            "UPDATE links SET retracted_at=? WHERE retracted_at IS NULL AND rule=? AND"
            " a_source=? AND a_key=? AND b_source=? AND b_key=?",
            rows,
        )
    if change.links_added:
        db.executemany(
            "INSERT INTO links (a_source, a_key, b_source, b_key, rule, evidence, actor,"
            " created_at) VALUES (?,?,?,?,?,?,?,?)",
            [
                (*link.a, *link.b, link.rule, orjson.dumps(link.evidence), change.actor, at)
                for link in change.links_added
            ],
        )
    if change.cannot_added:
        db.executemany(
            "INSERT INTO cannot_links (a_source, a_key, b_source, b_key, actor, reason,"
            " created_at) VALUES (?,?,?,?,?,?,?)",
            [(*a, *b, change.actor, change.reason, at) for a, b in change.cannot_added],
        )
    if change.cannot_lifted:
        pairs = [(at, *a, *b) for a, b in change.cannot_lifted]
        pairs += [(at, *b, *a) for a, b in change.cannot_lifted]
        db.executemany(
            "UPDATE cannot_links SET lifted_at=? WHERE lifted_at IS NULL AND"
            " a_source=? AND a_key=? AND b_source=? AND b_key=?",
            pairs,
        )
    if change.events:
        db.executemany(
            "INSERT INTO events (member_id, kind, at, actor, rule, reason, evidence, records)"
            " VALUES (?,?,?,?,?,?,?,?)",
            [
                (
                    e.member_id,
                    e.kind,
                    e.at.isoformat(),
                    e.actor,
                    e.rule,
                    e.reason,
                    orjson.dumps(e.evidence),
                    orjson.dumps(e.records),
                )
                for e in change.events
            ],
        )


def member_versions(db: sqlite3.Connection, ids: Iterable[str]) -> dict[str, int]:
    """Each live member's version, read inside the writer's transaction."""
    found: dict[str, int] = {}
    for chunk in chunks(sorted(set(ids))):
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT id, version FROM members WHERE id IN ({marks})", chunk)
        found.update({r[0]: r[1] for r in rows})
    return found

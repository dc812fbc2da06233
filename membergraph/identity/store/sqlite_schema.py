"""The SQLite identity store's tables and their secondary indexes.

:data:`SCHEMA` is run as a store opens (every statement ``IF NOT EXISTS``), after the switch
to WAL (``sqlite_tx.to_wal``: it does not wait on another's lock by itself); a first load
drops :data:`INDEXES` and builds them again once its rows are in
(:data:`~membergraph.identity.store.sqlite_write.BULK_RECORDS`).
"""

from __future__ import annotations

from membergraph.identity.store import sqlite_answers, tombstones
from membergraph.identity.store.conflict_state import DECISIONS

__all__ = ["DECIDED", "INDEXES", "SCHEMA"]

SCHEMA = """
PRAGMA synchronous = NORMAL;
-- 64 MiB of page cache: a batch write touches the identifier index all over.
PRAGMA cache_size = -65536;
PRAGMA temp_store = MEMORY;
-- Deleted content is overwritten with zeros: an erased person leaves no bytes behind.
PRAGMA secure_delete = ON;
CREATE TABLE IF NOT EXISTS records (
    source TEXT NOT NULL, key TEXT NOT NULL, role TEXT NOT NULL, member_id TEXT,
    origin_member_id TEXT, previous_member_id TEXT,
    first_name TEXT, last_name TEXT, birth_date TEXT, address TEXT, days TEXT,
    email_days TEXT, version TEXT,
    PRIMARY KEY (source, key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS identifiers (
    kind TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, via TEXT NOT NULL,
    source TEXT NOT NULL, rkey TEXT NOT NULL,
    PRIMARY KEY (source, rkey, kind, key, value, via)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS members (
    id TEXT PRIMARY KEY, created_at TEXT NOT NULL, version INTEGER NOT NULL DEFAULT 1
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS redirects (old_id TEXT PRIMARY KEY, new_id TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS links (
    id INTEGER PRIMARY KEY, a_source TEXT, a_key TEXT, b_source TEXT, b_key TEXT,
    rule TEXT NOT NULL, evidence TEXT NOT NULL, actor TEXT NOT NULL, created_at TEXT NOT NULL,
    retracted_at TEXT
);
CREATE TABLE IF NOT EXISTS cannot_links (
    a_source TEXT, a_key TEXT, b_source TEXT, b_key TEXT, actor TEXT, reason TEXT,
    created_at TEXT, lifted_at TEXT
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY, member_id TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
    actor TEXT NOT NULL, rule TEXT, reason TEXT, evidence TEXT NOT NULL, records TEXT NOT NULL
);
-- The change feed (identity/feed.py): AUTOINCREMENT, so a cursor is never used twice, even
-- after the newest entries were pruned. Writers are serialized (BEGIN IMMEDIATE): cursor
-- order is commit order, and a tail never skips an entry committed late.
CREATE TABLE IF NOT EXISTS feed (
    cursor INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, member_ids TEXT NOT NULL,
    at TEXT NOT NULL, actor TEXT, reason TEXT, source TEXT, line_id TEXT, value_tags TEXT
);
-- The members each entry names, and its value tags (identity/value_tags.py, "v:..."): what
-- a subscriber's tail and a kept answer's check read by.
CREATE TABLE IF NOT EXISTS feed_members (
    member_id TEXT NOT NULL, cursor INTEGER NOT NULL, PRIMARY KEY (member_id, cursor)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""

DECIDED = "kind IN (" + ", ".join(f"'{kind}'" for kind in DECISIONS) + ")"
"""A steward's decisions about conflicts, as SQL: the ``events_decision`` index's condition,
which a query repeats word for word to be answered by it."""

# Secondary indexes, by name. A first load drops and rebuilds them (BULK_RECORDS).
INDEXES: dict[str, str] = {
    "records_member": "ON records (member_id)",
    # By value (the primary key is by record: a first load, written record by record in
    # key order, appends to it). Stores made before kept their (kind, key) primary key and
    # their identifiers_record index; this one is built there too, and both work.
    "identifiers_value": "ON identifiers (kind, key)",
    "links_a": "ON links (a_source, a_key) WHERE retracted_at IS NULL",
    "links_b": "ON links (b_source, b_key) WHERE retracted_at IS NULL",
    "cannot_a": "ON cannot_links (a_source, a_key)",
    "cannot_b": "ON cannot_links (b_source, b_key)",
    "events_member": "ON events (member_id)",
    "events_kind": "ON events (kind)",
    # The decisions about each conflict (a change reads those on the conflicts it would
    # raise again): evidence read only for decisions, so other events' writes pay nothing.
    "events_decision": f"ON events (json_extract(evidence, '$.conflict_id')) WHERE {DECIDED}",
    "redirects_new": "ON redirects (new_id)",  # the IDs merged into a member (its history)
    "feed_line": "ON feed (source, line_id) WHERE line_id IS NOT NULL",
    "feed_at": "ON feed (at)",  # pruning by age reads only what it drops
}
SCHEMA += "".join(f"CREATE INDEX IF NOT EXISTS {n} {on};\n" for n, on in INDEXES.items())
SCHEMA += tombstones.SCHEMA  # erased members' IDs (a store made before gets it as it opens)
SCHEMA += sqlite_answers.SCHEMA  # the response cache's kept answers (the same)

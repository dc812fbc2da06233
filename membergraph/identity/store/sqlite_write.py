"""The SQLite store's schema and its write path: one change, one transaction (a first
load's stages are in :mod:`~membergraph.identity.store.sqlite_first_load`).

The write path is plain ``sqlite3``: :class:`SqliteStore` runs the whole of a change in the
connection's thread in one hop (``BEGIN IMMEDIATE`` ... ``COMMIT``), instead of a dozen
round trips through the event loop, which cost more than the writes themselves.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from itertools import repeat
from operator import attrgetter, itemgetter
from typing import Any

import orjson

from membergraph.identity.engine import Link
from membergraph.identity.feed import FeedEntry
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.store import tombstones
from membergraph.identity.store.port import Change, ConcurrentChange, linked_members
from membergraph.identity.store.types import DaysRead, renamed_refs

__all__ = [
    "INDEXES",
    "SCHEMA",
    "chunks",
    "member_versions",
    "write_change",
    "write_feed",
]

SCHEMA = """
PRAGMA journal_mode = WAL;
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
    at TEXT NOT NULL, actor TEXT, reason TEXT, source TEXT, line_id TEXT
);
CREATE TABLE IF NOT EXISTS feed_members (
    member_id TEXT NOT NULL, cursor INTEGER NOT NULL, PRIMARY KEY (member_id, cursor)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
"""

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
    "redirects_new": "ON redirects (new_id)",  # the IDs merged into a member (its history)
    "feed_line": "ON feed (source, line_id) WHERE line_id IS NOT NULL",
    "feed_at": "ON feed (at)",  # pruning by age reads only what it drops
}
SCHEMA += "".join(f"CREATE INDEX IF NOT EXISTS {n} {on};\n" for n, on in INDEXES.items())
SCHEMA += tombstones.SCHEMA  # erased members' IDs (a store made before gets it as it opens)

Staged = frozenset[str]

BULK_RECORDS = 20_000
"""A change writing at least this many records into an empty store is a first load: it
drops the secondary indexes, appends, and builds them again by sorting, all in its own
transaction. Building an index once costs a fraction of maintaining it row by row."""

_CHUNK = 500  # SQLite's variable limit is 32766; chunks keep statements short and cached


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def write_change(
    db: sqlite3.Connection, change: Change, at: str, staged: Staged = frozenset()
) -> None:
    """Write one change inside the caller's transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``).

    ``staged``: what :func:`stage_records` (``"identifiers"``), :func:`stage_links`
    (``"links"``) and :func:`stage_members` (``"members"``: records and new members)
    already wrote in this transaction.
    """
    if change.expected_versions:
        now = member_versions(db, change.expected_versions)
        moved = {m for m, v in change.expected_versions.items() if now.get(m) != v}
        if moved:
            raise ConcurrentChange(f"members changed meanwhile: {', '.join(sorted(moved))}")
    if change.days_read:
        _check_days(db, change.days_read)
    if change.touched:
        db.executemany(
            "UPDATE members SET version = version + 1 WHERE id=?", [(m,) for m in change.touched]
        )
    if not staged:  # (a staged change is a first load's: no record had a member)
        _move_holders(db, change)
    assigned = change.assignments
    carried = _first_members(db, change.renamed) if change.renamed else []
    if change.renamed or change.gone:
        _drop_records(db, [*change.renamed, *change.gone])
    if change.replace_identifiers and change.records:
        db.executemany(
            "DELETE FROM identifiers WHERE source=? AND rkey=?", [r.ref for r in change.records]
        )
    bulk = bool(staged) or len(change.records) >= BULK_RECORDS and not _has_records(db)
    if bulk and not staged:
        _drop_indexes(db)
    if change.records and "identifiers" not in staged:
        _write_identifiers(db, change.records, bulk)
    if change.records and "members" not in staged:
        _write_records(db, change.records, assigned, bulk)
    if carried:  # (a split hands a record its first member's ID back: kept across keys)
        db.executemany(
            "UPDATE records SET origin_member_id=?, previous_member_id=? WHERE source=? AND key=?",
            carried,
        )
    if change.redirects:
        retired = list(change.redirects)
        for chunk in chunks(retired):
            marks = ",".join("?" * len(chunk))
            db.execute(f"DELETE FROM members WHERE id IN ({marks})", chunk)
        db.executemany(
            "INSERT OR REPLACE INTO redirects VALUES (?,?)", list(change.redirects.items())
        )
    if change.new_members and "members" not in staged:
        _write_new_members(db, change.new_members, at, bulk)
    if change.assignments and "members" not in staged:
        # (Staged members are a first load's: every record written with its member, every
        # member new; nothing to update.)
        written = {r.ref for r in change.records}
        # origin_member_id is the first member a record was given: a split hands it back.
        db.executemany(
            "UPDATE records SET previous_member_id=member_id, member_id=?,"
            " origin_member_id=coalesce(origin_member_id, ?) WHERE source=? AND key=?",
            [(m, m, s, k) for (s, k), m in assigned.items() if (s, k) not in written],
        )
        touched = sorted(set(change.assignments.values()) - set(change.new_members))
        db.executemany(
            "UPDATE members SET version = version + 1 WHERE id=?", [(m,) for m in touched]
        )
    if change.unassigned:
        db.executemany(
            "UPDATE records SET previous_member_id=member_id, member_id=NULL"
            " WHERE source=? AND key=? AND member_id IS NOT NULL",
            change.unassigned,
        )
    for chunk in chunks(change.retired):
        db.execute(f"DELETE FROM members WHERE id IN ({','.join('?' * len(chunk))})", chunk)
    if change.links_retracted:
        # Two statements, each searching its own partial index (an OR would scan).
        rows = [(at, rule, *a, *b) for a, b, rule in change.links_retracted]
        rows += [(at, rule, *b, *a) for a, b, rule in change.links_retracted]
        db.executemany(
            "UPDATE links SET retracted_at=? WHERE retracted_at IS NULL AND rule=? AND"
            " a_source=? AND a_key=? AND b_source=? AND b_key=?",
            rows,
        )
    if change.links_added and "links" not in staged:
        _write_links(db, change.links_added, change.actor, at)
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
    if change.renamed:
        _rename(db, change.renamed)
    if change.facts_moved:
        _move_facts(db, change.facts_moved)
    if linked_members(change):
        # Each added link is also a "linked" event: made from the link rows, not rendered
        # again in Python. They are the transaction's last links (here or staged), in order.
        last: int = db.execute("SELECT max(id) FROM links").fetchone()[0]
        links_from = last - len(change.links_added) + 1
        members = orjson.dumps(change.link_members)
        db.execute(
            "INSERT INTO events (member_id, kind, at, actor, rule, reason, evidence, records)"
            " SELECT m.value, 'linked', ?, l.actor, l.rule, ?, l.evidence,"
            " json_array(json_array(l.a_source, l.a_key), json_array(l.b_source, l.b_key))"
            " FROM json_each(?) AS m CROSS JOIN links AS l ON l.id = ? + m.key",
            (_event_time(change, at), change.reason, members, links_from),
        )
    if change.events:
        _insert(
            db,
            "events (member_id, kind, at, actor, rule, reason, evidence, records)",
            [
                (e.member_id, e.kind, e.at, e.actor, e.rule, e.reason, e.evidence, e.records)
                for e in change.events
            ],
        )
    write_feed(db, change.feed)
    if bulk:
        for name, on in INDEXES.items():
            db.execute(f"CREATE INDEX IF NOT EXISTS {name} {on}")


def _first_members(
    db: sqlite3.Connection, renamed: Mapping[RecordKey, RecordKey]
) -> list[tuple[str | None, str | None, str, str]]:
    """The first and previous members of each re-keyed record, for the record its lines go
    to when that one is new (one that was there keeps its own)."""
    found: dict[RecordKey, tuple[str | None, str | None, str, str]] = {}
    for old, new in sorted(renamed.items()):
        if new in found:
            continue
        there = db.execute("SELECT 1 FROM records WHERE source=? AND key=?", new).fetchone()
        row = db.execute(
            "SELECT origin_member_id, previous_member_id FROM records WHERE source=? AND key=?",
            old,
        ).fetchone()
        if there is None and row is not None:
            found[new] = (row[0], row[1], *new)
    return list(found.values())


def _drop_records(db: sqlite3.Connection, refs: Sequence[RecordKey]) -> None:
    """Delete records and their identifiers (their links are renamed or retracted)."""
    db.executemany("DELETE FROM identifiers WHERE source=? AND rkey=?", refs)
    db.executemany("DELETE FROM records WHERE source=? AND key=?", refs)


def _rename(db: sqlite3.Connection, renamed: Mapping[RecordKey, RecordKey]) -> None:
    """Links, cannot-links and stewards' events naming a re-keyed record name its new key,
    in place: who decided, when and why stay as they were."""
    # One pass over each table, not a statement a record: the links' indexes hold active
    # links only, and retracted ones follow too (14,000 records re-keyed at 20,000 people
    # scanned the links table 28,000 times).
    for table, rowid in (("links", "id"), ("cannot_links", "rowid")):
        moved = []
        for row in db.execute(f"SELECT {rowid}, a_source, a_key, b_source, b_key FROM {table}"):
            a, b = renamed.get((row[1], row[2])), renamed.get((row[3], row[4]))
            if a is not None or b is not None:
                moved.append((*(a or row[1:3]), *(b or row[3:5]), row[0]))
        db.executemany(
            f"UPDATE {table} SET a_source=?, a_key=?, b_source=?, b_key=? WHERE {rowid}=?", moved
        )
    # A steward's event names the records it decided on: it follows them, so that
    # ``undo`` finds the decision where it now is (stewards' events are few).
    rewritten = []
    for event_id, evidence, records in db.execute(
        "SELECT id, evidence, records FROM events WHERE kind = 'steward'"
    ).fetchall():
        named, hit = renamed_refs(orjson.loads(records), renamed)
        if hit:
            said, _ = renamed_refs(orjson.loads(evidence), renamed)
            rewritten.append((orjson.dumps(said).decode(), orjson.dumps(named).decode(), event_id))
    db.executemany("UPDATE events SET evidence=?, records=? WHERE id=?", rewritten)


def _move_facts(db: sqlite3.Connection, moved: Sequence[tuple[str, str, str, str]]) -> None:
    """Consent facts of lines keyed anew, under their new record (the privacy store's table,
    in the same file: none before it exists)."""
    known = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'consent_facts'"
    if db.execute(known).fetchone() is None:
        return
    rows = [(new, source, line, old) for source, line, old, new in moved]
    db.executemany(
        "UPDATE OR IGNORE consent_facts SET rkey=? WHERE source=? AND line=? AND rkey=?", rows
    )
    # (A fact the new record held already stays once.)
    db.executemany(
        "DELETE FROM consent_facts WHERE source=? AND line=? AND rkey=?", [r[1:] for r in rows]
    )


def write_feed(db: sqlite3.Connection, entries: Sequence[FeedEntry]) -> list[int]:
    """Append entries to the feed in the caller's transaction; their cursors, in order.

    One writer at a time (the caller's ``BEGIN IMMEDIATE``): the rows get consecutive
    cursors, the last of which the table's counter holds.
    """
    if not entries:
        return []
    db.executemany(
        "INSERT INTO feed (kind, member_ids, at, actor, reason, source, line_id)"
        " VALUES (?,?,?,?,?,?,?)",
        [
            (
                e.kind.value,
                orjson.dumps(e.member_ids).decode(),
                e.at.isoformat(),
                e.actor,
                e.reason,
                e.source,
                e.line_id,
            )
            for e in entries
        ],
    )
    last = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'feed'").fetchone()[0]
    cursors = list(range(last - len(entries) + 1, last + 1))
    db.executemany(
        "INSERT OR IGNORE INTO feed_members (member_id, cursor) VALUES (?,?)",
        [(m, c) for e, c in zip(entries, cursors, strict=True) for m in e.member_ids],
    )
    return cursors


def _write_new_members(
    db: sqlite3.Connection, new_members: Sequence[str], at: str, bulk: bool = False
) -> None:
    if bulk:  # a first load: an empty store has no member and no redirect to meet
        # In key order, appended to the table's B-tree (IDs are random: 0.6 -> 0.3 s).
        _insert(db, "members (id, created_at)", list(zip(sorted(new_members), repeat(at))))
        return
    for chunk in chunks(new_members):
        marks = ",".join("?" * len(chunk))
        db.execute(f"DELETE FROM redirects WHERE old_id IN ({marks})", chunk)
    # A new member starts at version 1; one that somehow existed counts as touched.
    db.executemany(
        "INSERT INTO members (id, created_at) VALUES (?,?)"
        " ON CONFLICT (id) DO UPDATE SET version = version + 1",
        [(m, at) for m in new_members],
    )


def _write_links(db: sqlite3.Connection, links: Sequence[Link], actor: str, at: str) -> None:
    if not links:
        return
    # The links as orjson renders the dataclass, in C: no row built in Python for each one.
    db.execute(
        f"{_ROWS} INSERT INTO links"
        " (a_source, a_key, b_source, b_key, rule, evidence, actor, created_at)"
        " SELECT json_extract(v, '$.a[0]'), json_extract(v, '$.a[1]'),"
        " json_extract(v, '$.b[0]'), json_extract(v, '$.b[1]'),"
        " json_extract(v, '$.rule'), json_extract(v, '$.evidence'), ?, ? FROM r",
        (orjson.dumps(links), actor, at),
    )


def _event_time(change: Change, at: str) -> str:
    """An event's ``at`` as the other events of the change store it (orjson's rendering)."""
    return str(orjson.loads(orjson.dumps(change.at))) if change.at else at


def _has_records(db: sqlite3.Connection) -> bool:
    return bool(db.execute("SELECT EXISTS (SELECT 1 FROM records)").fetchone()[0])


# The rows of a JSON array, each rendered once: referring to json_each's value column once
# per column renders the row's JSON again each time (30 % of a first load's write time).
_ROWS = (
    "WITH r(v) AS MATERIALIZED (SELECT value FROM json_each(?))"
    if sqlite3.sqlite_version_info >= (3, 35)
    else "WITH r(v) AS (SELECT value FROM json_each(?))"
)


def _insert(
    db: sqlite3.Connection, into: str, rows: Sequence[Sequence[Any]], verb: str = ""
) -> None:
    """``INSERT INTO {into}`` the rows, as one statement over one JSON array.

    One statement, not ``executemany``: no Python runs between rows, so SQLite works without
    Python's lock (a first load stages its identifiers this way while the engine runs), and
    nested values (evidence, records) are encoded in the same C call as the rest. Values
    must be JSON scalars, or dicts and lists stored as their JSON text.
    """
    if not rows:
        return
    values = ", ".join(f"json_extract(v, '$[{i}]')" for i in range(len(rows[0])))
    db.execute(f"{_ROWS} INSERT {verb} INTO {into} SELECT {values} FROM r", (orjson.dumps(rows),))


def _drop_indexes(db: sqlite3.Connection) -> None:
    for name in INDEXES:
        db.execute(f"DROP INDEX IF EXISTS {name}")


_KIND = {kind: kind.value for kind in IdentifierKind}  # plain str binds faster than an enum
_by_record = itemgetter(4, 5, 0, 1, 2, 3)  # an identifier row's primary key


def _write_identifiers(db: sqlite3.Connection, records: Sequence[RecordData], bulk: bool) -> None:
    if bulk:
        # A first load's records come in key order, so these rows append to the primary key
        # (4.4 s against 5.7 to 7.0 s with the old (kind, key) key, for 617,000 rows). Rows
        # made by tuple concatenation, in C (1.0 -> 0.5 s: the engine waits for the lock
        # meanwhile); orjson writes the kind enum as its value.
        _insert(db, "identifiers", [i + r.ref for r in records for i in r.identifiers], "OR IGNORE")
        return
    rows = [(_KIND[i[0]], *i[1:], r.source, r.key) for r in records for i in r.identifiers]
    # Rows in key order: inserts then walk the B-tree instead of jumping around it.
    db.executemany(
        "INSERT OR IGNORE INTO identifiers VALUES (?,?,?,?,?,?)", sorted(rows, key=_by_record)
    )


_RECORD_COLUMNS = (
    "source, key, role, first_name, last_name, birth_date, address, version, days, email_days"
)
_ref = attrgetter("ref")


def days_text(days: Mapping[str, frozenset[str]] | None) -> str | None:
    """A purchase record's purchases by day as the ``days`` column holds them (JSON); a
    card's e-mails by day (``email_days``) likewise."""
    if not days:
        return None
    return orjson.dumps({day: sorted(ids) for day, ids in days.items()}).decode()


def days_of(text: str | None) -> dict[str, frozenset[str]] | None:
    """:func:`days_text` read back."""
    if not text:
        return None
    return {day: frozenset(ids) for day, ids in orjson.loads(text).items()}


def _record_row(r: RecordData) -> tuple[str | None, ...]:
    """A record's ``_RECORD_COLUMNS``."""
    birth = r.birth_date.isoformat() if r.birth_date else None
    person = (r.source, r.key, r.role, r.first_name, r.last_name, birth, r.address, r.version)
    return (*person, days_text(r.days), days_text(r.email_days))


# The same, the person's fields read in C, for a JSON array (orjson renders a birth date as
# isoformat does).
_person_fields = attrgetter(*_RECORD_COLUMNS.split(", ")[:-2])


def _record_fields(r: RecordData) -> tuple[Any, ...]:
    emails = days_text(r.email_days) if r.email_days else None
    return (*_person_fields(r), days_text(r.days) if r.days else None, emails)


def _write_records(
    db: sqlite3.Connection,
    records: Sequence[RecordData],
    assigned: Mapping[RecordKey, str],
    bulk: bool,
) -> None:
    rows = [(*_record_row(r), m, m) for r in records for m in (assigned.get(r.ref),)]
    if bulk:
        # An empty store: appends, in key order (see stage_records).
        rows.sort()
        _insert(db, f"records ({_RECORD_COLUMNS}, member_id, origin_member_id)", rows)
        return
    # Rows in key order: inserts then walk the B-trees instead of jumping around them.
    # A record's member rides along; origin_member_id is its first member, kept.
    db.executemany(
        f"INSERT INTO records ({_RECORD_COLUMNS}, member_id, origin_member_id)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)"
        " ON CONFLICT (source, key) DO UPDATE SET"
        " first_name=excluded.first_name, last_name=excluded.last_name,"
        " birth_date=excluded.birth_date, address=excluded.address, days=excluded.days,"
        " email_days=excluded.email_days, version=excluded.version,"
        " previous_member_id=CASE WHEN excluded.member_id IS NOT NULL AND"
        " excluded.member_id IS NOT member_id THEN member_id ELSE previous_member_id END,"
        " member_id=coalesce(excluded.member_id, member_id),"
        " origin_member_id=coalesce(origin_member_id, excluded.member_id)",
        sorted(rows),
    )


def _move_holders(db: sqlite3.Connection, change: Change) -> None:
    """Move the version of each member holding a record the change rewrites, moves to
    another member or drops, as MongoDB moves every member a change read: another
    process's change computed from that record as it was (a whole resolution reading the
    store while an ingest adds a contact's e-mail) then conflicts, even where no record
    changes member. One statement: the records looked up by key, in C."""
    refs = [r.ref for r in change.records]
    refs += [*change.assignments, *change.unassigned, *change.renamed, *change.gone]
    if not refs:
        return
    db.execute(
        "UPDATE members SET version = version + 1 WHERE id IN (SELECT r.member_id"
        " FROM json_each(?) AS j JOIN records AS r ON r.source = json_extract(j.value, '$[0]')"
        " AND r.key = json_extract(j.value, '$[1]'))",
        (orjson.dumps(refs),),
    )


def _check_days(db: sqlite3.Connection, read: Mapping[RecordKey, DaysRead]) -> None:
    """Raise ConcurrentChange if a record's days are no longer those ``read``."""
    for ref, (days, emails) in read.items():
        row = db.execute("SELECT days, email_days FROM records WHERE source=? AND key=?", ref)
        now = row.fetchone() or (None, None)
        if (days_of(now[0]), days_of(now[1])) != (days or None, emails or None):
            raise ConcurrentChange(f"a record's days changed meanwhile: {ref[0]}:{ref[1]}")


def member_versions(db: sqlite3.Connection, ids: Iterable[str] | None) -> dict[str, int]:
    """Each live member's version, read inside the writer's transaction (None: every
    member's, for a whole-store resolution)."""
    if ids is None:
        return dict(db.execute("SELECT id, version FROM members"))
    found: dict[str, int] = {}
    for chunk in chunks(sorted(set(ids))):
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT id, version FROM members WHERE id IN ({marks})", chunk)
        found.update({r[0]: r[1] for r in rows})
    return found

"""The SQLite store's write path: one change, one transaction (its tables are in
:mod:`~membergraph.identity.store.sqlite_schema`, a first load's stages in
:mod:`~membergraph.identity.store.sqlite_first_load`, what follows re-keyed records in
:mod:`~membergraph.identity.store.sqlite_rekey`).

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
from membergraph.identity.store.port import Change, ConcurrentChange, linked_members
from membergraph.identity.store.sqlite_rekey import first_members, move_facts, rename
from membergraph.identity.store.sqlite_schema import INDEXES
from membergraph.identity.store.types import DaysRead

__all__ = [
    "chunks",
    "member_versions",
    "write_change",
    "write_feed",
]

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
    carried = first_members(db, change.renamed) if change.renamed else []
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
        rename(db, change.renamed)
    if change.facts_moved:
        move_facts(db, change.facts_moved)
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


def _drop_records(db: sqlite3.Connection, refs: Sequence[RecordKey]) -> None:
    """Delete records and their identifiers (their links are renamed or retracted)."""
    db.executemany("DELETE FROM identifiers WHERE source=? AND rkey=?", refs)
    db.executemany("DELETE FROM records WHERE source=? AND key=?", refs)


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

"""The SQLite store's write path: one change, one transaction (its tables are in
:mod:`~membergraph.identity.store.sqlite_schema`, a first load's stages in
:mod:`~membergraph.identity.store.sqlite_first_load`, what follows re-keyed records in
:mod:`~membergraph.identity.store.sqlite_rekey`, how records, identifiers, links and new
members become rows in :mod:`~membergraph.identity.store.sqlite_rows`).

The write path is plain ``sqlite3``: :class:`SqliteStore` runs the whole of a change in the
connection's thread in one hop (``BEGIN IMMEDIATE`` ... ``COMMIT``), instead of a dozen
round trips through the event loop, which cost more than the writes themselves.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence

import orjson

from membergraph.identity.feed import FeedEntry
from membergraph.identity.records import RecordKey
from membergraph.identity.store.port import Change, ConcurrentChange, linked_members
from membergraph.identity.store.sqlite_rekey import first_members, move_facts, rename
from membergraph.identity.store.sqlite_rows import (
    chunks,
    days_of,
    insert_rows,
    write_identifiers,
    write_links,
    write_new_members,
    write_records,
)
from membergraph.identity.store.sqlite_schema import INDEXES
from membergraph.identity.store.types import DaysRead

__all__ = [
    "BULK_RECORDS",
    "member_versions",
    "write_change",
    "write_feed",
]

Staged = frozenset[str]

BULK_RECORDS = 20_000
"""A change writing at least this many records into an empty store is a first load: it
drops the secondary indexes, appends, and builds them again by sorting, all in its own
transaction. Building an index once costs a fraction of maintaining it row by row."""


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
        write_identifiers(db, change.records, bulk)
    if change.records and "members" not in staged:
        write_records(db, change.records, assigned, bulk)
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
        write_new_members(db, change.new_members, at, bulk)
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
        write_links(db, change.links_added, change.actor, at)
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
        insert_rows(
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
        "INSERT INTO feed (kind, member_ids, at, actor, reason, source, line_id, value_tags)"
        " VALUES (?,?,?,?,?,?,?,?)",
        [
            (
                e.kind.value,
                orjson.dumps(e.member_ids).decode(),
                e.at.isoformat(),
                e.actor,
                e.reason,
                e.source,
                e.line_id,
                orjson.dumps(e.value_tags).decode() if e.value_tags else None,
            )
            for e in entries
        ],
    )
    last = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'feed'").fetchone()[0]
    cursors = list(range(last - len(entries) + 1, last + 1))
    # Value tags beside the members: a kept answer's check reads both in one index.
    db.executemany(
        "INSERT OR IGNORE INTO feed_members (member_id, cursor) VALUES (?,?)",
        [
            (m, c)
            for e, c in zip(entries, cursors, strict=True)
            for m in (*e.member_ids, *e.value_tags)
        ],
    )
    return cursors


def _event_time(change: Change, at: str) -> str:
    """An event's ``at`` as the other events of the change store it (orjson's rendering)."""
    return str(orjson.loads(orjson.dumps(change.at))) if change.at else at


def _has_records(db: sqlite3.Connection) -> bool:
    return bool(db.execute("SELECT EXISTS (SELECT 1 FROM records)").fetchone()[0])


def _drop_indexes(db: sqlite3.Connection) -> None:
    for name in INDEXES:
        db.execute(f"DROP INDEX IF EXISTS {name}")


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

"""Records re-keyed (``membergraph rekey``: a line's record under the key this release
gives it): what follows them in the SQLite store, inside the change's transaction.

A record under its new key keeps its first member's ID (a split hands it back); links,
cannot-links and stewards' events name the new key in place; consent facts move with
their lines.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence

import orjson

from membergraph.identity.records import RecordKey
from membergraph.identity.store.types import renamed_refs

__all__ = ["first_members", "move_facts", "rename"]


def first_members(
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


def rename(db: sqlite3.Connection, renamed: Mapping[RecordKey, RecordKey]) -> None:
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


def move_facts(db: sqlite3.Connection, moved: Sequence[tuple[str, str, str, str]]) -> None:
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

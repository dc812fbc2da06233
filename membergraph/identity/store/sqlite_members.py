"""A member's own reads on the SQLite store: its records, its identifiers with their records,
and its identity history through every ID merged into it.

What the loaders of one request ask for a page of members at a time (``member``,
``members``, ``memberByIdentifier``); :mod:`.sqlite_read` has what a resolution reads about
its records. Plain ``sqlite3`` functions, each run in the connection's thread.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence

import orjson

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordKey
from membergraph.identity.store.port import MemberParts
from membergraph.identity.store.sqlite_rows import chunks

__all__ = [
    "KINDS",
    "member_histories",
    "member_identifiers",
    "member_parts",
    "member_records",
]

Conn = sqlite3.Connection

KINDS = {kind.value: kind for kind in IdentifierKind}
"""Identifier kinds by stored value: a dict, not ``IdentifierKind(...)`` (an enum's call is
Python, and a page of members holds 100,000 identifiers)."""


def _grouped(db: Conn, sql: str, member_ids: Iterable[str]) -> dict[str, list[sqlite3.Row]]:
    """Rows of ``sql`` (``... WHERE member_id IN ({marks})``, selecting ``member_id``) by
    member, read in chunks of members."""
    found: dict[str, list[sqlite3.Row]] = defaultdict(list)
    for chunk in chunks(sorted(set(member_ids))):
        marks = ",".join("?" * len(chunk))
        for row in db.execute(sql.format(marks=marks), chunk):
            found[row["member_id"]].append(row)
    return found


# Each asked ID with every ID merged into it, through chains of redirects (by their
# ``redirects_new`` index); UNION keeps each pair once, so even a corrupt cycle ends. CROSS
# JOIN makes SQLite read those few IDs first and their events by index: left to choose, it
# scanned every event.
_HISTORIES = """WITH RECURSIVE merged_into(root, id) AS (
    SELECT value, value FROM json_each(?)
    UNION SELECT m.root, r.old_id FROM merged_into AS m JOIN redirects AS r ON r.new_id = m.id
)
SELECT m.root, e.* FROM merged_into AS m CROSS JOIN events AS e ON e.member_id = m.id
ORDER BY e.id"""


def member_histories(db: Conn, member_ids: Sequence[str]) -> dict[str, list[sqlite3.Row]]:
    """:meth:`IdentityStore.member_events`' rows by asked ID: the events written under it and
    under every ID that redirects to it, each once, oldest first, in one statement."""
    found: dict[str, list[sqlite3.Row]] = defaultdict(list)
    for row in db.execute(_HISTORIES, (orjson.dumps(sorted(set(member_ids))).decode(),)):
        found[row["root"]].append(row)
    return found


def member_records(db: Conn, member_ids: Sequence[str]) -> list[list[RecordKey]]:
    """Each member's records, in key order."""
    found = _grouped(
        db,
        "SELECT member_id, source, key FROM records WHERE member_id IN ({marks})"
        " ORDER BY source, key",
        member_ids,
    )
    return [[(r["source"], r["key"]) for r in found.get(m, [])] for m in member_ids]


def member_identifiers(
    db: Conn, member_ids: Sequence[str]
) -> list[list[tuple[RecordKey, Identifier]]]:
    """Each member's identifiers with their records, ordered by kind, value and record."""
    found: dict[str, list[tuple[RecordKey, Identifier]]] = defaultdict(list)
    kinds = KINDS  # plain tuples and a dict: a page of members holds 100,000 of them
    cursor = db.cursor()
    cursor.row_factory = None
    for chunk in chunks(sorted(set(member_ids))):
        sql = (
            "SELECT r.member_id, i.source, i.rkey, i.kind, i.key, i.value, i.via"
            " FROM records r JOIN identifiers i ON i.source = r.source AND i.rkey = r.key"
            f" WHERE r.member_id IN ({','.join('?' * len(chunk))})"
            " ORDER BY i.kind, i.value, i.source, i.rkey"
        )
        for member, source, rkey, kind, key, value, via in cursor.execute(sql, chunk):
            found[member].append(((source, rkey), Identifier(kinds[kind], key, value, via)))
    return [found.get(m, []) for m in member_ids]


def member_parts(db: Conn, member_ids: Sequence[str]) -> list[MemberParts]:
    """Each member's records and identifiers (in the caller's one trip to the thread)."""
    records, identifiers = member_records(db, member_ids), member_identifiers(db, member_ids)
    return [MemberParts(r, i) for r, i in zip(records, identifiers, strict=True)]

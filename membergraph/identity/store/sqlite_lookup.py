"""The SQLite store's reads of one member for a request: the member an identifier or an ID
names, with its records and identifiers, what tells whether its e-mails and phones are
placeholders, and (``beside``) its lines, in one read (:meth:`SqliteStore.find_member_carried`;
on the event loop's own connection, :mod:`.sqlite_here`, where it can).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from membergraph.identity.line_records import card_record
from membergraph.identity.records import Identifier, RecordKey
from membergraph.identity.store.port import (
    MemberCarried,
    MemberParts,
    contact_values,
    tied_at_top,
)
from membergraph.identity.store.sqlite_members import member_parts
from membergraph.identity.store.sqlite_read import (
    WHOLE_IDENTIFIERS,
    WHOLE_OF_MEMBER,
    carriers,
    identifiers_of,
    load_records,
    record_row,
    whole_rows,
)
from membergraph.identity.store.types import StoreError

__all__ = [
    "find_member_carried",
    "find_member_parts",
    "find_members",
    "live_member_id",
    "member_carried",
    "ranked_members",
]

Conn = sqlite3.Connection


def find_members(db: Conn, kind: str, key: str) -> list[str]:
    """:meth:`~membergraph.identity.store.port_reads.StoreReads.find_members` in one
    statement."""
    return [member for member, _ in ranked_members(db, kind, key)]


def ranked_members(db: Conn, kind: str, key: str) -> list[tuple[str, int]]:
    """:meth:`~membergraph.identity.store.port_reads.StoreReads.ranked_members` in one
    statement."""
    found = db.execute(
        "SELECT r.member_id, MIN(CASE WHEN r.source = 'transactions' AND r.key = ? THEN 0"
        " WHEN r.role = 'profile' THEN 1 ELSE 2 END) FROM identifiers i JOIN records r"
        " ON r.source = i.source AND r.key = i.rkey"
        " JOIN members m ON m.id = r.member_id"
        # What an agent typed is evidence, not an identity: it never answers a lookup.
        " WHERE i.kind=? AND i.key=? AND i.via != 'agent' GROUP BY r.member_id"
        " ORDER BY 2, m.created_at, m.id",
        (card_record(kind, key), kind, key),
    ).fetchall()
    return [(row[0], row[1]) for row in found]


def find_member_parts(db: Conn, kind: str, key: str) -> tuple[str, MemberParts] | None:
    """The first member carrying an identifier and its parts (one trip, two statements)."""
    found = find_members(db, kind, key)
    return (found[0], member_parts(db, found[:1])[0]) if found else None


def find_member_carried(
    db: Conn,
    kind: str,
    key: str,
    floor: int,
    max_records: int,
    beside: Callable[[Conn, list[RecordKey]], object] | None = None,
) -> MemberCarried | None:
    """:meth:`IdentityStore.find_member_carried` in one trip, with what ``beside`` reads
    of the member's records in it."""
    found = ranked_members(db, kind, key)
    if not found:
        return None
    carried = _carried(db, found[0][0], floor, max_records, beside)
    return carried._replace(tied=tied_at_top(found))


def member_carried(
    db: Conn,
    member_id: str,
    floor: int,
    max_records: int,
    beside: Callable[[Conn, list[RecordKey]], object] | None = None,
) -> MemberCarried | None:
    """:meth:`IdentityStore.member_carried` in one trip: the live member ``member_id`` names
    (following redirects), then what :func:`find_member_carried` reads of it."""
    live = live_member_id(db, member_id)
    return None if live is None else _carried(db, live, floor, max_records, beside)


def live_member_id(db: Conn, member_id: str) -> str | None:
    """The live member an ID names, following redirects; None if unknown."""
    current = member_id
    for _ in range(64):  # redirect chains are short; the bound stops a corrupt cycle
        if db.execute("SELECT 1 FROM members WHERE id=?", (current,)).fetchone():
            return current
        row = db.execute("SELECT new_id FROM redirects WHERE old_id=?", (current,)).fetchone()
        if row is None:
            return None
        current = row[0]
    raise StoreError(f"redirect cycle at member {member_id}")


def _carried(
    db: Conn,
    member: str,
    floor: int,
    max_records: int,
    beside: Callable[[Conn, list[RecordKey]], object] | None,
) -> MemberCarried:
    # The member's records whole, their identifiers with them (one statement): most values
    # weighed are carried by the member's own records (a contact, its card's orders, its
    # visitors), which are then read already.
    own = {(row[0], row[1]): row for row in whole_rows(db, WHOLE_OF_MEMBER, (member,))}
    identifiers = [
        (ref, i) for ref, row in own.items() for i in identifiers_of(row[WHOLE_IDENTIFIERS])
    ]
    identifiers.sort(key=_by_kind_and_value)  # as member_identifiers orders them
    parts = MemberParts(list(own), identifiers)
    carried = carriers(db, contact_values(parts), max_records + 1)
    weighed = {r for refs in carried.values() if floor < len(refs) <= max_records for r in refs}
    others = weighed.difference(own)
    records = load_records(db, others) if others else {}
    if len(others) < len(weighed):
        mine = {ref: record_row(own[ref][:WHOLE_IDENTIFIERS]) for ref in weighed.intersection(own)}
        for ref, identifier in identifiers:
            if ref in mine:
                mine[ref].identifiers.add(identifier)
        records.update(mine)
    held = None if beside is None else beside(db, parts.records)
    return MemberCarried(member, parts, carried, records, held)


def _by_kind_and_value(carried: tuple[RecordKey, Identifier]) -> tuple[str, ...]:
    ref, identifier = carried
    return (identifier.kind, identifier.value, *ref, identifier.key, identifier.via)

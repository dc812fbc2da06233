"""The SQLite store's keyed reads, as plain ``sqlite3`` functions.

:class:`SqliteStore` runs each in the connection's thread, and :func:`scope_state` runs all
that a resolution reads about its records in one hop and one read transaction (one snapshot),
instead of one round trip through the event loop per query. A member's own reads (its
records, identifiers and history, for the loaders) are :mod:`.sqlite_members`'.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import date, datetime
from functools import partial
from operator import itemgetter
from typing import Any, TypeVar

import orjson

from membergraph.identity.closure import Closure, Walk, run_walk
from membergraph.identity.engine import ValueKey
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordData, RecordKey, identifier_of
from membergraph.identity.store.port import (
    ClosureStep,
    ScopeState,
    StoredLink,
    plan_step,
)
from membergraph.identity.store.sqlite_members import KINDS, member_records
from membergraph.identity.store.sqlite_rows import RECORD_COLUMNS, chunks, days_of
from membergraph.identity.store.sqlite_write import member_versions
from membergraph.identity.store.tombstones import buried_sqlite
from membergraph.sqlite_tx import in_snapshot

T = TypeVar("T")

__all__ = [
    "by_refs",
    "cannot_links",
    "carriers",
    "in_snapshot",
    "links",
    "load_records",
    "of_records",
    "plain",
    "record_column",
    "record_row",
    "rows",
    "scope_state",
]

Conn = sqlite3.Connection

_IDENTIFIER_COLUMNS = "source, rkey, kind, key, value, via"
_LINK_COLUMNS = (
    "l.id, l.a_source, l.a_key, l.b_source, l.b_key, l.rule, l.evidence, l.actor, l.created_at"
)


def rows(db: Conn, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
    return db.execute(sql, params).fetchall()


def record_row(row: Sequence[Any]) -> RecordData:
    """A record from its row of ``RECORD_COLUMNS`` (its identifiers are added after)."""
    source, key, role, first_name, last_name, birth, address, version, days, emails = row
    birth_date = date.fromisoformat(birth) if birth else None
    record = RecordData(source, key, role, set(), first_name, last_name, birth_date, address)
    record.version = version
    if days:
        record.days = days_of(days)
    if emails:
        record.email_days = days_of(emails)
    return record


def plain(db: Conn, sql: str) -> sqlite3.Cursor:
    """The rows of ``sql`` as plain tuples: a whole table's worth of ``sqlite3.Row`` objects,
    each looked up by name, cost seconds a store."""
    cursor = db.cursor()
    cursor.row_factory = None
    return cursor.execute(sql)


def by_refs(
    db: Conn, keyed: str, whole: str, refs: Iterable[RecordKey] | None
) -> list[sqlite3.Row]:
    """Rows for some records (``keyed``, joined to ``(VALUES ...) AS v``) or all (``whole``).

    The join form matters: SQLite answers ``(source, key) IN (VALUES ...)`` with a full
    table scan, but a join on ``v.column1, v.column2`` with primary-key searches.
    """
    if refs is None:
        return rows(db, whole)
    return by_pairs(db, keyed, refs)


def by_pairs(db: Conn, keyed: str, pairs: Iterable[tuple[str, str]]) -> list[sqlite3.Row]:
    """Run ``keyed`` once per chunk of pairs, as ``(VALUES (?,?), ...)`` where it says."""
    found: list[sqlite3.Row] = []
    uses = keyed.count("{values}")
    for chunk in chunks(sorted(set(pairs))):
        values = ",".join("(?,?)" for _ in chunk)
        params = [part for pair in chunk for part in pair] * uses
        found.extend(rows(db, keyed.format(values=values), params))
    return found


def of_records(
    db: Conn, columns: str, table: str, refs: Iterable[RecordKey] | None, key: str = "key"
) -> Iterable[Sequence[Any]]:
    """``columns`` of the rows of ``table`` for some records (found by ``source`` and the
    column ``key`` names), or for all (None: plain rows, the whole store)."""
    if refs is None:
        return plain(db, f"SELECT {columns} FROM {table}")
    return by_pairs(
        db,
        f"SELECT {columns} FROM (VALUES {{values}}) AS v JOIN {table}"
        f" ON source = v.column1 AND {key} = v.column2",
        refs,
    )


# Records whole: each record's row with its identifiers as one JSON array, read by the
# primary key in the same statement (a join would repeat the record's columns on each
# identifier's row; a second statement costs its own trip through SQLite's machinery).
_WHOLE = (
    f"SELECT {', '.join('r.' + column for column in RECORD_COLUMNS.split(', '))},"
    " (SELECT json_group_array(json_array(i.kind, i.key, i.value, i.via))"
    " FROM identifiers AS i WHERE i.source = r.source AND i.rkey = r.key)"
)
WHOLE_IDENTIFIERS = len(RECORD_COLUMNS.split(", "))
"""Where a whole row's identifiers are: after the record's columns (``row[:WHOLE_IDENTIFIERS]``)."""
_WHOLE_BY_REFS = (
    f"{_WHOLE} FROM json_each(?) AS v JOIN records AS r"
    " ON r.source = json_extract(v.value, '$[0]') AND r.key = json_extract(v.value, '$[1]')"
)
WHOLE_OF_MEMBER = f"{_WHOLE} FROM records AS r WHERE r.member_id = ? ORDER BY r.source, r.key"
"""A member's records whole, in key order (:func:`whole_rows`)."""


def whole_rows(db: Conn, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """Rows of a ``_WHOLE`` statement, as plain tuples: the record's columns, then its
    identifiers (:func:`identifiers_of`)."""
    cursor = db.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, params).fetchall()


def identifiers_of(text: str) -> list[Identifier]:
    """A whole row's identifiers, from their JSON array."""
    kinds = KINDS  # a dict, not IdentifierKind(...): an enum's call is Python
    return [identifier_of((kinds[k], key, value, via)) for k, key, value, via in orjson.loads(text)]


def load_records(db: Conn, refs: Iterable[RecordKey] | None) -> dict[RecordKey, RecordData]:
    found: dict[RecordKey, RecordData] = {}
    if refs is not None:
        for row in whole_rows(db, _WHOLE_BY_REFS, (orjson.dumps(sorted(set(refs))).decode(),)):
            record = record_row(row[:WHOLE_IDENTIFIERS])
            record.identifiers.update(identifiers_of(row[WHOLE_IDENTIFIERS]))
            found[record.ref] = record
        return found
    found = {
        (row[0], row[1]): record_row(row)
        for row in plain(db, f"SELECT {RECORD_COLUMNS} FROM records")
    }
    kinds = KINDS
    for source, rkey, kind, key, value, via in plain(
        db, f"SELECT {_IDENTIFIER_COLUMNS} FROM identifiers"
    ):
        found[(source, rkey)].identifiers.add(identifier_of((kinds[kind], key, value, via)))
    return found


def carriers(
    db: Conn, values: Iterable[ValueKey], cap: int | None = None
) -> dict[ValueKey, list[RecordKey]]:
    """The records carrying each value; with ``cap``, at most that many per value (enough to
    tell a hub: a call center's hold line is on thousands of calls, read on every ingest
    that reaches a member with one of those calls)."""
    if cap is not None:
        capped: dict[ValueKey, list[RecordKey]] = {}
        for kind, key in sorted(set(values)):
            found = db.execute(
                "SELECT DISTINCT source, rkey FROM identifiers WHERE kind = ? AND key = ? LIMIT ?",
                (kind.value, key, cap),
            ).fetchall()
            if found:
                capped[(kind, key)] = [(row[0], row[1]) for row in found]
        return capped
    result: dict[ValueKey, list[RecordKey]] = defaultdict(list)
    for row in by_pairs(
        db,
        "SELECT DISTINCT i.kind, i.key, i.source, i.rkey"
        " FROM (VALUES {values}) AS v JOIN identifiers i"
        " ON i.kind = v.column1 AND i.key = v.column2",
        ((k.value, v) for k, v in values),
    ):
        result[(IdentifierKind(row[0]), row[1])].append((row[2], row[3]))
    return dict(result)


def crm_carriers(db: Conn, values: Iterable[ValueKey]) -> dict[ValueKey, list[RecordKey]]:
    """The CRM contacts carrying each value, every one (a card's holders: however many
    purchases and calls carry the card, its contacts are few)."""
    found: dict[ValueKey, list[RecordKey]] = {}
    for kind, key in sorted(set(values)):
        rows_of = db.execute(
            "SELECT DISTINCT source, rkey FROM identifiers"
            " WHERE kind = ? AND key = ? AND source = 'crm'",
            (kind.value, key),
        ).fetchall()
        if rows_of:
            found[(kind, key)] = [(row[0], row[1]) for row in rows_of]
    return found


def record_column(db: Conn, column: str, refs: Iterable[RecordKey] | None) -> dict[RecordKey, str]:
    found = of_records(db, f"source, key, {column}", "records", refs)
    return {(r[0], r[1]): r[2] for r in found if r[2]}


def _members_of(
    db: Conn, refs: Iterable[RecordKey] | None
) -> tuple[dict[RecordKey, str], dict[RecordKey, str], dict[RecordKey, str]]:
    """Each record's member, first member and member before (those it has), in one read."""
    columns = "source, key, member_id, origin_member_id, previous_member_id"
    found = of_records(db, columns, "records", refs)
    current: dict[RecordKey, str] = {}
    origins: dict[RecordKey, str] = {}
    previous: dict[RecordKey, str] = {}
    for source, key, member, origin, before in found:
        ref = (source, key)
        if member:
            current[ref] = member
        if origin:
            origins[ref] = origin
        if before:
            previous[ref] = before
    return current, origins, previous


def links(db: Conn, refs: Iterable[RecordKey] | None, extra: str) -> list[StoredLink]:
    """The active links of some records (None: all), ``extra`` ANDed to the condition, in
    the order they were made."""
    active = " WHERE l.retracted_at IS NULL" + extra
    found: Iterable[Sequence[Any]]
    if refs is None:  # the whole store: plain rows
        found = plain(db, f"SELECT {_LINK_COLUMNS} FROM links l{active} ORDER BY l.id")
    else:
        keyed = by_pairs(
            db,
            f"SELECT {_LINK_COLUMNS} FROM (VALUES {{values}}) AS v JOIN links l"
            " ON l.a_source = v.column1 AND l.a_key = v.column2" + active + " UNION "
            f"SELECT {_LINK_COLUMNS} FROM (VALUES {{values}}) AS v JOIN links l"
            " ON l.b_source = v.column1 AND l.b_key = v.column2" + active,
            refs,
        )
        # Per chunk of records, a link between two chunks comes once from each.
        found = sorted({row[0]: row for row in keyed}.values(), key=itemgetter(0))
    loads, parse = orjson.loads, datetime.fromisoformat
    return [
        StoredLink(n, (a_source, a_key), (b_source, b_key), rule, loads(ev), actor, parse(at))
        for n, a_source, a_key, b_source, b_key, rule, ev, actor, at in found
    ]


def cannot_links(
    db: Conn, refs: Iterable[RecordKey] | None, lifted: bool = False
) -> list[tuple[RecordKey, RecordKey]]:
    live = "" if lifted else " WHERE c.lifted_at IS NULL"
    found = by_refs(
        db,
        "SELECT c.* FROM (VALUES {values}) AS v JOIN cannot_links c"
        " ON c.a_source = v.column1 AND c.a_key = v.column2" + live + " UNION "
        "SELECT c.* FROM (VALUES {values}) AS v JOIN cannot_links c"
        " ON c.b_source = v.column1 AND c.b_key = v.column2" + live,
        "SELECT * FROM cannot_links c" + live,
        refs,
    )
    return sorted({((r[0], r[1]), (r[2], r[3])) for r in found})


def scope_state(db: Conn, refs: list[RecordKey] | None) -> ScopeState:
    """Everything a resolution reads about its records (None: all), from one snapshot."""
    return in_snapshot(db, _scope_state, refs)


def _scope_state(db: Conn, refs: list[RecordKey] | None) -> ScopeState:
    current, origins, previous = _members_of(db, refs)
    state = ScopeState(
        assignments=current,
        versions=member_versions(db, set(current.values())),
        active=links(db, refs, ""),
        cannot=cannot_links(db, refs),
        origins=origins,
        previous=previous,
    )
    state.taken = taken_member_ids(db, state.foreign_ids())
    # A live member is one in the members table (an ID merged away is in redirects).
    state.live_elsewhere = set(member_versions(db, state.taken))
    return state


def closure_state(db: Conn, walk: Walk) -> tuple[Closure, ScopeState]:
    """:meth:`IdentityStore.closure_state`: every step of the walk, then the state of the
    scope it found, in one hop and one snapshot (an ingest's closure takes two steps on
    average: two round trips saved each time)."""
    return in_snapshot(db, _closure_state, walk)


def _closure_state(db: Conn, walk: Walk) -> tuple[Closure, ScopeState]:
    found = run_walk(walk, partial(closure_step, db))
    return found, _scope_state(db, list(found[0]))


def closure_step(
    db: Conn,
    values: list[ValueKey],
    frontier: list[RecordKey],
    seen_members: set[str],
    known: Set[RecordKey],
    limit: int,
    peek: Sequence[ValueKey] = (),
    crowded: Mapping[ValueKey, Set[RecordKey]] | None = None,
) -> ClosureStep:
    """:meth:`IdentityStore.closure_step`, inside the caller's snapshot."""
    found = carriers(db, values, cap=limit + 1)
    found.update(crm_carriers(db, peek))
    members = set(record_column(db, "member_id", frontier).values()) - seen_members
    refs = member_records(db, sorted(members))
    plan = plan_step(found, values, limit, refs, peek, crowded)
    return plan.step(members, load_records(db, plan.to_load(known)), known)


def taken_member_ids(db: Conn, ids: Iterable[str]) -> set[str]:
    """The IDs among ``ids`` ever used: live members, IDs merged away, and IDs erased
    (:mod:`.tombstones`)."""
    ids = sorted(set(ids))
    taken = buried_sqlite(db, ids)
    for chunk in chunks(ids):
        marks = ",".join("?" * len(chunk))
        taken.update(
            row[0]
            for row in rows(
                db,
                f"SELECT id FROM members WHERE id IN ({marks})"
                f" UNION SELECT old_id FROM redirects WHERE old_id IN ({marks})",
                [*chunk, *chunk],
            )
        )
    return taken

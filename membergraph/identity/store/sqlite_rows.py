"""How a change's records, identifiers, links and new members become rows of the SQLite
store, and the statements that write them: for one change's transaction
(:mod:`~membergraph.identity.store.sqlite_write`) and for a first load's stages
(:mod:`~membergraph.identity.store.sqlite_first_load`), which append them in key order to
an empty store.

Most rows go in as one statement over one JSON array (:func:`insert_rows`), so SQLite
works on them without Python's lock. A record's purchases and a card's e-mails by day are
stored as JSON text (:func:`days_text`), which :func:`days_of` reads back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from itertools import repeat
from operator import attrgetter, itemgetter
from typing import Any

import orjson

from membergraph.identity.engine import Link
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, RecordKey

__all__ = [
    "RECORD_COLUMNS",
    "chunks",
    "days_of",
    "days_text",
    "insert_rows",
    "record_fields",
    "record_ref",
    "write_identifiers",
    "write_links",
    "write_new_members",
    "write_records",
]

_CHUNK = 500  # SQLite's variable limit is 32766; chunks keep statements short and cached


def chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterable[Sequence[Any]]:
    """``items`` in slices of at most ``size``, for statements with one ``?`` per item."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


# The rows of a JSON array, each rendered once: referring to json_each's value column once
# per column renders the row's JSON again each time (30 % of a first load's write time).
_ROWS = (
    "WITH r(v) AS MATERIALIZED (SELECT value FROM json_each(?))"
    if sqlite3.sqlite_version_info >= (3, 35)
    else "WITH r(v) AS (SELECT value FROM json_each(?))"
)


def insert_rows(
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


def write_new_members(
    db: sqlite3.Connection, new_members: Sequence[str], at: str, bulk: bool = False
) -> None:
    """Add the members a change makes (``bulk``: into a first load's empty store)."""
    if bulk:  # a first load: an empty store has no member and no redirect to meet
        # In key order, appended to the table's B-tree (IDs are random: 0.6 -> 0.3 s).
        insert_rows(db, "members (id, created_at)", list(zip(sorted(new_members), repeat(at))))
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


def write_links(db: sqlite3.Connection, links: Sequence[Link], actor: str, at: str) -> None:
    """Add links, made by ``actor`` at ``at``, after those already written."""
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


_KIND = {kind: kind.value for kind in IdentifierKind}  # plain str binds faster than an enum
_by_record = itemgetter(4, 5, 0, 1, 2, 3)  # an identifier row's primary key


def write_identifiers(db: sqlite3.Connection, records: Sequence[RecordData], bulk: bool) -> None:
    """Add the records' identifiers (``bulk``: appended to a first load's empty table)."""
    if bulk:
        # A first load's records come in key order, so these rows append to the primary key
        # (4.4 s against 5.7 to 7.0 s with the old (kind, key) key, for 617,000 rows). Rows
        # made by tuple concatenation, in C (1.0 -> 0.5 s: the engine waits for the lock
        # meanwhile); orjson writes the kind enum as its value.
        insert_rows(
            db, "identifiers", [i + r.ref for r in records for i in r.identifiers], "OR IGNORE"
        )
        return
    rows = [(_KIND[i[0]], *i[1:], r.source, r.key) for r in records for i in r.identifiers]
    # Rows in key order: inserts then walk the B-tree instead of jumping around it.
    db.executemany(
        "INSERT OR IGNORE INTO identifiers VALUES (?,?,?,?,?,?)", sorted(rows, key=_by_record)
    )


RECORD_COLUMNS = (
    "source, key, role, first_name, last_name, birth_date, address, version, days, email_days"
)
record_ref = attrgetter("ref")  # a record's (source, key), in C


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
    """A record's ``RECORD_COLUMNS``."""
    birth = r.birth_date.isoformat() if r.birth_date else None
    person = (r.source, r.key, r.role, r.first_name, r.last_name, birth, r.address, r.version)
    return (*person, days_text(r.days), days_text(r.email_days))


# The same, the person's fields read in C, for a JSON array (orjson renders a birth date as
# isoformat does).
_person_fields = attrgetter(*RECORD_COLUMNS.split(", ")[:-2])


def record_fields(r: RecordData) -> tuple[Any, ...]:
    """A record's ``RECORD_COLUMNS`` for :func:`insert_rows` (a first load's staged rows)."""
    emails = days_text(r.email_days) if r.email_days else None
    return (*_person_fields(r), days_text(r.days) if r.days else None, emails)


def write_records(
    db: sqlite3.Connection,
    records: Sequence[RecordData],
    assigned: Mapping[RecordKey, str],
    bulk: bool,
) -> None:
    """Write records with the members ``assigned`` them; a record already stored keeps
    its first member as ``origin_member_id`` (``bulk``: appended to an empty store)."""
    rows = [(*_record_row(r), m, m) for r in records for m in (assigned.get(r.ref),)]
    if bulk:
        # An empty store: appends, in key order (see sqlite_first_load.stage_records).
        rows.sort()
        insert_rows(db, f"records ({RECORD_COLUMNS}, member_id, origin_member_id)", rows)
        return
    # Rows in key order: inserts then walk the B-trees instead of jumping around them.
    # A record's member rides along; origin_member_id is its first member, kept.
    db.executemany(
        f"INSERT INTO records ({RECORD_COLUMNS}, member_id, origin_member_id)"
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

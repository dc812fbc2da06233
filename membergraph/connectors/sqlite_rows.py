"""The source table's statements, run in the connection's thread (see :mod:`.sqlite`).

Each function takes the ``sqlite3`` connection first, as :meth:`.sqlite.SqliteLines.run`
calls it: one hop to the thread, any number of statements.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence

from pydantic import BaseModel

from membergraph.connectors.base import SourceLocked, SourceUnavailable
from membergraph.sqlite_lock_wait import locked
from membergraph.sqlite_tx import immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS source_lines (
    source TEXT NOT NULL, line_id TEXT NOT NULL, owner TEXT NOT NULL, body BLOB NOT NULL,
    PRIMARY KEY (source, line_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS source_lines_owner ON source_lines (source, owner);
CREATE TABLE IF NOT EXISTS source_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
-- A pushed line whose push is not done yet (identity, feed): written in the line's own
-- transaction, dropped when the push is; a start finishes what a killed process left.
CREATE TABLE IF NOT EXISTS source_pending (
    source TEXT NOT NULL, line_id TEXT NOT NULL, mark TEXT NOT NULL,
    PRIMARY KEY (source, line_id)
) WITHOUT ROWID;
-- Lines held per source, and those that identify no one: filed under no owner, or owned by
-- a record the identity store keeps in no member (a call of no one, a shared device, a
-- purchase keyed by a till's address). Kept by the triggers of _counting() in every write's
-- own transaction (a line's, a record's leaving or joining a member), so /readyz reads four
-- rows where counting the table reads it whole (170 ms at a million lines), and every
-- process, and a load beside the gateway, reads the same figures.
CREATE TABLE IF NOT EXISTS source_counts (
    source TEXT PRIMARY KEY, lines INTEGER NOT NULL, nobodys INTEGER NOT NULL
) WITHOUT ROWID;
"""


def _nobodys(line: str, records: bool) -> str:
    """Whether the line ``line`` (``new`` or ``old``) identifies no one, as SQL (``records``:
    the identity store's table is in the file)."""
    if not records:
        return f"({line}.owner = '')"
    return (
        f"({line}.owner = '' OR EXISTS (SELECT 1 FROM records WHERE source = {line}.source"
        f" AND key = {line}.owner AND member_id IS NULL))"
    )


def _owned(record: str) -> str:
    """The lines a record (``new`` or ``old``) owns, as SQL (by the owner index)."""
    lines = "SELECT count(*) FROM source_lines"
    return f"({lines} WHERE source = {record}.source AND owner = {record}.key)"


def _counting(records: bool) -> dict[str, str]:
    """The triggers keeping ``source_counts``, by name (``records``: as :func:`_nobodys`)."""
    new, old = _nobodys("new", records), _nobodys("old", records)
    found = {
        "source_lines_in": "AFTER INSERT ON source_lines BEGIN"
        f" INSERT INTO source_counts (source, lines, nobodys) VALUES (new.source, 1, {new})"
        f" ON CONFLICT (source) DO UPDATE SET lines = lines + 1, nobodys = nobodys + {new};"
        " END",
        "source_lines_out": "AFTER DELETE ON source_lines BEGIN"
        f" UPDATE source_counts SET lines = lines - 1, nobodys = nobodys - {old}"
        " WHERE source = old.source; END",
        # (An INSERT OR REPLACE over a held line would count it twice: its implied delete
        # fires no trigger. The one such write, an erasure's, deletes the line first.)
        "source_lines_owned": "AFTER UPDATE OF owner ON source_lines"
        " WHEN old.owner != new.owner BEGIN"
        f" UPDATE source_counts SET nobodys = nobodys + {new} - {old}"
        " WHERE source = new.source; END",
    }
    if records:  # a record leaving or joining a member takes its lines with it
        found |= {
            "source_records_in": "AFTER INSERT ON records WHEN new.member_id IS NULL BEGIN"
            f" UPDATE source_counts SET nobodys = nobodys + {_owned('new')}"
            " WHERE source = new.source; END",
            "source_records_out": "AFTER DELETE ON records WHEN old.member_id IS NULL BEGIN"
            f" UPDATE source_counts SET nobodys = nobodys - {_owned('old')}"
            " WHERE source = old.source; END",
            "source_records_moved": "AFTER UPDATE OF member_id, source, key ON records"
            " WHEN (old.member_id IS NULL) != (new.member_id IS NULL)"
            " OR old.source != new.source OR old.key != new.key BEGIN"
            f" UPDATE source_counts SET nobodys = nobodys - {_owned('old')}"
            " WHERE source = old.source AND old.member_id IS NULL;"
            f" UPDATE source_counts SET nobodys = nobodys + {_owned('new')}"
            " WHERE source = new.source AND new.member_id IS NULL; END",
        }
    return found


_CHUNK = 500
UPSERT = (
    "INSERT INTO source_lines (source, line_id, owner, body) VALUES (?,?,?,?)"
    " ON CONFLICT (source, line_id) DO UPDATE SET owner = excluded.owner, body = excluded.body"
)
MARK = (
    "INSERT INTO source_pending (source, line_id, mark) VALUES (?,?,?)"
    " ON CONFLICT (source, line_id) DO UPDATE SET mark = excluded.mark"
)


def render(line: BaseModel) -> bytes:
    """A line as stored: its JSON as given (unset fields left out, unknown ones kept), by
    pydantic's serializer in one call (the bytes ``orjson`` makes of ``model_dump(mode=
    "json")``, sooner: a first load renders every line)."""
    return line.model_dump_json(exclude_unset=True).encode()


def unavailable(exc: Exception) -> Exception:
    """A driver's error as the source failure callers know (others as they are)."""
    if isinstance(exc, sqlite3.Error) and locked(exc):
        return SourceLocked("sqlite", str(exc))
    return SourceUnavailable("sqlite", str(exc)) if isinstance(exc, sqlite3.Error) else exc


def suppressed(db: sqlite3.Connection, digests: set[str]) -> set[str]:
    """Those of ``digests`` the store's suppressions hold, read in the caller's transaction
    (none before the privacy tables exist: nothing was ever suppressed in this file)."""
    known = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'suppressions'"
    if not digests or db.execute(known).fetchone() is None:
        return set()
    wanted, held = sorted(digests), set[str]()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        statement = f"SELECT digest FROM suppressions WHERE digest IN ({marks})"
        held.update(str(row[0]) for row in db.execute(statement, chunk))
    return held


def by_owner(db: sqlite3.Connection, source: str, keys: list[str]) -> list[tuple[str, bytes]]:
    # Without statistics SQLite prefers the primary key's (source, ...) range, which holds
    # the bodies, to the owner index: it then reads every line of the source per lookup.
    table = "source_lines INDEXED BY source_lines_owner"
    return _where_in(db, "owner, body", "owner", source, keys, " ORDER BY owner, line_id", table)


def owned_by(
    db: sqlite3.Connection, sources: Sequence[str], records: Iterable[tuple[str, str]]
) -> dict[str, tuple[frozenset[str], list[tuple[str, bytes]]]]:
    """For each of ``sources``, the keys of ``records`` (``(source, key)`` pairs) it holds
    and the rows ``(owner, body)`` of their lines (:func:`by_owner`)."""
    keys: dict[str, list[str]] = {source: [] for source in sources}
    for source, key in records:
        if source in keys:
            keys[source].append(key)
    return {
        source: (frozenset(asked), by_owner(db, source, asked) if asked else [])
        for source, asked in keys.items()
    }


def by_id(db: sqlite3.Connection, source: str, ids: list[str]) -> list[tuple[str, bytes]]:
    return _where_in(db, "line_id, body", "line_id", source, ids)


def _where_in(  # noqa: PLR0917
    db: sqlite3.Connection,
    columns: str,
    column: str,
    source: str,
    keys: list[str],
    then: str = "",
    table: str = "source_lines",
) -> list[tuple[str, bytes]]:
    """``columns`` of a source's lines whose ``column`` is one of ``keys`` (chunked: SQLite
    caps a statement's variables)."""
    rows: list[tuple[str, bytes]] = []
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        rows += db.execute(
            f"SELECT {columns} FROM {table} WHERE source = ? AND {column} IN ({marks}){then}",
            (source, *chunk),
        ).fetchall()
    return rows


def pending(db: sqlite3.Connection, source: str) -> list[tuple[bytes, str]]:
    # A mark whose line is gone (erased since) has nothing left to finish.
    db.execute(
        "DELETE FROM source_pending WHERE source = ? AND NOT EXISTS (SELECT 1 FROM source_lines"
        " l WHERE l.source = source_pending.source AND l.line_id = source_pending.line_id)",
        (source,),
    )
    return db.execute(
        "SELECT l.body, p.mark FROM source_pending p JOIN source_lines l"
        " ON l.source = p.source AND l.line_id = p.line_id WHERE p.source = ?",
        (source,),
    ).fetchall()


def page(db: sqlite3.Connection, source: str, after: str) -> list[tuple[str, bytes]]:
    return db.execute(
        "SELECT line_id, body FROM source_lines WHERE source = ? AND line_id > ?"
        " ORDER BY line_id LIMIT 5000",
        (source, after),
    ).fetchall()


def owned_page(
    db: sqlite3.Connection, source: str, after: str, limit: int
) -> list[tuple[str, str, bytes]]:
    """A page of a source's lines after line id ``after``: id, owner and JSON."""
    return db.execute(
        "SELECT line_id, owner, body FROM source_lines WHERE source = ? AND line_id > ?"
        " ORDER BY line_id LIMIT ?",
        (source, after, limit),
    ).fetchall()


def set_owners(db: sqlite3.Connection, rows: list[tuple[str, str, str]]) -> None:
    """File lines under new owners: ``(owner, source, line id)`` rows."""
    with immediate(db):
        db.executemany("UPDATE source_lines SET owner=? WHERE source=? AND line_id=?", rows)


def any_pending(db: sqlite3.Connection, source: str) -> bool:
    """Whether a push of ``source`` left a mark (one row read)."""
    row = db.execute("SELECT 1 FROM source_pending WHERE source = ? LIMIT 1", (source,)).fetchone()
    return row is not None


def settle(db: sqlite3.Connection, source: str, marks: list[tuple[str, str]]) -> None:
    """Drop the marks of pushes that are done (a mark rewritten since by a newer push stays),
    in one transaction: on its own, each row's delete commits, and syncs, alone, while the
    push lock is held."""
    with immediate(db):
        db.executemany(
            "DELETE FROM source_pending WHERE source = ? AND line_id = ? AND mark = ?",
            [(source, i, m) for i, m in marks],
        )


def put(db: sqlite3.Connection, source: str, rows: list[tuple[str, str, bytes]]) -> None:
    """Write ``(line id, owner, JSON)`` rows in one transaction."""
    with immediate(db):
        db.executemany(UPSERT, ((source, i, o, b) for i, o, b in rows))


def keep_counts(db: sqlite3.Connection, again: bool = False) -> None:
    """Have ``source_counts`` kept by its triggers: where they are missing (a store made
    before them, or before they followed the records, a first load that set them aside), or
    ``again``, create them and count what the tables hold, in one transaction (a write after
    it is counted by them)."""
    records = _has(db, "table", "records")
    if not again and _has(db, "trigger", "source_records_in" if records else "source_lines_in"):
        return
    with immediate(db):
        stop_counting(db)
        for name, body in _counting(records).items():
            db.execute(f"CREATE TRIGGER {name} {body}")
        db.execute("DELETE FROM source_counts")
        db.execute(
            "INSERT INTO source_counts (source, lines, nobodys)"
            " SELECT source, count(*), sum(owner = '') FROM source_lines GROUP BY source"
        )
        if records:  # the lines of records in no member (few: read by the owner index)
            db.execute(
                "UPDATE source_counts SET nobodys = nobodys + (SELECT count(*) FROM records r"
                " JOIN source_lines l ON l.source = r.source AND l.owner = r.key"
                " WHERE r.member_id IS NULL AND r.source = source_counts.source)"
            )


def _has(db: sqlite3.Connection, kind: str, name: str) -> bool:
    found = "SELECT 1 FROM sqlite_master WHERE type = ? AND name = ?"
    return db.execute(found, (kind, name)).fetchone() is not None


def stop_counting(db: sqlite3.Connection) -> None:
    """Set the triggers aside (a first load: :func:`keep_counts` counts once at its end)."""
    for name in _counting(True):
        db.execute(f"DROP TRIGGER IF EXISTS {name}")


def held(db: sqlite3.Connection, sources: Sequence[str]) -> list[tuple[str, int, int, str | None]]:
    """Each source's lines held, those of no owner, and the report its last load kept: one
    row read by key per source, in one trip."""
    found = []
    for source in sources:
        counted = db.execute(
            "SELECT lines, nobodys FROM source_counts WHERE source = ?", (source,)
        ).fetchone()
        said = db.execute(
            "SELECT value FROM source_meta WHERE key = ?", (f"report:{source}",)
        ).fetchone()
        lines, nobodys = counted or (0, 0)
        found.append((source, int(lines), int(nobodys), None if said is None else str(said[0])))
    return found

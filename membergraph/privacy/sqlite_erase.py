"""Erasure on the embedded SQLite file: one transaction deletes a person's records,
identifiers, links, consents, identity events and feed entries (and every event or feed
entry whose payload or reason names one of their identifiers) and the response cache's
answers kept in the store that read her (or read a member one of those feed entries names:
the entry that made them unserved goes), and tombstones her member IDs
(:mod:`~membergraph.identity.store.tombstones`); then the file is scrubbed:
vacuumed once if secure delete was not on from the start, the WAL checkpointed and
truncated, so no copy of an erased page is left.

Plain ``sqlite3`` functions, run in the identity store's connection thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson

from membergraph.connectors.models import SourceName
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordKey
from membergraph.identity.store.sqlite_answers import drop_in
from membergraph.identity.store.sqlite_erased_ids import stand_past
from membergraph.identity.store.tombstones import bury_sqlite
from membergraph.privacy.file_scan import holds_any
from membergraph.privacy.port import EARLIER_ERASURES, Erasure, erased_by

__all__ = [
    "bury_earlier",
    "checkpoint",
    "chunks",
    "erase",
    "holds_any",
    "secure_since_start",
    "still_held",
    "vacuum",
]

_CHUNK = 400


def chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _where_refs(db: sqlite3.Connection, sql: str, refs: Sequence[RecordKey]) -> int:
    """Run ``sql`` (with ``{pairs}`` for a list of (source, key) rows) over ``refs``."""
    done = 0
    for chunk in chunks(refs):
        pairs = ",".join("(?,?)" for _ in chunk)
        done += db.execute(sql.format(pairs=pairs), [v for ref in chunk for v in ref]).rowcount
    return done


def _where_in(db: sqlite3.Connection, sql: str, values: Sequence[str]) -> int:
    done = 0
    for chunk in chunks(values):
        marks = ",".join("?" * len(chunk))
        done += db.execute(sql.format(marks=marks), list(chunk) * sql.count("{marks}")).rowcount
    return done


def _mentioning(db: sqlite3.Connection, table: str, id_col: str, words: Sequence[str]) -> list[int]:
    """Rows of ``table`` whose JSON columns hold one of ``words`` as a whole value, or whose
    free text (a steward's reason) holds one anywhere: one pass over the table."""
    if not words:
        return []
    json_cols = {"events": ("records", "evidence"), "feed": ("member_ids",)}[table]
    tests: list[str] = []
    params: list[str] = []
    for word in words:
        quoted = orjson.dumps(word).decode()
        tests += [f"instr({col}, ?) > 0" for col in json_cols] + [
            "instr(coalesce(reason,''), ?) > 0"
        ]
        params += [quoted] * len(json_cols) + [word]
    rows = db.execute(f"SELECT {id_col} FROM {table} WHERE {' OR '.join(tests)}", params)
    return sorted(int(r[0]) for r in rows)


def erase(db: sqlite3.Connection, erasure: Erasure, at: datetime) -> dict[str, int]:
    refs, members = list(erasure.refs), list(erasure.member_ids)
    counts: dict[str, int] = {}
    pair = "(source, key) IN (VALUES {pairs})"
    counts["records"] = _where_refs(db, f"DELETE FROM records WHERE {pair}", refs)
    counts["identifiers"] = _where_refs(
        db, "DELETE FROM identifiers WHERE (source, rkey) IN (VALUES {pairs})", refs
    )
    counts["identifiers"] += sum(
        db.execute(
            "DELETE FROM identifiers WHERE source = ? AND rkey = ? AND kind = ? AND key = ?",
            (*ref, kind, key),
        ).rowcount
        for ref, kind, key in erasure.stripped
    )
    counts["links"] = sum(
        _where_refs(
            db, f"DELETE FROM links WHERE ({end}_source, {end}_key) IN (VALUES {{pairs}})", refs
        )
        for end in ("a", "b")
    )
    counts["cannot_links"] = sum(
        _where_refs(
            db,
            f"DELETE FROM cannot_links WHERE ({end}_source, {end}_key) IN (VALUES {{pairs}})",
            refs,
        )
        for end in ("a", "b")
    )
    counts["consent_facts"] = _where_refs(
        db, "DELETE FROM consent_facts WHERE (source, rkey) IN (VALUES {pairs})", refs
    )
    # The highest event id given: a row stands there if her events were the newest, so no
    # later change is given their ids (sqlite_erased_ids).
    newest = db.execute("SELECT max(id) FROM events").fetchone()[0]
    events = _where_in(db, "DELETE FROM events WHERE member_id IN ({marks})", members)
    mentioning = _mentioning(db, "events", "id", erasure.words)
    counts["events"] = events + _where_in(
        db, "DELETE FROM events WHERE id IN ({marks})", [str(i) for i in mentioning]
    )
    stand_past(db, newest)
    counts["members"] = _where_in(db, "DELETE FROM members WHERE id IN ({marks})", members)
    # A record that stays (another person's) must not hand an erased ID back at a split.
    _where_in(
        db,
        "UPDATE records SET origin_member_id = NULL WHERE origin_member_id IN ({marks})",
        members,
    )
    _where_in(
        db,
        "UPDATE records SET previous_member_id = NULL WHERE previous_member_id IN ({marks})",
        members,
    )
    counts["redirects"] = _where_in(
        db, "DELETE FROM redirects WHERE old_id IN ({marks}) OR new_id IN ({marks})", members
    )
    counts["feed"], named = _erase_feed(db, erasure)
    # The response cache's answers kept in the store: hers, and those that read a member one
    # of the feed entries going now names (the entry that told they are stale goes with it).
    # Here, not by the followers: an erasure from the command line has none.
    drop_in(db, sorted(set(members) | named))
    # Her IDs are never given again (a new record on her key would derive one): kept as
    # keyed hashes, which are no data of hers, so not counted with what was removed.
    bury_sqlite(db, members, at)
    return counts


def bury_earlier(db: sqlite3.Connection, at: datetime) -> int:
    """Tombstone the member IDs of the erasures done before erasures kept tombstones (a store
    an earlier release wrote), read from their requests; once per store. How many."""
    if db.execute("SELECT 1 FROM meta WHERE key = ?", (EARLIER_ERASURES,)).fetchone():
        return 0
    ids: list[str] = []
    for member_id, body in db.execute("SELECT member_id, body FROM privacy_requests"):
        said = orjson.loads(body)
        ids += erased_by(said["kind"], said["steps"], member_id, said.get("erased_ids", []))
    bury_sqlite(db, ids, at)
    db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (EARLIER_ERASURES, at.isoformat()))
    return len(set(ids))


def _erase_feed(db: sqlite3.Connection, erasure: Erasure) -> tuple[int, set[str]]:
    """Delete her feed entries; how many, and the members they named."""
    cursors: set[int] = set()
    for chunk in chunks(list(erasure.member_ids)):
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT cursor FROM feed_members WHERE member_id IN ({marks})", chunk)
        cursors.update(int(r[0]) for r in rows)
    for chunk in chunks(list(erasure.lines)):
        pairs = ",".join("(?,?)" for _ in chunk)
        rows = db.execute(
            f"SELECT cursor FROM feed WHERE (source, line_id) IN (VALUES {pairs})",
            [v for line in chunk for v in line],
        )
        cursors.update(int(r[0]) for r in rows)
    cursors.update(_mentioning(db, "feed", "cursor", erasure.words))
    ids = [str(c) for c in sorted(cursors)]
    named: set[str] = set()
    for chunk in chunks(ids):
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT member_ids FROM feed WHERE cursor IN ({marks})", list(chunk))
        named.update(m for row in rows for m in orjson.loads(row[0]))
    _where_in(db, "DELETE FROM feed_members WHERE cursor IN ({marks})", ids)
    return _where_in(db, "DELETE FROM feed WHERE cursor IN ({marks})", ids), named


def secure_since_start(db: sqlite3.Connection) -> bool:
    row = db.execute("SELECT value FROM meta WHERE key = 'secure_delete'").fetchone()
    return row is not None


def vacuum(db: sqlite3.Connection) -> None:
    # Pages freed before secure delete was on may still hold old bytes: rewrite the file.
    db.execute("VACUUM")
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('secure_delete', 'vacuumed')")


_SOURCES = ",".join(f"'{name.value}'" for name in SourceName)
_KINDS = ",".join(f"'{kind.value}'" for kind in IdentifierKind)
_HOLDERS = (
    # Each by an index: the record keys, identifier keys and line owners the store still has.
    f"SELECT 1 FROM records WHERE source IN ({_SOURCES}) AND key = ?",
    f"SELECT 1 FROM identifiers WHERE kind IN ({_KINDS}) AND key = ?",
    f"SELECT 1 FROM source_lines WHERE source IN ({_SOURCES}) AND owner = ?",
)


def still_held(db: sqlite3.Connection, traces: Sequence[str]) -> set[str]:
    """Those of ``traces`` the store still holds as a live value (another person's record,
    identifier or line owner: a shared family e-mail, a till's placeholder address): bytes
    of those in the file say nothing of an erasure."""
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    holders = [sql for sql in _HOLDERS if sql.split(" FROM ")[1].split()[0] in tables]
    held: set[str] = set()
    for trace in traces:
        for sql in holders:
            if db.execute(f"{sql} LIMIT 1", (trace,) * sql.count("?")).fetchone():
                held.add(trace)
                break
    return held


def checkpoint(db: sqlite3.Connection) -> tuple[int, int, int]:
    row = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return int(row[0]), int(row[1]), int(row[2])

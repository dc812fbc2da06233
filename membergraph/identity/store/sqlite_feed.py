"""The SQLite store's change feed: appending facts, reading a tail, pruning by age.

Plain ``sqlite3`` functions, run in the store connection's thread (``SqliteStore._read``).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

import orjson

from membergraph.identity.feed import FeedEntry, FeedExpired, kind_of
from membergraph.identity.store.sqlite_write import write_feed
from membergraph.identity.store.types import StoreError
from membergraph.identity.value_tags import TAG_PREFIX
from membergraph.sqlite_tx import immediate, in_transaction

__all__ = ["after", "append", "carry_feed_on", "fed", "head", "prune", "redirect_chain"]

_COLUMNS = (
    "f.cursor, f.kind, f.member_ids, f.at, f.actor, f.reason, f.source, f.line_id, f.value_tags"
)


def append(db: sqlite3.Connection, entries: Sequence[FeedEntry]) -> list[int]:
    return in_transaction(db, write_feed, entries)


def after(
    db: sqlite3.Connection, cursor: int, limit: int, member_id: str | None
) -> list[FeedEntry]:
    said = dict(
        db.execute(
            "SELECT key, value FROM meta WHERE key IN ('feed_pruned_through', ?)", (_RESTORED,)
        ).fetchall()
    )
    pruned = said.get("feed_pruned_through")
    if pruned is not None and cursor < int(pruned):
        raise FeedExpired(
            f"cursor {cursor} is older than the feed keeps (entries up to {pruned} pruned)"
        )
    for kept, replaced in orjson.loads(said.get(_RESTORED, "[]")):
        if kept < cursor <= replaced:
            raise FeedExpired(
                f"cursor {cursor} was handed out by the store a restore replaced: this one "
                f"holds its changes up to {kept} only; start again without `after`"
            )
    if member_id is not None and member_id.startswith(TAG_PREFIX):
        # feed_members holds value tags too: a tag is no member, and never a way to learn
        # when a value someone can digest was written.
        rows = []
    elif member_id is None:
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM feed AS f WHERE f.cursor > ? ORDER BY f.cursor LIMIT ?",
            (cursor, limit),
        ).fetchall()
    else:
        rows = db.execute(
            f"SELECT {_COLUMNS} FROM feed_members AS m JOIN feed AS f ON f.cursor = m.cursor"
            " WHERE m.member_id = ? AND m.cursor > ? ORDER BY m.cursor LIMIT ?",
            (member_id, cursor, limit),
        ).fetchall()
    return [
        FeedEntry(
            cursor=row[0],
            kind=kind_of(row[1]),
            member_ids=tuple(orjson.loads(row[2])),
            at=datetime.fromisoformat(row[3]),
            actor=row[4],
            reason=row[5],
            source=row[6],
            line_id=row[7],
            value_tags=tuple(orjson.loads(row[8])) if row[8] else (),
        )
        for row in rows
    ]


def fed(db: sqlite3.Connection, source: str, line_ids: list[str], after: int = 0) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(line_ids), 500):
        chunk = line_ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        found.update(
            row[0]
            for row in db.execute(
                f"SELECT line_id FROM feed WHERE source = ? AND line_id IN ({marks})"
                " AND cursor > ?",
                (source, *chunk, after),
            )
        )
    return found


_RESTORED = "feed_restored"  # [[the copy's last cursor, the replaced store's last], ...]


def carry_feed_on(db: sqlite3.Connection, handed_out: int) -> None:
    """In a backup put in place of a store whose feed handed out cursors up to
    ``handed_out``: new cursors follow those (a subscriber's cursor never names two
    changes), and one of the replaced store's that this copy lacks is refused (its changes
    are not here) rather than read as a place in this feed."""
    kept = head(db)
    if handed_out <= kept:
        return
    # The copy's own place is one past the replaced store's last cursor: a cursor read from
    # it right after the restore (`viewer { feedCursor }`) is not one the replaced store
    # handed out, so that one answers FEED_EXPIRED from the restore on, not only once a
    # change is made, and this one waits for the changes to come.
    db.execute("DELETE FROM sqlite_sequence WHERE name = 'feed'")
    db.execute("INSERT INTO sqlite_sequence (name, seq) VALUES ('feed', ?)", (handed_out + 1,))
    row = db.execute("SELECT value FROM meta WHERE key = ?", (_RESTORED,)).fetchone()
    gaps = [*orjson.loads(row[0] if row else "[]"), [kept, handed_out]]
    db.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (_RESTORED, orjson.dumps(gaps).decode()),
    )


def redirect_chain(db: sqlite3.Connection, member_id: str) -> list[str]:
    """``member_id`` through each redirect to the live member (the port's doc)."""
    chain = [member_id]
    for _ in range(64):  # redirect chains are short; the bound stops a corrupt cycle
        if db.execute("SELECT 1 FROM members WHERE id=?", (chain[-1],)).fetchone():
            return chain
        row = db.execute("SELECT new_id FROM redirects WHERE old_id=?", (chain[-1],)).fetchone()
        if row is None:
            return []
        chain.append(row[0])
    raise StoreError(f"redirect cycle at member {member_id}")


def head(db: sqlite3.Connection) -> int:
    """The last cursor the feed reached: its last entry's, or the counter's when that is
    further (a table pruned empty, a restore's place past the store it replaced)."""
    row = db.execute(
        "SELECT max(coalesce((SELECT max(cursor) FROM feed), 0),"
        " coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'feed'), 0))"
    ).fetchone()
    return int(row[0])


def prune(db: sqlite3.Connection, before: datetime) -> int:
    with immediate(db):
        last = db.execute(
            "SELECT max(cursor) FROM feed WHERE at < ?", (before.isoformat(),)
        ).fetchone()[0]
        if last is None:
            return 0
        gone = db.execute("DELETE FROM feed WHERE cursor <= ?", (last,)).rowcount
        db.execute("DELETE FROM feed_members WHERE cursor <= ?", (last,))
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('feed_pruned_through', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(last),),
        )
    return int(gone)

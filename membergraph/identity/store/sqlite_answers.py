"""The SQLite store's kept answers (:mod:`.answers`): the ``answers`` table, and
``answer_members`` naming the members each read (what a feed entry drops them by)."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import orjson

from membergraph.identity.store.answers import (
    KEPT_PAST_S,
    NOT_HERE,
    AnswersStore,
    AnswerToKeep,
    Kept,
    StoredAnswer,
    by_cursor,
)
from membergraph.identity.store.sqlite_here import BUSY
from membergraph.sqlite_tx import immediate

if TYPE_CHECKING:
    from membergraph.identity.store.sqlite import SqliteStore

__all__ = ["SCHEMA", "SqliteAnswers", "drop_in"]

# Run as a store opens (sqlite_schema.SCHEMA): a store made before these tables gets them
# then. They hold answers made from records, not records: no format step.
SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    seq INTEGER PRIMARY KEY, key BLOB NOT NULL UNIQUE, body BLOB NOT NULL,
    members TEXT NOT NULL, since INTEGER NOT NULL, expires REAL NOT NULL, size INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS answer_members (
    seq INTEGER NOT NULL, member_id TEXT NOT NULL, PRIMARY KEY (seq, member_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS answer_members_member ON answer_members (member_id);
CREATE INDEX IF NOT EXISTS answers_size ON answers (size);
CREATE INDEX IF NOT EXISTS answers_expires ON answers (expires);
CREATE TABLE IF NOT EXISTS answer_figures (
    one INTEGER PRIMARY KEY CHECK (one = 1), entries INTEGER NOT NULL, bytes INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS answer_lease (
    one INTEGER PRIMARY KEY CHECK (one = 1), owner TEXT NOT NULL, until REAL NOT NULL
);
CREATE TRIGGER IF NOT EXISTS answers_in AFTER INSERT ON answers BEGIN
    UPDATE answer_figures SET entries = entries + 1, bytes = bytes + NEW.size;
END;
CREATE TRIGGER IF NOT EXISTS answers_out AFTER DELETE ON answers BEGIN
    UPDATE answer_figures SET entries = entries - 1, bytes = bytes - OLD.size;
END;
"""
# The answers held and their bytes are a running total (``answer_figures``) kept by the
# file's own triggers, in the transaction of every insert and delete whatever code makes it
# (a write and its bound, a drop by member, an erasure, a clear, a process of the release
# before): a write reads one row where a count read every answer's size. The row is
# written at the first write after the triggers exist, from a count then (a store whose
# answers were kept before them). A delete of every answer goes row by row because of them.

# Served only while no feed entry after the answer's reads began names a member it read.
_READ = """
SELECT a.body, a.members, a.expires FROM answers AS a WHERE a.key = ? AND a.expires > ?
  AND NOT EXISTS (
    SELECT 1 FROM answer_members AS m JOIN feed_members AS f
      ON f.member_id = m.member_id AND f.cursor > a.since
    WHERE m.seq = a.seq
  )
"""
_BOOKKEEPING = 120  # bytes a row and its members take beside the body, about
_EXPIRED = "SELECT seq, size FROM answers WHERE expires <= ? LIMIT 256"
_EXPIRING = (
    "SELECT expires, members FROM answers WHERE expires > ? AND expires <= ?"
    " ORDER BY expires, seq LIMIT ? OFFSET ?"
)


def _read(db: sqlite3.Connection, key: bytes, now: float) -> StoredAnswer | None:
    row = db.execute(_READ, (key, now)).fetchone()
    if row is None:
        return None
    return StoredAnswer(bytes(row[0]), tuple(orjson.loads(row[1])), row[2])


def _changed_since(db: sqlite3.Connection, members: Sequence[str], since: int) -> bool:
    marks = ",".join("?" * len(members))
    sql = f"SELECT 1 FROM feed_members WHERE member_id IN ({marks}) AND cursor > ? LIMIT 1"
    return db.execute(sql, (*members, since)).fetchone() is not None


def _drop_seqs(db: sqlite3.Connection, seqs: Sequence[int]) -> None:
    for start in range(0, len(seqs), 500):
        chunk = list(seqs[start : start + 500])
        marks = ",".join("?" * len(chunk))
        db.execute(f"DELETE FROM answer_members WHERE seq IN ({marks})", chunk)
        db.execute(f"DELETE FROM answers WHERE seq IN ({marks})", chunk)


def _keep(
    db: sqlite3.Connection,
    answers: Sequence[AnswerToKeep],
    max_entries: int,
    max_bytes: int,
    now: float,
) -> Kept:
    kept = stale = evicted = 0
    with immediate(db):
        _count_once(db)
        for answer in answers:
            if not answer.members or _changed_since(db, answer.members, answer.since):
                stale += 1
                continue
            old = db.execute("SELECT seq FROM answers WHERE key = ?", (answer.key,)).fetchone()
            if old is not None:
                _drop_seqs(db, [old[0]])
            size = len(answer.body) + len(answer.key) + _BOOKKEEPING
            seq = db.execute(
                "INSERT INTO answers (key, body, members, since, expires, size)"
                " VALUES (?,?,?,?,?,?)",
                (
                    answer.key,
                    answer.body,
                    orjson.dumps(answer.members).decode(),
                    answer.since,
                    answer.expires,
                    size,
                ),
            ).lastrowid
            db.executemany(
                "INSERT OR IGNORE INTO answer_members (seq, member_id) VALUES (?,?)",
                [(seq, m) for m in answer.members],
            )
            kept += 1
        entries, total = _held(db)
        # Those past their moment (each lives until its figures move: not in write order),
        # left a while for the re-maker to read.
        past = now - KEPT_PAST_S
        dead = db.execute(_EXPIRED, (past,)).fetchall()
        if dead:
            _drop_seqs(db, [seq for seq, _ in dead])
            entries, total = entries - len(dead), total - sum(size for _, size in dead)
            evicted += len(dead)
        # Oldest first: while over the bound or expired.
        while entries:
            oldest = db.execute(
                "SELECT seq, size, expires FROM answers ORDER BY seq LIMIT 256"
            ).fetchall()
            out = []
            for seq, size, expires in oldest:
                if entries <= max_entries and total <= max_bytes and expires > past:
                    break
                out.append(seq)
                entries, total = entries - 1, total - size
            if not out:
                break
            _drop_seqs(db, out)
            evicted += len(out)
    return Kept(kept, stale, evicted, entries, total)


def _seqs_of(
    db: sqlite3.Connection, members: Sequence[str], before: int | None = None
) -> list[int]:
    seqs: set[int] = set()
    for start in range(0, len(members), 500):
        chunk: list[str | int] = list(members[start : start + 500])
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT seq FROM answer_members WHERE member_id IN ({marks})"
        if before is not None:
            sql = (
                "SELECT m.seq FROM answer_members AS m JOIN answers AS a ON a.seq = m.seq"
                f" WHERE m.member_id IN ({marks}) AND a.since < ?"
            )
            chunk.append(before)
        seqs.update(row[0] for row in db.execute(sql, chunk))
    return sorted(seqs)


def drop_in(db: sqlite3.Connection, members: Sequence[str]) -> int:
    """Drop every answer that read one of ``members``, in the caller's transaction (an
    erasure's); how many."""
    seqs = _seqs_of(db, members)
    _drop_seqs(db, seqs)
    return len(seqs)


def _drop(
    db: sqlite3.Connection, members: Sequence[str], before: int | Mapping[str, int] | None
) -> int:
    seqs = sorted({s for at, some in by_cursor(members, before) for s in _seqs_of(db, some, at)})
    if seqs:
        with immediate(db):
            _drop_seqs(db, seqs)
    return len(seqs)


def _clear(db: sqlite3.Connection) -> None:
    if db.execute("SELECT 1 FROM answers LIMIT 1").fetchone() is None:
        return
    if db.in_transaction:  # (a first load's staging transaction marks the store: part of it)
        db.execute("DELETE FROM answer_members")
        db.execute("DELETE FROM answers")
        return
    with immediate(db):
        db.execute("DELETE FROM answer_members")
        db.execute("DELETE FROM answers")


def _lead(db: sqlite3.Connection, owner: str, now: float, seconds: float) -> bool:
    with immediate(db):
        held = db.execute("SELECT owner, until FROM answer_lease").fetchone()
        if held is not None and held[0] != owner and held[1] > now:
            return False
        db.execute(
            "INSERT OR REPLACE INTO answer_lease (one, owner, until) VALUES (1, ?, ?)",
            (owner, now + seconds),
        )
    return True


def _expiring(
    db: sqlite3.Connection, after: float, until: float, limit: int, skip: int
) -> list[tuple[float, str]]:
    return db.execute(_EXPIRING, (after, until, limit, skip)).fetchall()


def _count_once(db: sqlite3.Connection) -> None:
    """The running total's row, counted from the table if it has none yet (in the caller's
    write transaction: no write comes between the count and the row)."""
    if db.execute("SELECT 1 FROM answer_figures").fetchone() is None:
        db.execute(
            "INSERT INTO answer_figures (one, entries, bytes)"
            " SELECT 1, count(*), total(size) FROM answers"
        )


def _held(db: sqlite3.Connection) -> tuple[int, int]:
    """The answers held and their bytes: the running total (a count before its first write)."""
    row = db.execute("SELECT entries, bytes FROM answer_figures").fetchone()
    if row is None:
        row = db.execute("SELECT count(*), total(size) FROM answers").fetchone()
    return int(row[0]), int(row[1])


class SqliteAnswers(AnswersStore):
    """Kept answers in the store's file: read on the event loop's thread where the file's
    lock lets it (:mod:`.sqlite_here`), written in the writer's thread."""

    def __init__(self, store: SqliteStore) -> None:
        self.store = store

    def read_here(self, key: bytes, now: float) -> StoredAnswer | None | object:
        here = self.store.here
        if here is None or self.store._staging or self.store._db is None:
            return NOT_HERE
        try:
            self.store._same_file()  # (a file deleted or replaced serves nothing)
            found = here.read(_read, key, now)
        except sqlite3.Error:  # (FileMoved is one)
            return NOT_HERE  # (the awaited read says what failed, mapped)
        return NOT_HERE if found is BUSY else found

    async def read(self, key: bytes, now: float) -> StoredAnswer | None:
        return await self.store._read(_read, key, now)

    async def keep(
        self, answers: Sequence[AnswerToKeep], max_entries: int, max_bytes: int, now: float
    ) -> Kept:
        async with self.store._mapped("write"):
            return await self.store._in_thread(_keep, answers, max_entries, max_bytes, now)

    async def drop(
        self, members: Sequence[str], before: int | Mapping[str, int] | None = None
    ) -> int:
        async with self.store._mapped("write"):
            return await self.store._in_thread(_drop, list(members), before)

    async def clear(self) -> None:
        async with self.store._mapped("write"):
            await self.store._in_thread(_clear)

    async def figures(self) -> tuple[int, int]:
        return await self.store._read(_held)

    async def expiring(
        self, after: float, until: float, limit: int, skip: int = 0
    ) -> list[tuple[float, tuple[str, ...]]]:
        rows = await self.store._read(_expiring, after, until, limit, skip)
        return [(float(at), tuple(orjson.loads(members))) for at, members in rows]

    async def lead(self, owner: str, now: float, seconds: float) -> bool:
        # Not a "write" (whose success says the file takes writes again): a lease held by
        # another process writes nothing, and a renewal's row is no push's size.
        async with self.store._mapped("re-make lease"):
            return await self.store._in_thread(_lead, owner, now, seconds)

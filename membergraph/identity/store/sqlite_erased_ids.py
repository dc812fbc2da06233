"""An erased event's id is never given again, in the SQLite store.

``events.id`` is an INTEGER PRIMARY KEY without AUTOINCREMENT: SQLite gives the next id after
the highest row. An erasure deleting the store's newest events would let their ids be given
again, and a steward's stale ``undo(N)`` of an erased event would undo another change. So the
erasure leaves a row standing at the highest id it deleted (kind ``erased``, of no member, with
no evidence: it names no one): later ids follow it, and a change writes its events without a
read of its own. Reads by id pass over it (:data:`SHOWN`); the highest id tells which ids were
given (``undo`` says an id no event has below it was erased, not unknown).

Releases before kept that id in the ``meta`` table (:data:`EVENTS_GIVEN`) and read it on each
change that wrote events; a store holding the mark gets the row in its place as it opens.
"""

from __future__ import annotations

import sqlite3

from membergraph.sqlite_tx import immediate

__all__ = ["EVENTS_GIVEN", "SHOWN", "stand_past", "upgrade"]

EVENTS_GIVEN = "events_given"
"""The ``meta`` row earlier releases' erasures kept the highest event id in."""

SHOWN = "kind != 'erased'"
"""The events a read by id shows: not a standing row."""

_STAND = (
    "INSERT INTO events (id, member_id, kind, at, actor, evidence, records)"
    " SELECT {id}, '', 'erased', '', '', '{{}}', '[]'"
)


def stand_past(db: sqlite3.Connection, newest: int | None) -> None:
    """After an erasure deleted events, in its transaction: a row at ``newest`` (the highest
    id given before it) if none is left at or above it. A row standing lower goes: ids past
    it are given already."""
    if newest is None:
        return
    db.execute("DELETE FROM events WHERE kind = 'erased' AND member_id = '' AND id < ?", (newest,))
    db.execute(
        _STAND.format(id="?") + " WHERE NOT EXISTS (SELECT 1 FROM events WHERE id >= ?)",
        (newest, newest),
    )


def upgrade(db: sqlite3.Connection) -> None:
    """A store holding an earlier release's mark: the row stands at it instead, and the mark
    goes. A store without one takes no write lock; two processes opening one at once (the
    look again under the lock) make one row."""
    if db.execute("SELECT 1 FROM meta WHERE key = ?", (EVENTS_GIVEN,)).fetchone() is None:
        return
    with immediate(db):
        db.execute(
            _STAND.format(id="CAST(value AS INTEGER)") + " FROM meta WHERE key = ?"
            " AND CAST(value AS INTEGER) > coalesce((SELECT max(id) FROM events), 0)",
            (EVENTS_GIVEN,),
        )
        db.execute("DELETE FROM meta WHERE key = ?", (EVENTS_GIVEN,))

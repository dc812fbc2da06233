"""One SQLite write transaction, written the same way by every store over SQLite.

The connections are opened with ``isolation_level=None`` (the driver begins nothing on its
own), so each write says where it starts and ends. ``BEGIN IMMEDIATE`` takes the write lock
at the start, so what the transaction reads stays true until it commits: no other process
writes in between, and no upgrade from a read lock can fail half-way with ``SQLITE_BUSY``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["immediate", "in_transaction"]

T = TypeVar("T")


@contextmanager
def immediate(db: sqlite3.Connection, begun: bool = False) -> Iterator[sqlite3.Connection]:
    """A write transaction around the block: committed at its end, rolled back (and the
    error raised again) on any error, so none of it is half-written. ``begun``: the
    transaction was begun before (a first load stages its records in it), only end it."""
    if not begun:
        db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def in_transaction(db: sqlite3.Connection, write: Callable[..., T], *args: Any) -> T:
    """``write(db, *args)`` in one write transaction (for a connection's thread: ``run``)."""
    with immediate(db):
        return write(db, *args)

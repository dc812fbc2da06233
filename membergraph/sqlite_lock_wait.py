"""How long a request's write to a SQLite file waits for another connection's lock.

A connection waits up to :data:`~membergraph.sqlite_tx.BUSY_SECONDS` for a lock another
holds (a push, a ``load``, a backup or a script of the operator's ``BEGIN EXCLUSIVE``), then
says "database is locked". A request's write waits only for what is left of its time budget
(:func:`~membergraph.write_budget.write_begins`): past it, it is refused before anything of
it is written, and the request answers so (``STORE_UNAVAILABLE``), not ``TIMEOUT`` for a
change then saved.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from membergraph.write_budget import write_begins

__all__ = ["LockWaitOver", "budgeted", "locked"]

T = TypeVar("T")


class LockWaitOver(sqlite3.OperationalError):
    """A request's write found the file locked for longer than its time budget left it:
    nothing of it was written."""


def locked(exc: BaseException) -> bool:
    """Whether ``exc`` says the file was locked by another connection past the wait."""
    if isinstance(exc, LockWaitOver):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF in {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


def budgeted(
    fn: Callable[..., T], args: tuple[Any, ...]
) -> tuple[Callable[..., T], tuple[Any, ...]]:
    """``(fn, args)`` as a trip to a connection's thread runs them (``fn(db, *args)``), for
    a write a request is about to hand over: its wait for the file's lock bounded by what
    is left of the request's budget, counted from now (the trip's turn in the thread's
    queue included). Outside a request's budget, or after its first write: as they are."""
    left = write_begins()
    if left is None:
        return fn, args
    return _waiting_until, (time.monotonic() + left, fn, *args)


def _waiting_until(db: sqlite3.Connection, until: float, fn: Callable[..., T], *args: Any) -> T:
    left = until - time.monotonic()
    if left <= 0:
        raise LockWaitOver("database is locked (the request's time budget was spent)")
    (before,) = db.execute("PRAGMA busy_timeout").fetchone()
    db.execute(f"PRAGMA busy_timeout = {max(int(left * 1000), 1)}")
    try:
        return fn(db, *args)
    except sqlite3.OperationalError as exc:
        if locked(exc) and not db.in_transaction:  # (refused as it began: nothing written)
            raise LockWaitOver(f"{exc} (waited the request's time budget)") from exc
        raise
    finally:
        db.execute(f"PRAGMA busy_timeout = {int(before)}")

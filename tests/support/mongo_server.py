"""What the emulated MongoDB server keeps besides documents: open transactions (pre-images
for rollback, which documents each holds), commit order for write conflicts, the faults a
test asks for, and the session whose ``with_transaction`` runs PyMongo's retry loop over
them. :mod:`tests.support.mongo` puts PyMongo's async interface in front of it.

Semantics emulated, and where they stop:

- A transaction's writes are undone when it aborts (pre-images restored).
- A document written by an open transaction, or committed by another after a transaction
  began, cannot be written by that transaction: ``WriteConflict`` (code 112) with the
  ``TransientTransactionError`` label, as the server answers; the first writer wins.
- Reads are not isolated: they see the latest writes, committed or not.
- Writes outside a transaction never wait for or conflict with one.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pymongo.client_session_shared import _make_timeout_error
from pymongo.errors import AutoReconnect, OperationFailure, PyMongoError

__all__ = [
    "EmulatedSession",
    "Faults",
    "Hold",
    "Server",
    "Transaction",
    "transient",
    "write_conflict",
]

Key = tuple[str, str, Any]  # (database, collection, _id)

_ATTEMPTS = 50  # with_transaction's 120 s, as attempts: enough for any test's conflicts

CURRENT: contextvars.ContextVar[Any] = contextvars.ContextVar("emulated_transaction", default=None)
"""The session whose ``with_transaction`` callback runs in this context, if any."""


def write_conflict(what: str = "WriteConflict") -> OperationFailure:
    """What the server answers a write to a document another transaction holds."""
    return OperationFailure(
        what,
        112,
        {
            "ok": 0,
            "code": 112,
            "codeName": "WriteConflict",
            "errmsg": what,
            "errorLabels": ["TransientTransactionError"],
        },
    )


def transient(message: str = "primary stepped down (injected)") -> OperationFailure:
    """A labelled transient error, as a failover inside a transaction gives."""
    return OperationFailure(
        message,
        189,
        {
            "ok": 0,
            "code": 189,
            "codeName": "PrimarySteppedDown",
            "errmsg": message,
            "errorLabels": ["TransientTransactionError"],
        },
    )


@dataclass
class Hold:
    """A held operation: ``reached`` once it waits, going on once ``go`` is set."""

    reached: asyncio.Event = field(default_factory=asyncio.Event)
    go: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class Faults:
    """Failures to inject, counted from when they are asked for.

    Every document a write touches counts as one write (a bulk of ten operations is ten
    writes); every find, aggregate, count and find_one is one read.

    Example::

        client.faults.fail_write(3)                 # the third write from now: AutoReconnect
        client.faults.fail_read(1, transient())     # the next read: a labelled transient error
    """

    writes: int = 0
    reads: int = 0
    _writes: dict[int, BaseException] = field(default_factory=dict)
    _reads: dict[int, BaseException] = field(default_factory=dict)
    _holds: dict[str, Hold] = field(default_factory=dict)

    def hold_read(self, collection: str) -> Hold:
        """The next read of ``collection`` waits, once it is reached, until let go: a test
        runs something else between two steps of another operation."""
        hold = self._holds[collection] = Hold()
        return hold

    async def held(self, collection: str) -> None:
        """Where a read of ``collection`` waits, if a hold was asked for it."""
        hold = self._holds.pop(collection, None)
        if hold is not None:
            hold.reached.set()
            await hold.go.wait()

    def fail_write(self, nth: int, error: BaseException | None = None) -> None:
        self._writes[self.writes + nth] = error or AutoReconnect("connection reset (injected)")

    def fail_read(self, nth: int, error: BaseException | None = None) -> None:
        self._reads[self.reads + nth] = error or AutoReconnect("connection reset (injected)")

    @property
    def pending(self) -> int:
        """Failures asked for that have not happened yet."""
        return len(self._writes) + len(self._reads)

    def clear(self) -> None:
        self._writes.clear()
        self._reads.clear()

    def write(self) -> None:
        self.writes += 1
        if (error := self._writes.pop(self.writes, None)) is not None:
            raise error

    def read(self) -> None:
        self.reads += 1
        if (error := self._reads.pop(self.reads, None)) is not None:
            raise error


@dataclass(eq=False)
class Transaction:
    """One open transaction: the documents it wrote, each as it was before."""

    began: int
    before: dict[Key, dict[str, Any] | None] = field(default_factory=dict)


@dataclass
class Server:
    """State shared by every client view of one emulated server."""

    faults: Faults = field(default_factory=Faults)
    clock: int = 0  # one tick per commit (or write outside a transaction)
    committed: dict[Key, int] = field(default_factory=dict)  # when each document last changed
    holders: dict[Key, Transaction] = field(default_factory=dict)
    conflicts: int = 0  # WriteConflicts answered, for tests

    def begin(self) -> Transaction:
        return Transaction(began=self.clock)

    def claim(self, txn: Transaction | None, keys: Iterable[Key], fetch: Any) -> None:
        """Before a write of ``keys``: refuse it on conflict, or keep their pre-images."""
        keys = list(keys)
        if txn is None:
            return
        for key in keys:
            holder = self.holders.get(key)
            if (holder is not None and holder is not txn) or (
                holder is None and self.committed.get(key, -1) > txn.began
            ):
                self.conflicts += 1
                raise write_conflict(f"WriteConflict on {key[1]} {key[2]!r}")
        for key in keys:
            if key not in txn.before:
                txn.before[key] = fetch(key)
                self.holders[key] = txn

    def written(self, txn: Transaction | None, keys: Iterable[Key]) -> None:
        """After a write outside a transaction: it is committed at once."""
        if txn is None:
            for key in keys:
                self.clock += 1
                self.committed[key] = self.clock

    def commit(self, txn: Transaction) -> None:
        self.clock += 1
        for key in txn.before:
            self.committed[key] = self.clock
        self._release(txn)

    def abort(self, txn: Transaction, restore: Any) -> None:
        for key, doc in txn.before.items():
            restore(key, doc)
        self._release(txn)

    def _release(self, txn: Transaction) -> None:
        for key in txn.before:
            if self.holders.get(key) is txn:
                del self.holders[key]
        txn.before.clear()


class EmulatedSession:
    def __init__(self, client: Any) -> None:
        self._client = client
        self.txn: Transaction | None = None

    async def __aenter__(self) -> EmulatedSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.txn is not None:
            self._end(commit=False)

    @property
    def in_transaction(self) -> bool:
        return self.txn is not None

    async def with_transaction(self, callback: Callable[[Any], Awaitable[Any]], **kw: Any) -> Any:
        """PyMongo's loop: run again on a TransientTransactionError, give up as it does."""
        last: BaseException | None = None
        for _ in range(_ATTEMPTS):
            self.txn = self._client.server.begin()
            token = CURRENT.set(self)
            try:
                result = await callback(self)
            except BaseException as exc:
                self._end(commit=False)
                if isinstance(exc, PyMongoError) and exc.has_error_label(
                    "TransientTransactionError"
                ):
                    last = exc
                    await asyncio.sleep(0)
                    continue
                raise
            finally:
                CURRENT.reset(token)
            self._end(commit=True)
            return result
        assert last is not None
        raise _make_timeout_error(last) from last

    def _end(self, commit: bool) -> None:
        txn, self.txn = self.txn, None
        assert txn is not None
        if commit:
            self._client.server.commit(txn)
        else:
            self._client.server.abort(txn, self._client.restore)

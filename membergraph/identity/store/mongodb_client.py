"""Connecting to MongoDB, and its errors at our boundary (used by the identity store and the
source backends): one place that makes a client with timeouts fit for a replica set, checks
it answers, names the server without its password, and maps PyMongo's errors.

Error mapping (:func:`store_error`), most specific first::

    ServerSelectionTimeoutError         StoreError "no server answered"
    any timeout (exc.timeout)           StoreError "timed out"   (bounded time is spent)
    WriteConflict (112)                 ConcurrentChange         (the service retries)
    TransientTransactionError label,    TransientStoreError      (the service retries)
      RetryableWriteError label, AutoReconnect
    other ConnectionFailure             StoreError "no server answered"
    other PyMongoError                  StoreError

The mapping is applied *outside* a transaction's callback, never inside it: PyMongo's
``with_transaction`` retries on the labels it finds there, so a callback lets the driver's
own errors through. When ``with_transaction`` gives up it raises a timeout that keeps the
labels: that is a timeout here (the time was spent), not a transient error to retry again.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import (
    AutoReconnect,
    ConnectionFailure,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from membergraph.identity.store.port import ConcurrentChange, StoreError, TransientStoreError

__all__ = [
    "ELECTION_MS",
    "MongoTimeouts",
    "connect",
    "database_of",
    "mapped",
    "redact",
    "store_error",
]

ELECTION_MS = 12_000
"""How long a replica set may be without a primary: an election (``electionTimeoutMillis``,
10 s by default) and its vote. Waiting less for a server fails every failover."""


@dataclass(frozen=True, slots=True)
class MongoTimeouts:
    """How long MongoDB operations may take (``MEMBERGRAPH_MONGODB_*_MS``).

    ``operation_ms`` is PyMongo's ``timeoutMS``: one operation, so it bounds a read of a
    stalled server. With it in force PyMongo 4.20 waits for a primary up to the time left
    of it, not ``serverSelectionTimeoutMS``: both are at least :data:`ELECTION_MS`
    (``server_selection_ms`` applies where no operation timeout is, a URL's
    ``timeoutMS=0``). ``transaction_ms`` bounds one change's transaction,
    ``with_transaction``'s retries included. Options in the URL win.
    """

    operation_ms: int = 15_000
    server_selection_ms: int = 15_000
    transaction_ms: int = 60_000

    def options(self, url: str) -> dict[str, Any]:
        given = url.lower()
        options: dict[str, Any] = {}
        if not re.search(r"[?&]timeoutms=", given):
            options["timeoutMS"] = self.operation_ms
        if not re.search(r"[?&]serverselectiontimeoutms=", given):
            options["serverSelectionTimeoutMS"] = self.server_selection_ms
        return options


def redact(url: str) -> str:
    """The URL without its password: ``mongodb://app:***@db:27017/membergraph``."""
    return re.sub(r"(://[^:@/]+):[^@/]*@", r"\1:***@", url)


def _first_part(exc: PyMongoError) -> str:
    # PyMongo appends the whole topology description: the first part says what failed.
    return str(exc).split(", Timeout:")[0].split(" (configured timeouts")[0]


def _waited(exc: PyMongoError) -> str:
    """How long the driver waited for a server, as it says it (`` in 12.0 s``), so a
    message shows which time limit was in force; empty when it does not say."""
    found = re.search(r", Timeout: ([0-9.]+)s", str(exc))
    return f" in {float(found.group(1)):.1f} s" if found else ""


def store_error(url: str, what: str, exc: PyMongoError) -> StoreError:
    """Ours for a PyMongo error (see the module's docstring), naming the server."""
    where = f"MongoDB {redact(url)}: {what} failed"
    if isinstance(exc, ServerSelectionTimeoutError):
        return StoreError(f"{where}: no server answered{_waited(exc)} ({_first_part(exc)})")
    if exc.timeout:
        return StoreError(f"{where}: timed out ({_first_part(exc)})")
    if isinstance(exc, OperationFailure) and exc.code == 112:
        return ConcurrentChange(f"{where}: write conflict with another change")
    labels = ("TransientTransactionError", "RetryableWriteError")
    if isinstance(exc, AutoReconnect) or any(map(exc.has_error_label, labels)):
        return TransientStoreError(f"{where}: {_first_part(exc)} (transient)")
    if isinstance(exc, ConnectionFailure):
        return StoreError(f"{where}: no server answered ({_first_part(exc)})")
    return StoreError(f"{where}: {exc}")


@contextlib.asynccontextmanager
async def mapped(url: str, what: str) -> AsyncIterator[None]:
    """Map PyMongo's errors raised in the block (see :func:`store_error`)."""
    try:
        yield
    except PyMongoError as exc:
        raise store_error(url, what, exc) from exc


async def connect(url: str, client: Any = None, timeouts: MongoTimeouts | None = None) -> Any:
    """A client for ``url`` (or ``client``, already made) that has answered a ping.

    Raises:
        StoreError: a bad URL, no server answered, or a standalone server behind a
            ``replicaSet=`` URL; the message names the URL without its password.
    """
    if client is None:
        options = (timeouts or MongoTimeouts()).options(url)
        try:
            client = AsyncMongoClient(url, connect=False, **options)
        except (PyMongoError, ValueError, TypeError) as exc:
            raise StoreError(f"MongoDB {redact(url)}: bad URL: {exc}") from exc
    try:
        await client.admin.command("ping")
    except PyMongoError as exc:
        await client.close()
        if isinstance(exc, ServerSelectionTimeoutError) and await standalone_behind(url):
            raise StoreError(f"MongoDB {redact(url)}: {STANDALONE}") from exc
        answered = f"no server answered{_waited(exc)} ({_first_part(exc)})"
        raise StoreError(f"MongoDB {redact(url)}: {answered}") from exc
    return client


STANDALONE = (
    "is a standalone server: the identity store writes each change in a transaction, which "
    "needs a replica set (one node is enough: mongod --replSet rs0, then rs.initiate())"
)


async def standalone_behind(url: str) -> bool:
    """Whether the first host of a ``replicaSet=`` URL answers as a standalone server.

    The driver looking for a replica set ignores such a server and reports only that none
    answered; asked directly, the server says what it is.
    """
    found = re.match(r"mongodb://([^/?]+)/?([^?]*)\??(.*)", url)
    if found is None or "replicaset=" not in url.lower():
        return False
    hosts, _, query = found.groups()
    userinfo, _, hostlist = hosts.rpartition("@")
    options = "&".join(
        o for o in query.split("&") if o and not o.lower().startswith(("replicaset=", "directc"))
    )
    direct = f"mongodb://{userinfo + '@' if userinfo else ''}{hostlist.split(',')[0]}/"
    probe: Any = AsyncMongoClient(
        f"{direct}?{options}" if options else direct,
        connect=False,
        directConnection=True,
        serverSelectionTimeoutMS=2000,
    )
    try:
        hello = await probe.admin.command("hello")
    except PyMongoError:
        return False
    finally:
        await probe.close()
    return not hello.get("setName") and hello.get("msg") != "isdbgrid"


def database_of(url: str) -> str:
    """The database a URL names (``mongodb://host/NAME?...``), ``membergraph`` if none."""
    rest = url.split("://", 1)[-1]
    path = rest.split("/", 1)[1] if "/" in rest else ""
    name = path.split("?", 1)[0]
    return name or "membergraph"

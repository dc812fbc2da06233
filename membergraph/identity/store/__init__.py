"""Identity store port and adapters; :func:`open_store` picks one from a URL."""

from __future__ import annotations

from typing import Any

from membergraph.identity.store.port import (
    Change,
    ConcurrentChange,
    IdentityEvent,
    IdentityStore,
    StoreBusy,
    StoredLink,
    StoreError,
    StoreUnwritable,
    TransientStoreError,
)

__all__ = [
    "Change",
    "ConcurrentChange",
    "IdentityEvent",
    "IdentityStore",
    "StoreBusy",
    "StoreError",
    "StoreUnwritable",
    "StoredLink",
    "TransientStoreError",
    "store_from_url",
]


def store_from_url(
    url: str, mongo_client: Any = None, durable: bool = True, mongo_timeouts: Any = None
) -> IdentityStore:
    """The adapter for a store URL (``sqlite:///PATH`` or ``mongodb://...``), not yet open.

    ``mongo_client``: an ``AsyncMongoClient`` to use instead of making one from the URL.
    ``durable``: SQLite commits with ``synchronous=FULL`` (MongoDB: the URL's write concern).
    ``mongo_timeouts``: a :class:`~membergraph.identity.store.mongodb_client.MongoTimeouts`.
    """
    if url.startswith("sqlite:///"):
        from membergraph.identity.store.sqlite import SqliteStore

        return SqliteStore.from_url(url, durable)
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from membergraph.identity.store.mongodb import MongoStore

        return MongoStore(url, client=mongo_client, timeouts=mongo_timeouts)
    raise StoreError(f"unsupported store URL {url!r}; use sqlite:///PATH or mongodb://...")

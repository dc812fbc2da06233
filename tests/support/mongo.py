"""An in-process stand-in for ``AsyncMongoClient``: mongomock's query engine behind PyMongo's
async interface, so the MongoDB adapters' code runs where no MongoDB server can.

It is an emulation, not the server: a transaction here is not isolated and is not rolled
back (the adapters build every document before the first write, so a change that cannot be
encoded still writes nothing). The same suites run against a real server when
``MEMBERGRAPH_TEST_MONGODB_URL`` is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from typing import Any

import mongomock
import pytest

REAL_URL = os.environ.get("MEMBERGRAPH_TEST_MONGODB_URL")
ON_REAL_SERVER = [
    pytest.mark.mongodb,
    pytest.mark.skipif(REAL_URL is None, reason="MEMBERGRAPH_TEST_MONGODB_URL not set"),
]
"""Marks of a test (or parameter) that needs a real MongoDB server."""


def real_url_for(database: str) -> str:
    """``MEMBERGRAPH_TEST_MONGODB_URL`` naming ``database`` (its options kept)."""
    assert REAL_URL is not None
    hosts = re.match(r"mongodb(?:\+srv)?://[^/?]+", REAL_URL)
    assert hosts, f"not a MongoDB URL: {REAL_URL}"
    options = REAL_URL.partition("?")[2]
    return f"{hosts.group(0)}/{database}" + (f"?{options}" if options else "")


def _strip(kwargs: dict[str, Any]) -> dict[str, Any]:
    kwargs.pop("session", None)
    return kwargs


class EmulatedCursor:
    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def sort(self, *args: Any, **kwargs: Any) -> EmulatedCursor:
        self._cursor = self._cursor.sort(*args, **kwargs)
        return self

    def skip(self, n: int) -> EmulatedCursor:
        self._cursor = self._cursor.skip(n)
        return self

    def limit(self, n: int) -> EmulatedCursor:
        self._cursor = self._cursor.limit(n)
        return self

    async def to_list(self, length: int | None = None) -> list[Any]:
        docs = list(self._cursor)
        return docs if length is None else docs[:length]

    def __aiter__(self) -> EmulatedCursor:
        return self

    async def __anext__(self) -> Any:
        try:
            return next(self._cursor)
        except StopIteration:
            raise StopAsyncIteration from None


class EmulatedCollection:
    def __init__(self, collection: Any) -> None:
        self._collection = collection

    def find(self, *args: Any, **kwargs: Any) -> EmulatedCursor:
        return EmulatedCursor(self._collection.find(*args, **_strip(kwargs)))

    async def aggregate(self, pipeline: list[Any], **kwargs: Any) -> EmulatedCursor:
        return EmulatedCursor(iter(list(self._collection.aggregate(pipeline, **_strip(kwargs)))))

    async def bulk_write(self, operations: list[Any], **kwargs: Any) -> None:
        # mongomock's bulk_write calls PyMongo internals that PyMongo 4.20 changed: replay
        # each operation through the emulation's own methods instead.
        coll = self._collection
        for op in operations:
            match type(op).__name__:
                case "InsertOne":
                    coll.insert_one(op._doc)
                case "ReplaceOne":
                    coll.replace_one(op._filter, op._doc, upsert=op._upsert)
                case "UpdateOne":
                    coll.update_one(op._filter, op._doc, upsert=op._upsert)
                case "UpdateMany":
                    coll.update_many(op._filter, op._doc, upsert=op._upsert)
                case "DeleteOne":
                    coll.delete_one(op._filter)
                case "DeleteMany":
                    coll.delete_many(op._filter)
                case other:
                    raise NotImplementedError(f"bulk operation {other} is not emulated")

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any]]:
        method = getattr(self._collection, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return method(*args, **_strip(kwargs))

        return call


class EmulatedDatabase:
    def __init__(self, database: Any, replica_set: bool = True) -> None:
        self._database = database
        self._replica_set = replica_set

    def __getitem__(self, name: str) -> EmulatedCollection:
        return EmulatedCollection(self._database[name])

    def __getattr__(self, name: str) -> EmulatedCollection:
        return self[name]

    async def list_collection_names(self, **kwargs: Any) -> list[str]:
        return list(self._database.list_collection_names())

    async def create_collection(self, name: str, **kwargs: Any) -> EmulatedCollection:
        self._database.create_collection(name)
        return self[name]

    async def command(self, name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if name in ("hello", "ping"):
            # What a replica-set primary (or a standalone server) answers.
            answer: dict[str, Any] = {"ok": 1.0, "isWritablePrimary": True}
            if self._replica_set:
                answer["setName"] = "emulated"
            return answer
        raise NotImplementedError(f"command {name!r} is not emulated")


class EmulatedSession:
    async def __aenter__(self) -> EmulatedSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def with_transaction(self, callback: Callable[[Any], Awaitable[Any]]) -> Any:
        return await callback(self)


class EmulatedClient:
    """``AsyncMongoClient``'s interface over one mongomock client (fresh and empty).

    ``replica_set=False`` answers ``hello`` as a standalone server does.
    """

    def __init__(self, replica_set: bool = True) -> None:
        self._client = mongomock.MongoClient()
        self.replica_set = replica_set
        self.closed = False

    def __getitem__(self, name: str) -> EmulatedDatabase:
        return EmulatedDatabase(self._client[name], self.replica_set)

    @property
    def admin(self) -> EmulatedDatabase:
        return self["admin"]

    def start_session(self, **kwargs: Any) -> EmulatedSession:
        return EmulatedSession()

    async def close(self) -> None:
        self.closed = True

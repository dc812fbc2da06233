"""An in-process stand-in for ``AsyncMongoClient``: mongomock's query engine behind PyMongo's
async interface, so the MongoDB adapters' code runs where no MongoDB server can.

It is an emulation, not the server, made strict where the adapters could go wrong unseen:

- an operation inside a ``with_transaction`` callback without ``session=`` fails the test
  (it would run outside the transaction on a server);
- a transaction that fails is rolled back, and two transactions writing one document
  conflict (``WriteConflict``, labelled transient); ``with_transaction`` retries them as
  PyMongo does, and gives up as PyMongo does (``NetworkTimeout`` keeping the labels);
- ``bulk_write`` returns a ``BulkWriteResult``, honours ``ordered``, and raises
  ``BulkWriteError`` after applying what came before the failing operation;
- every operation yields to the event loop, as a driver waiting on the network does;
- ``client.faults`` fails the Nth write or read with any error, or holds the next read of a
  collection until the test lets it go (:mod:`mongo_server`).

Reads are not isolated (they see uncommitted writes); the same suites run against a real
server when ``MEMBERGRAPH_TEST_MONGODB_URL`` is set.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import mongomock
import pytest
from bson import ObjectId
from pymongo.errors import BulkWriteError, DuplicateKeyError
from pymongo.results import BulkWriteResult

from membergraph.gateway import open_gateway
from membergraph.identity.owned_lines import held_lines
from membergraph.identity.reresolve import records_of, reresolve
from membergraph.identity.service import IdentityService
from membergraph.identity.store.mongodb import MongoStore
from membergraph.settings import Settings
from membergraph.source_set import mongo_sources
from tests.support.mongo_server import CURRENT, EmulatedSession, Faults, Server, Transaction

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


def _transaction(what: str, kwargs: dict[str, Any]) -> Transaction | None:
    """The transaction an operation runs in; a missing ``session=`` inside one fails."""
    session = kwargs.pop("session", None)
    current = CURRENT.get()
    if current is not None and session is not current:
        raise AssertionError(f"{what} inside a transaction without session=: it would run outside")
    return session.txn if session is not None else None


class EmulatedCursor:
    def __init__(self, cursor: Any, hold: Callable[[], Awaitable[None]] | None = None) -> None:
        self._cursor = cursor
        self._hold = hold  # awaited before the first document is read

    def sort(self, *args: Any, **kwargs: Any) -> EmulatedCursor:
        self._cursor = self._cursor.sort(*args, **kwargs)
        return self

    def skip(self, n: int) -> EmulatedCursor:
        self._cursor = self._cursor.skip(n)
        return self

    def limit(self, n: int) -> EmulatedCursor:
        self._cursor = self._cursor.limit(n)
        return self

    async def _held(self) -> None:
        hold, self._hold = self._hold, None
        if hold is not None:
            await hold()

    async def to_list(self, length: int | None = None) -> list[Any]:
        await asyncio.sleep(0)
        await self._held()
        docs = list(self._cursor)
        return docs if length is None else docs[:length]

    def __aiter__(self) -> EmulatedCursor:
        return self

    async def __anext__(self) -> Any:
        await self._held()
        try:
            return next(self._cursor)
        except StopIteration:
            raise StopAsyncIteration from None


class EmulatedCollection:
    def __init__(self, collection: Any, server: Server, database: str) -> None:
        self._collection = collection
        self._server = server
        self._database = database

    @property
    def name(self) -> str:
        return str(self._collection.name)

    @property
    def database(self) -> EmulatedDatabase:
        """The database it belongs to, as PyMongo's ``AsyncCollection.database``."""
        return EmulatedDatabase(self._collection.database, self._server)

    def _key(self, doc_id: Any) -> tuple[str, str, Any]:
        return (self._database, self._collection.name, doc_id)

    def _ids(self, query: dict[str, Any], many: bool) -> list[Any]:
        if not isinstance(query.get("_id", {}), dict):
            # One document by its _id: claimed whether the rest of the filter matches or not.
            # The server reads the filter in the transaction's snapshot, where a document
            # another transaction changed since still matches: the write then conflicts.
            return [query["_id"]]
        found = self._collection.find(query, {"_id": 1})
        return [d["_id"] for d in (found if many else found.limit(1))]

    def _write(self, txn: Transaction | None, ids: list[Any], run: Callable[[], Any]) -> Any:
        """Count, fault, claim and run one write touching the documents ``ids``."""
        server = self._server
        for _ in range(max(1, len(ids))):
            server.faults.write()
        keys = [self._key(i) for i in ids]
        server.claim(txn, keys, self._fetch)
        result = run()
        new = getattr(result, "upserted_id", None)
        if new is not None:
            keys.append(self._key(new))
            server.claim(txn, keys[-1:], lambda key: None)
        server.written(txn, keys)
        return result

    def _fetch(self, key: tuple[str, str, Any]) -> Any:
        return self._collection.find_one({"_id": key[2]})

    # -- reads ---------------------------------------------------------------------------

    def find(self, *args: Any, **kwargs: Any) -> EmulatedCursor:
        _transaction("find", kwargs)
        self._server.faults.read()
        hold = self._server.faults.held
        name = self.name
        return EmulatedCursor(self._collection.find(*args, **kwargs), lambda: hold(name))

    async def find_one(self, *args: Any, **kwargs: Any) -> Any:
        _transaction("find_one", kwargs)
        await asyncio.sleep(0)
        await self._server.faults.held(self.name)
        self._server.faults.read()
        return self._collection.find_one(*args, **kwargs)

    async def count_documents(self, query: dict[str, Any], **kwargs: Any) -> int:
        _transaction("count_documents", kwargs)
        await asyncio.sleep(0)
        self._server.faults.read()
        return int(self._collection.count_documents(query, **kwargs))

    async def aggregate(self, pipeline: list[Any], **kwargs: Any) -> EmulatedCursor:
        _transaction("aggregate", kwargs)
        await asyncio.sleep(0)
        self._server.faults.read()
        return EmulatedCursor(iter(list(self._collection.aggregate(pipeline, **kwargs))))

    # -- writes --------------------------------------------------------------------------

    async def insert_one(self, doc: dict[str, Any], **kwargs: Any) -> Any:
        txn = _transaction("insert_one", kwargs)
        await asyncio.sleep(0)
        doc.setdefault("_id", ObjectId())
        return self._write(txn, [doc["_id"]], lambda: self._collection.insert_one(doc))

    async def insert_many(self, docs: list[dict[str, Any]], **kwargs: Any) -> None:
        kwargs.pop("ordered", None)
        await self.bulk_write([_Insert(doc) for doc in docs], **kwargs)

    async def replace_one(self, query: dict[str, Any], doc: dict[str, Any], **kwargs: Any) -> Any:
        txn = _transaction("replace_one", kwargs)
        await asyncio.sleep(0)
        return self._replace(txn, query, doc, kwargs.get("upsert", False))

    async def update_one(self, query: dict[str, Any], update: Any, **kwargs: Any) -> Any:
        txn = _transaction("update_one", kwargs)
        await asyncio.sleep(0)
        return self._update(txn, query, update, kwargs.get("upsert", False), many=False)

    async def update_many(self, query: dict[str, Any], update: Any, **kwargs: Any) -> Any:
        txn = _transaction("update_many", kwargs)
        await asyncio.sleep(0)
        return self._update(txn, query, update, kwargs.get("upsert", False), many=True)

    async def delete_one(self, query: dict[str, Any], **kwargs: Any) -> Any:
        txn = _transaction("delete_one", kwargs)
        await asyncio.sleep(0)
        return self._delete(txn, query, many=False)

    async def delete_many(self, query: dict[str, Any], **kwargs: Any) -> Any:
        txn = _transaction("delete_many", kwargs)
        await asyncio.sleep(0)
        return self._delete(txn, query, many=True)

    async def find_one_and_update(self, query: dict[str, Any], update: Any, **kwargs: Any) -> Any:
        txn = _transaction("find_one_and_update", kwargs)
        await asyncio.sleep(0)
        ids = self._ids(query, many=False)
        return self._write(
            txn, ids, lambda: self._collection.find_one_and_update(query, update, **kwargs)
        )

    def _replace(self, txn: Transaction | None, query: Any, doc: Any, upsert: bool) -> Any:
        ids = self._ids(query, many=False)
        return self._write(txn, ids, lambda: self._collection.replace_one(query, doc, upsert))

    def _update(
        self, txn: Transaction | None, query: Any, update: Any, upsert: bool, many: bool
    ) -> Any:
        ids = self._ids(query, many)
        method = self._collection.update_many if many else self._collection.update_one
        return self._write(txn, ids, lambda: method(query, update, upsert=upsert))

    def _delete(self, txn: Transaction | None, query: Any, many: bool) -> Any:
        ids = self._ids(query, many)
        method = self._collection.delete_many if many else self._collection.delete_one
        return self._write(txn, ids, lambda: method(query))

    async def bulk_write(
        self, operations: list[Any], ordered: bool = True, **kwargs: Any
    ) -> BulkWriteResult:
        # mongomock's bulk_write calls PyMongo internals that PyMongo 4.20 changed: each
        # operation goes through the emulation's own methods instead, counted as the
        # server counts them.
        txn = _transaction("bulk_write", kwargs)
        await asyncio.sleep(0)
        counts: dict[str, Any] = {
            "writeErrors": [], "writeConcernErrors": [], "nInserted": 0, "nUpserted": 0,
            "nMatched": 0, "nModified": 0, "nRemoved": 0, "upserted": [],
        }  # fmt: skip
        for index, op in enumerate(operations):
            try:
                self._bulk_one(txn, op, index, counts)
            except DuplicateKeyError as exc:
                counts["writeErrors"].append(
                    {"index": index, "code": 11000, "errmsg": str(exc), "op": op._doc}
                )
                if ordered:
                    break
        if counts["writeErrors"]:
            raise BulkWriteError(counts)
        return BulkWriteResult(counts, True)

    def _bulk_one(self, txn: Transaction | None, op: Any, index: int, counts: Any) -> None:
        kind = type(op).__name__
        if kind in ("InsertOne", "_Insert"):
            op._doc.setdefault("_id", ObjectId())
            self._write(txn, [op._doc["_id"]], lambda: self._collection.insert_one(op._doc))
            counts["nInserted"] += 1
            return
        if kind == "ReplaceOne":
            result = self._replace(txn, op._filter, op._doc, op._upsert)
        elif kind in ("UpdateOne", "UpdateMany"):
            many = kind == "UpdateMany"
            result = self._update(txn, op._filter, op._doc, op._upsert, many)
        elif kind in ("DeleteOne", "DeleteMany"):
            result = self._delete(txn, op._filter, many=kind == "DeleteMany")
            counts["nRemoved"] += result.deleted_count
            return
        else:
            raise NotImplementedError(f"bulk operation {kind} is not emulated")
        if result.upserted_id is not None:
            counts["nUpserted"] += 1
            counts["upserted"].append({"index": index, "_id": result.upserted_id})
        else:
            counts["nMatched"] += result.matched_count
            counts["nModified"] += result.modified_count

    def __getattr__(self, name: str) -> Any:
        # Index management and the rest: passed through, awaitable.
        attribute = getattr(self._collection, name)
        if not callable(attribute):
            return attribute

        async def call(*args: Any, **kwargs: Any) -> Any:
            kwargs.pop("session", None)
            return attribute(*args, **kwargs)

        return call


class _Insert:
    def __init__(self, doc: dict[str, Any]) -> None:
        self._doc = doc


class EmulatedDatabase:
    def __init__(self, database: Any, server: Server, replica_set: bool = True) -> None:
        self._database = database
        self._server = server
        self._replica_set = replica_set

    def __getitem__(self, name: str) -> EmulatedCollection:
        return EmulatedCollection(self._database[name], self._server, self._database.name)

    def __getattr__(self, name: str) -> EmulatedCollection:
        return self[name]

    async def list_collection_names(self, **kwargs: Any) -> list[str]:
        await asyncio.sleep(0)
        return list(self._database.list_collection_names())

    async def create_collection(self, name: str, **kwargs: Any) -> EmulatedCollection:
        await asyncio.sleep(0)
        self._database.create_collection(name)  # CollectionInvalid if it exists, as 48 does
        return self[name]

    async def command(self, name: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if name in ("hello", "ping"):
            # What a replica-set primary (or a standalone server) answers.
            answer: dict[str, Any] = {"ok": 1.0, "isWritablePrimary": True}
            if self._replica_set:
                answer["setName"] = "emulated"
            return answer
        raise NotImplementedError(f"command {name!r} is not emulated")


class EmulatedClient:
    """``AsyncMongoClient``'s interface over one mongomock client (fresh and empty).

    ``replica_set=False`` answers ``hello`` as a standalone server does. Several stores (or
    gateways) given one client share its databases, as processes share one server.
    """

    def __init__(self, replica_set: bool = True) -> None:
        self._client = mongomock.MongoClient()
        self.server = Server()
        self.replica_set = replica_set
        self.closed = False

    @property
    def faults(self) -> Faults:
        return self.server.faults

    def __getitem__(self, name: str) -> EmulatedDatabase:
        return EmulatedDatabase(self._client[name], self.server, self.replica_set)

    @property
    def admin(self) -> EmulatedDatabase:
        return self["admin"]

    def start_session(self, **kwargs: Any) -> EmulatedSession:
        return EmulatedSession(self)

    def restore(self, key: tuple[str, str, Any], doc: dict[str, Any] | None) -> None:
        """Put a document back as it was before an aborted transaction (None: absent)."""
        database, collection, doc_id = key
        target = self._client[database][collection]
        if doc is None:
            target.delete_one({"_id": doc_id})
        else:
            target.replace_one({"_id": doc_id}, doc, upsert=True)

    async def drop_database(self, name: str) -> None:
        self._client.drop_database(name)

    async def close(self) -> None:
        self.closed = True


async def load(
    folder: Path, url: str, client: Any, settings: Settings | None = None
) -> dict[str, dict[str, int]]:
    """``membergraph load --data folder --to url`` (the identity store: the same database):
    a first load copied and resolved, a later one pushed. ``settings``: those the gateway
    will serve with (its rules), by default the defaults over ``url``."""
    from membergraph.mongo_load import load_screened

    if settings is None:
        settings = Settings(store=url, sources=url, cache_dir=folder.parent / "load-cache")
    return await load_screened(folder, url, settings, url, client)


async def served_store(folder: Path, url: str, client: Any, cache: Path) -> MongoStore:
    """The identity store ``membergraph serve`` opens over ``url`` after ``membergraph load
    --data folder``: loaded, resolved and marked (its sources closed)."""
    await load(folder, url, client)
    settings = Settings(store=url, sources=url, cache_dir=cache)
    gateway, sources, _ = await open_gateway(settings, client)
    await sources.aclose()
    store = gateway.identity.store
    assert isinstance(store, MongoStore)
    return store


async def reresolve_store(url: str, client: Any) -> None:
    """``membergraph reresolve`` over the store at ``url``, its lines read from the same
    database."""
    async with MongoStore(url, client=client) as store:
        collections = await mongo_sources(url, "US", client)
        try:
            held = held_lines(collections.connectors, "US")
            derive = records_of(collections.connectors, "US")
            await reresolve(IdentityService(store), url, rederive=derive, held=held)
        finally:
            await collections.aclose()

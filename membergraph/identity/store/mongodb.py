"""The production identity store: MongoDB through PyMongo's ``AsyncMongoClient``.

Selected by ``--store mongodb://...`` / ``MEMBERGRAPH_STORE``. A change is written in one
multi-document transaction (see :mod:`mongodb_write`), so MongoDB must run as a replica set
(one node is enough; ``docker-compose.yml`` starts one). :meth:`MongoStore.open` says so
plainly when it finds a standalone server. A change too large for one transaction (the
first batch resolution of millions of records) is written in ordered bulk batches instead:
each is idempotent and ``resolve_all`` converges when re-run, which every start does.

The change feed is the ``feed`` collection (:mod:`mongodb_feed`, which says why its cursors
commit in order).

PyMongo's errors are mapped at this boundary to :class:`StoreError`, naming the server's
URL without its password.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from pymongo import ReturnDocument
from pymongo.errors import ConnectionFailure, OperationFailure, PyMongoError

from membergraph.identity.engine import ValueKey
from membergraph.identity.feed import FeedEntry
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordData, RecordKey
from membergraph.identity.store import mongodb_feed
from membergraph.identity.store.mongodb_client import connect, database_of, redact
from membergraph.identity.store.mongodb_write import (
    INDEXES,
    Doc,
    Writes,
    event_of,
    feed_inserts,
    link_of,
    match_key,
    plan_change,
    record_id,
    record_of,
    split_id,
    touched_ids,
)
from membergraph.identity.store.port import (
    Change,
    ConcurrentChange,
    IdentityEvent,
    IdentityStore,
    MemberColumn,
    StoredLink,
    StoreError,
)

__all__ = ["MongoStore"]

logger = logging.getLogger(__name__)
_CHUNK = 1000
TRANSACTION_LIMIT = 20_000  # documents written in one transaction, at most
T = TypeVar("T")


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class MongoStore(IdentityStore):
    """Identity store in one MongoDB database (``mongodb://host/membergraph?replicaSet=rs0``).

    ``client`` may be any object with ``AsyncMongoClient``'s interface (the tests pass an
    in-process emulation); without it one is made from ``url``.
    """

    def __init__(
        self,
        url: str,
        database: str | None = None,
        client: Any = None,
        timeout_ms: int = 5000,
    ) -> None:
        self.url = url
        self._client = client
        self._owned = client is None
        self.timeout_ms = timeout_ms
        self.database_name = database or database_of(url)

    @property
    def client(self) -> Any:
        if self._client is None:
            raise StoreError("the MongoDB store is not open")
        return self._client

    @property
    def db(self) -> Any:
        return self.client[self.database_name]

    @contextlib.asynccontextmanager
    async def _mapped(self, what: str) -> AsyncIterator[None]:
        try:
            yield
        except ConcurrentChange:
            raise
        except OperationFailure as exc:
            if exc.has_error_label("TransientTransactionError"):
                raise ConcurrentChange(f"MongoDB {what}: {exc}") from exc
            raise StoreError(f"MongoDB {redact(self.url)}: {what} failed: {exc}") from exc
        except ConnectionFailure as exc:
            raise StoreError(
                f"MongoDB {redact(self.url)}: {what} failed: no server answered ({exc})"
            ) from exc
        except PyMongoError as exc:
            raise StoreError(f"MongoDB {redact(self.url)}: {what} failed: {exc}") from exc

    async def open(self) -> None:
        self._client = await connect(self.url, self._client, self.timeout_ms)
        try:
            async with self._mapped("connect"):
                hello = await self.client.admin.command("hello")
            if not hello.get("setName") and hello.get("msg") != "isdbgrid":
                raise StoreError(
                    f"MongoDB {redact(self.url)} is a standalone server: the identity store "
                    "writes each change in a transaction, which needs a replica set (one "
                    "node is enough: mongod --replSet rs0, then rs.initiate())"
                )
            async with self._mapped("create collections and indexes"):
                # Collections exist before the first transaction writes to them.
                present = set(await self.db.list_collection_names())
                for name in sorted({*INDEXES, "redirects", "counters"} - present):
                    await self.db.create_collection(name)
                for name, indexes in INDEXES.items():
                    await self.db[name].create_indexes(indexes)
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        if self._client is not None and self._owned:
            await self._client.close()
            self._client = None

    async def ping(self) -> dict[str, int]:
        async with self._mapped("read"):
            return {
                "records": await self.db.records.count_documents({}),
                "members": await self.db.members.count_documents({}),
                "links": await self.db.links.count_documents({"retracted_at": None}),
            }

    # -- writes ---------------------------------------------------------------------------

    async def apply(self, change: Change) -> None:
        at = (change.at or datetime.now(UTC)).isoformat()
        size = len(change.records) + len(change.assignments) + len(change.links_added)
        size += len(change.link_members) + len(change.events) + len(change.feed)
        async with self._mapped("write"):
            if size <= TRANSACTION_LIMIT:
                await self._in_transaction(lambda session: self._write(change, at, session))
            else:
                logger.info("writing a change of %d documents in batches", size)
                await self._write(dataclasses.replace(change, feed=[]), at, None)
                # Its feed entries last, in a transaction: followers hear of the change once
                # all of it is written, and cursors still commit in order (mongodb_feed).
                if change.feed:
                    await self._in_transaction(lambda s: self._append(change.feed, s))

    async def _in_transaction(self, write: Callable[[Any], Awaitable[T]]) -> T:
        async with self.client.start_session() as session:
            result: T = await session.with_transaction(write)
            return result

    async def append_feed(self, entries: Sequence[FeedEntry]) -> list[int]:
        if not entries:
            return []
        async with self._mapped("write"):
            return await self._in_transaction(lambda session: self._append(entries, session))

    async def _append(self, entries: Sequence[FeedEntry], session: Any) -> list[int]:
        if not entries:
            return []
        cursors = await self._next_ids("feed", len(entries), session)
        await self.db.feed.bulk_write(feed_inserts(cursors, entries), ordered=True, session=session)
        return list(cursors)

    async def feed_after(
        self, cursor: int, limit: int, member_id: str | None = None
    ) -> list[FeedEntry]:
        async with self._mapped("read"):
            return await mongodb_feed.after(self.db, cursor, limit, member_id)

    async def fed_lines(self, source: str, line_ids: Sequence[str]) -> set[str]:
        async with self._mapped("read"):
            return await mongodb_feed.fed(self.db, source, line_ids)

    async def feed_head(self) -> int:
        async with self._mapped("read"):
            return await mongodb_feed.head(self.db)

    async def prune_feed(self, before: datetime) -> int:
        # Not in a transaction: a prune of a long retention can outgrow one, and the marker
        # written first keeps readers right without one (mongodb_feed).
        async with self._mapped("write"):
            return await mongodb_feed.prune(self.db, before)

    async def _next_ids(self, counter: str, count: int, session: Any) -> range:
        if not count:
            return range(0)
        doc = await self.db.counters.find_one_and_update(
            {"_id": counter},
            {"$inc": {"n": count}},
            upsert=True,
            return_document=ReturnDocument.AFTER,
            session=session,
        )
        return range(doc["n"] - count + 1, doc["n"] + 1)

    async def _write(self, change: Change, at: str, session: Any) -> None:
        stored = {
            doc["_id"]: doc
            for doc in await self._find_in("records", "_id", touched_ids(change), session=session)
        }
        versions = await self._versions(change.expected_versions, session)
        links = await self._next_ids("links", len(change.links_added), session)
        events = await self._next_ids(
            "events", len(change.link_members) + len(change.events), session
        )
        # Last: the feed counter is where concurrent changes serialize (mongodb_feed), so
        # taking it late keeps the stretch they cannot share short.
        feed = await self._next_ids("feed", len(change.feed), session)
        writes: Writes = plan_change(change, stored, versions, links, events, feed, at)
        for collection, ops in writes.ops:
            for chunk in _chunks(ops):
                await self.db[collection].bulk_write(list(chunk), ordered=True, session=session)

    # -- reads ----------------------------------------------------------------------------

    async def _find(self, collection: str, query: Doc, session: Any = None, **kw: Any) -> list[Doc]:
        async with self._mapped("read"):
            return list(await self.db[collection].find(query, session=session, **kw).to_list())

    async def _find_in(
        self, collection: str, field: str, values: Iterable[Any], session: Any = None, **kw: Any
    ) -> list[Doc]:
        found: list[Doc] = []
        for chunk in _chunks(sorted(set(values))):
            found += await self._find(collection, {field: {"$in": list(chunk)}}, session, **kw)
        return found

    async def _records(self, refs: Iterable[RecordKey] | None, **kw: Any) -> list[Doc]:
        if refs is None:
            return await self._find("records", {}, **kw)
        return await self._find_in("records", "_id", (record_id(r) for r in refs), **kw)

    async def _versions(self, ids: Iterable[str], session: Any = None) -> dict[str, int]:
        docs = await self._find_in("members", "_id", ids, session, projection=["version"])
        return {d["_id"]: d["version"] for d in docs}

    async def load_records(self, refs: Iterable[RecordKey] | None) -> dict[RecordKey, RecordData]:
        return {split_id(d["_id"]): record_of(d) for d in await self._records(refs)}

    async def carriers(self, values: Iterable[ValueKey]) -> dict[ValueKey, list[RecordKey]]:
        wanted = {match_key(k.value, v): (k, v) for k, v in values}
        result: dict[ValueKey, set[RecordKey]] = defaultdict(set)
        for doc in await self._find_in("records", "match_keys", wanted, projection=["identifiers"]):
            for ident in doc["identifiers"]:
                value = wanted.get(match_key(ident["kind"], ident["key"]))
                if value is not None:
                    result[value].add(split_id(doc["_id"]))
        return {value: sorted(refs) for value, refs in result.items()}

    async def record_members(
        self, column: MemberColumn, refs: Iterable[RecordKey] | None
    ) -> dict[RecordKey, str]:
        docs = await self._records(refs, projection=[column])
        return {split_id(d["_id"]): d[column] for d in docs if d.get(column)}

    async def _touching(
        self, collection: str, live: Doc, refs: Iterable[RecordKey] | None
    ) -> list[Doc]:
        if refs is None:
            return await self._find(collection, live)
        ids = sorted({record_id(r) for r in refs})
        docs: dict[Any, Doc] = {}
        for chunk in _chunks(ids):
            for side in ("a_ref", "b_ref"):
                for doc in await self._find(collection, {**live, side: {"$in": list(chunk)}}):
                    docs[doc["_id"]] = doc
        return list(docs.values())

    async def active_links(self, refs: Iterable[RecordKey] | None) -> list[StoredLink]:
        docs = await self._touching("links", {"retracted_at": None}, refs)
        return sorted((link_of(d) for d in docs), key=lambda link: link.id)

    async def manual_links(self, refs: Iterable[RecordKey] | None) -> list[StoredLink]:
        docs = await self._touching("links", {"retracted_at": None, "rule": "manual"}, refs)
        return sorted((link_of(d) for d in docs), key=lambda link: link.id)

    async def cannot_links(
        self, refs: Iterable[RecordKey] | None
    ) -> list[tuple[RecordKey, RecordKey]]:
        docs = await self._touching("cannot_links", {"lifted_at": None}, refs)
        return sorted({(split_id(d["a_ref"]), split_id(d["b_ref"])) for d in docs})

    async def resolve_member_id(self, member_id: str) -> str | None:
        current = member_id
        async with self._mapped("read"):
            for _ in range(64):  # redirect chains are short; the bound stops a corrupt cycle
                if await self.db.members.find_one({"_id": current}, projection=["_id"]):
                    return current
                redirect = await self.db.redirects.find_one({"_id": current})
                if redirect is None:
                    return None
                current = redirect["new_id"]
        raise StoreError(f"redirect cycle at member {member_id}")

    async def _by_member(self, member_ids: Sequence[str], **kw: Any) -> dict[str, list[Doc]]:
        grouped: dict[str, list[Doc]] = defaultdict(list)
        for doc in await self._find_in("records", "member_id", member_ids, **kw):
            grouped[doc["member_id"]].append(doc)
        return grouped

    async def member_records(self, member_ids: Sequence[str]) -> list[list[RecordKey]]:
        grouped = await self._by_member(member_ids, projection=["member_id"])
        return [sorted(split_id(d["_id"]) for d in grouped.get(m, [])) for m in member_ids]

    async def member_identifiers(
        self, member_ids: Sequence[str]
    ) -> list[list[tuple[RecordKey, Identifier]]]:
        grouped = await self._by_member(member_ids, projection=["member_id", "identifiers"])
        out: list[list[tuple[RecordKey, Identifier]]] = []
        for member in member_ids:
            pairs = [
                (
                    split_id(d["_id"]),
                    Identifier(IdentifierKind(i["kind"]), i["key"], i["value"], i["via"]),
                )
                for d in grouped.get(member, [])
                for i in d["identifiers"]
            ]
            pairs.sort(key=lambda p: (p[1].kind.value, p[1].value, p[0]))
            out.append(pairs)
        return out

    async def find_members(self, kind: IdentifierKind, key: str) -> list[str]:
        docs = await self._find(
            "records",
            {"match_keys": match_key(kind.value, key)},
            projection=["member_id", "identifiers"],
        )
        # What an agent typed is evidence, not an identity: it never answers a lookup.
        owners = {
            d["member_id"]
            for d in docs
            if d.get("member_id")
            and any(
                i["kind"] == kind.value and i["key"] == key and i["via"] != "agent"
                for i in d["identifiers"]
            )
        }
        members = await self._find_in("members", "_id", owners)
        return [m["_id"] for m in sorted(members, key=lambda m: (m["created_at"], m["_id"]))]

    async def page_members(
        self, after: str | None, limit: int, source: str | None = None
    ) -> list[str]:
        async with self._mapped("read"):
            if source is None:
                cursor = (
                    self.db.members.find({"_id": {"$gt": after or ""}}, projection=["_id"])
                    .sort("_id", 1)
                    .limit(limit)
                )
                return [d["_id"] for d in await cursor.to_list()]
            cursor = await self.db.records.aggregate(
                [
                    {"$match": {"source": source, "member_id": {"$gt": after or ""}}},
                    {"$group": {"_id": "$member_id"}},
                    {"$sort": {"_id": 1}},
                    {"$limit": limit},
                ]
            )
            return [d["_id"] for d in await cursor.to_list()]

    async def count_members(self, source: str | None = None) -> int:
        async with self._mapped("read"):
            if source is None:
                return int(await self.db.members.count_documents({}))
            cursor = await self.db.records.aggregate(
                [
                    {"$match": {"source": source, "member_id": {"$ne": None}}},
                    {"$group": {"_id": "$member_id"}},
                    {"$count": "n"},
                ]
            )
            found = await cursor.to_list()
            return int(found[0]["n"]) if found else 0

    async def member_events(self, member_ids: Sequence[str]) -> list[list[IdentityEvent]]:
        grouped: dict[str, list[IdentityEvent]] = defaultdict(list)
        for doc in sorted(
            await self._find_in("events", "member_id", member_ids), key=lambda d: d["_id"]
        ):
            grouped[doc["member_id"]].append(event_of(doc))
        return [grouped.get(m, []) for m in member_ids]

    async def list_conflicts(self, limit: int, offset: int = 0) -> list[IdentityEvent]:
        async with self._mapped("read"):
            cursor = (
                self.db.events.find({"kind": "conflict"}).sort("_id", -1).skip(offset).limit(limit)
            )
            return [event_of(d) for d in await cursor.to_list()]

    async def member_versions(self, member_ids: Iterable[str]) -> dict[str, int]:
        return await self._versions(member_ids)

    async def event(self, event_id: int) -> IdentityEvent | None:
        async with self._mapped("read"):
            doc = await self.db.events.find_one({"_id": event_id})
        return event_of(doc) if doc else None

    async def taken_member_ids(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        live = await self._find_in("members", "_id", ids, projection=["_id"])
        retired = await self._find_in("redirects", "_id", ids, projection=["_id"])
        return {d["_id"] for d in live} | {d["_id"] for d in retired}

"""The production identity store: MongoDB through PyMongo's ``AsyncMongoClient``.

Selected by ``--store mongodb://...`` / ``MEMBERGRAPH_STORE``. A change is written in one
multi-document transaction (its plan: :mod:`mongodb_write`), so MongoDB must run as a
replica set (one node is enough; ``docker-compose.yml`` starts one). :meth:`MongoStore.open`
says so plainly when it finds a standalone server. A change too large for one transaction
(the first load of a large data set) goes through a journal instead, so that a failure
part-way is finished or undone by the next start (:mod:`mongodb_large`).

Reads are :mod:`mongodb_read`; the change feed is the ``feed`` collection
(:mod:`mongodb_feed`, which says why its cursors commit in order). PyMongo's errors are
mapped at this boundary, outside any transaction's callback so the driver sees its labels
(:mod:`mongodb_client`), to :class:`StoreError` naming the server's URL without its password.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pymongo
from pymongo.errors import CollectionInvalid, OperationFailure

from membergraph.identity.feed import FeedEntry
from membergraph.identity.store import mongodb_feed, mongodb_large
from membergraph.identity.store.format import (
    STORE_FORMAT,
    StoreMark,
    read_mark,
)
from membergraph.identity.store.mongodb_answers import MongoAnswers
from membergraph.identity.store.mongodb_client import (
    STANDALONE,
    MongoTimeouts,
    connect,
    database_of,
    redact,
)
from membergraph.identity.store.mongodb_docs import GUARD, INDEXES, WHOLE_STORE
from membergraph.identity.store.mongodb_metrics import MongoMetrics
from membergraph.identity.store.mongodb_read import (
    MongoReads,
    chunks,
    find_in,
    guard_versions,
    versions,
)
from membergraph.identity.store.mongodb_write import (
    Writes,
    feed_inserts,
    guard_reads,
    next_ids,
    plan_change,
    renamed_events,
    touched_ids,
    version_reads,
    writes_anything,
)
from membergraph.identity.store.port import Change, ConcurrentChange, IdentityStore, StoreError

__all__ = ["TRANSACTION_LIMIT", "MongoStore"]

logger = logging.getLogger(__name__)
TRANSACTION_LIMIT = 20_000  # documents written in one transaction, at most
_NAMESPACE_EXISTS = 48
_MARK = "mark"  # the ``meta`` document saying what made the store (``format.StoreMark``)
_SOURCES = "sources"  # the ``meta`` document: the sources' version a start resolved
T = TypeVar("T")


def change_size(change: Change) -> int:
    """How many documents a change writes, about (versions included)."""
    size = len(change.records) + len(change.assignments) + len(change.links_added)
    size += len(change.link_members) + len(change.events) + len(change.feed)
    size += 5 * len(change.renamed) + len(change.gone) + len(change.facts_moved)
    return size + len(version_reads(change))


_LEFT_BEHIND = "a large change an attempt left part-way was finished first: computed again"


class _LeftBehind(Exception):
    """A large change's journal waits with its head and no live writer (an attempt failed
    part-way: a failover the service retries; or its writer died). The change about to be
    written was computed from the store it left half-written: the journal is finished
    first, and the change computed again (``ConcurrentChange``)."""


class MongoStore(MongoReads, IdentityStore):
    """Identity store in one MongoDB database (``mongodb://host/membergraph?replicaSet=rs0``).

    ``client`` may be any object with ``AsyncMongoClient``'s interface (the tests pass an
    in-process emulation); without it one is made from ``url`` with ``timeouts``.
    """

    def __init__(
        self,
        url: str,
        database: str | None = None,
        client: Any = None,
        timeouts: MongoTimeouts | None = None,
    ) -> None:
        self.url = url
        self._client = client
        self._owned = client is None
        self.timeouts = timeouts or MongoTimeouts()
        self.database_name = database or database_of(url)

    @property
    def client(self) -> Any:
        if self._client is None:
            raise StoreError("the MongoDB store is not open")
        return self._client

    @property
    def db(self) -> Any:
        return self.client[self.database_name]

    async def open(self) -> None:
        self._client = await connect(self.url, self._client, self.timeouts)
        try:
            async with self._mapped("connect"):
                hello = await self.client.admin.command("hello")
            if not hello.get("setName") and hello.get("msg") != "isdbgrid":
                raise StoreError(f"MongoDB {redact(self.url)} {STANDALONE}")
            # A store of another format is left as it is: a start refuses it, writing
            # nothing; ``membergraph reresolve`` writes this release's schema into it.
            if await self.apart() is None:
                await self.write_schema()
        except BaseException:
            await self.aclose()
            raise

    async def write_schema(self) -> None:
        async with self._mapped("create collections and indexes"):
            await self._create_collections()
            for name, indexes in INDEXES.items():
                await self.db[name].create_indexes(indexes)
        async with self._mapped("mark a new store"):
            await self._mark_if_new()
        async with self._mapped("finish a large change left part-way"):
            if await mongodb_large.finish(self.db, self._in_transaction, lease=self.lease):
                logger.warning("finished a large change an earlier run left part-way")

    async def _create_collections(self) -> None:
        # They exist before the first transaction writes to them. Another gateway starting
        # at the same time may create one between our listing and our creating it.
        present = set(await self.db.list_collection_names())
        for name in sorted(
            {*INDEXES, "redirects", "counters", "journal", "values", "meta", "erased_members"}
            - present
        ):
            try:
                await self.db.create_collection(name)
            except CollectionInvalid:
                pass
            except OperationFailure as exc:
                if exc.code != _NAMESPACE_EXISTS:
                    raise

    async def aclose(self) -> None:
        if self._client is not None and self._owned:
            await self._client.close()
            self._client = None

    async def event_gone(self, event_id: int) -> bool | None:
        # The events counter (next_ids) has given every id up to its count, once each.
        async with self._mapped("read"):
            counter = await self.db.counters.find_one({"_id": "events"})
        given = counter is not None and event_id <= counter["n"]
        return given and await self.event(event_id) is None

    async def ping(self) -> dict[str, int]:
        """Counts from the collections' metadata (an orchestrator probes every few seconds:
        ``count_documents({})`` walks a whole collection each time); active links by their
        index. After an unclean shutdown the metadata may be off until the server's next
        validation: these are an operator's figures, no test of consistency."""
        async with self._mapped("read"):
            return {
                "records": await self.db.records.estimated_document_count(),
                "members": await self.db.members.estimated_document_count(),
                "links": await self.db.links.count_documents({"retracted_at": None}),
            }

    async def mark(self) -> StoreMark | None:
        async with self._mapped("read"):
            doc = await self.db.meta.find_one({"_id": _MARK})
        return None if doc is None else read_mark(doc.get("format"), str(doc.get("rules", "")))

    async def set_mark(self, mark: StoreMark) -> None:
        async with self._mapped("write"):
            await self.db.meta.replace_one(
                {"_id": _MARK}, {"format": mark.format, "rules": mark.rules}, upsert=True
            )
        # A whole-store resolution: answers kept from the members before are no one's now.
        await MongoAnswers(self).clear()

    async def sources_resolved(self) -> str | None:
        async with self._mapped("read"):
            doc = await self.db.meta.find_one({"_id": _SOURCES})
        return None if doc is None else str(doc["version"])

    async def set_sources_resolved(self, version: str) -> None:
        async with self._mapped("write"):
            await self.db.meta.replace_one({"_id": _SOURCES}, {"version": version}, upsert=True)

    async def holds_records(self) -> bool:
        async with self._mapped("read"):
            return await self.db.records.find_one({}, {"_id": 1}) is not None

    async def _mark_if_new(self) -> None:
        # A new store is marked with this release's format from the start (what made a
        # store holding records and no mark is unknown: format 0, ``format.verdict``).
        if await self.db.meta.find_one({"_id": _MARK}) is not None:
            return
        if await self.db.records.find_one({}, {"_id": 1}) is None:
            await self.db.meta.update_one(
                {"_id": _MARK},
                {"$setOnInsert": {"format": STORE_FORMAT, "rules": ""}},
                upsert=True,
            )

    # -- writes ---------------------------------------------------------------------------

    async def apply(self, change: Change) -> None:
        if not writes_anything(change):
            return
        at = (change.at or datetime.now(UTC)).isoformat()
        size = change_size(change)
        async with self._mapped("write"):
            if size <= TRANSACTION_LIMIT:
                try:
                    await self._in_transaction(lambda session: self._write(change, at, session))
                except _LeftBehind:
                    async with mongodb_large.locked(self.db, self.lease) as lock:
                        await mongodb_large.finish(self.db, self._in_transaction, lock)
                    raise ConcurrentChange(_LEFT_BEHIND) from None
            else:
                logger.info("writing a change of %d documents through the journal", size)
                writes = await self._plan(dataclasses.replace(change, feed=[]), at, None)
                chunks = mongodb_large.journal_chunks(writes, change.feed)
                guards = {k: v for k, v in change.expected_versions.items() if k.startswith(GUARD)}
                async with mongodb_large.locked(self.db, self.lease) as lock:
                    if await mongodb_large.finish(self.db, self._in_transaction, lock):
                        raise ConcurrentChange(_LEFT_BEHIND)
                    await mongodb_large.claim(self.db, guards)
                    await mongodb_large.write(self.db, chunks, self._in_transaction, lock)

    @property
    def lease(self) -> timedelta:
        """How long a lease (``mongodb_lease``) lasts unrenewed: a transaction's time. A
        journal's writer renews its lock at every chunk, a scoring pass before a write once
        a quarter of it has passed, each step bounded by the operation timeout: a lease
        older than that is a dead holder's."""
        return timedelta(milliseconds=self.timeouts.transaction_ms)

    async def _in_transaction(self, write: Callable[[Any], Awaitable[T]]) -> T:
        # Bounded: with_transaction retries transient errors until this deadline, then
        # gives up with a timeout (mapped to a StoreError, not retried again).
        with pymongo.timeout(self.timeouts.transaction_ms / 1000):
            async with self.client.start_session() as session:
                result: T = await session.with_transaction(write)
                return result

    async def _plan(self, change: Change, at: str, session: Any) -> Writes:
        """Read what a change's writes depend on (in ``session``'s transaction, if any) and
        plan them. PyMongo's errors pass unmapped: ``with_transaction`` reads their labels."""
        db = self.db
        stored = {
            d["_id"]: d for d in await find_in(db, "records", "_id", touched_ids(change), session)
        }
        read = await versions(db, version_reads(change), session)
        guards = None
        if session is not None:  # only a transaction is isolated: only it writes guards
            guards = await guard_versions(db, guard_reads(change), session)
        links = await next_ids(db, "links", len(change.links_added), session)
        events = await next_ids(
            db, "events", len(change.link_members) + len(change.events), session
        )
        # Last: the feed counter is where concurrent changes serialize (mongodb_feed), so
        # taking it late keeps the stretch they cannot share short.
        feed = await next_ids(db, "feed", len(change.feed), session)
        writes = plan_change(change, stored, read, links, events, feed, at, guards)
        if change.renamed:  # a steward's event follows the records it decided on (undo)
            old = [[s, k] for s, k in change.renamed]
            cursor = db.events.find({"kind": "steward", "records": {"$in": old}}, session=session)
            writes.add("events", renamed_events(await cursor.to_list(), change.renamed))
        return writes

    async def _write(self, change: Change, at: str, session: Any) -> None:
        # A WriteConflict here is retried by with_transaction: the run again checks, from
        # its new snapshot, every member version and value guard the change was computed
        # from, so a change made stale by the other writer raises ConcurrentChange then.
        if await mongodb_large.left_behind(self.db, self.lease, session):
            raise _LeftBehind
        writes = await self._plan(change, at, session)
        for collection, ops in writes.ops:
            for chunk in chunks(ops):
                operations = [op.pymongo() for op in chunk]
                await self.db[collection].bulk_write(operations, ordered=True, session=session)

    async def whole_store_versions(self) -> dict[str, int]:
        async with self._mapped("read"):
            return {**await versions(self.db, None), **await guard_versions(self.db, [WHOLE_STORE])}

    def metrics(self) -> MongoMetrics:
        return MongoMetrics(self)

    # -- the change feed ------------------------------------------------------------------

    async def append_feed(self, entries: Sequence[FeedEntry]) -> list[int]:
        if not entries:
            return []
        async with self._mapped("write"):
            return await self._in_transaction(lambda session: self._append(entries, session))

    async def _append(self, entries: Sequence[FeedEntry], session: Any) -> list[int]:
        cursors = await next_ids(self.db, "feed", len(entries), session)
        await self.db.feed.bulk_write(feed_inserts(cursors, entries), ordered=True, session=session)
        return list(cursors)

    async def feed_after(
        self, cursor: int, limit: int, member_id: str | None = None
    ) -> list[FeedEntry]:
        async with self._mapped("read"):
            return await mongodb_feed.after(self.db, cursor, limit, member_id)

    async def fed_lines(self, source: str, line_ids: Sequence[str], after: int = 0) -> set[str]:
        async with self._mapped("read"):
            return await mongodb_feed.fed(self.db, source, line_ids, after)

    async def feed_head(self) -> int:
        async with self._mapped("read"):
            return await mongodb_feed.head(self.db)

    async def redirect_chain(self, member_id: str) -> list[str]:
        async with self._mapped("read"):
            return await mongodb_feed.redirect_chain(self.db, member_id)

    async def prune_feed(self, before: datetime) -> int:
        # Not in a transaction: a prune of a long retention can outgrow one, and the marker
        # written first keeps readers right without one (mongodb_feed).
        async with self._mapped("write"):
            return await mongodb_feed.prune(self.db, before)

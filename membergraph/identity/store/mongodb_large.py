"""A change too large for one transaction, written so that a failure part-way heals.

A transaction holds its writes in the server's memory and lives 60 s by default, so a change
over :data:`~membergraph.identity.store.mongodb.TRANSACTION_LIMIT` documents (the first load
of a large data set) is written without one, through a write-ahead journal (the ``journal``
collection):

1. The plan's writes (each idempotent: :class:`~mongodb_write.Op`) are written to the
   journal in chunks, in plan order (members before the records naming them), then the head
   ``{_id: "head", chunks: N, done: -1}``. Before the head exists nothing of the change is
   applied: a failure leaves chunks that the next start deletes (the change is undone, and
   that start's resolution computes it again).
2. Each chunk is applied in order (an ordered bulk write), then ``done`` moves to it.
3. One transaction appends the change's feed entries (the journal's ``feed`` chunks) and
   deletes the head: followers hear of the change once all of it is written, and its
   entries are appended once, with cursors taken inside the transaction
   (:mod:`mongodb_feed`).
4. The chunks are deleted.

:func:`finish`, which every :meth:`MongoStore.open` runs, takes up a change where it stopped:
with a head, it applies the chunks after ``done`` (the chunk that failed part-way again:
its writes are idempotent), then steps 3 and 4; with none, it deletes stray chunks. So after
a restart a large change is either all there or was never there.

There is one journal per database, so one large change at a time: a writer first takes
the journal's lock (``{_id: "lock"}``, a :mod:`mongodb_lease` lease), renewed at every
chunk; another process's large change meanwhile fails with a transient error (the service
tries again, then a start fails saying so), never writing into the first one's journal. A
lock not renewed for the lease (the transaction time, 60 s by default) is a dead writer's
and is taken over, and a start finishes a journal with a head whoever holds it, but
never undoes the chunks of a journal whose lock is alive: its writer is still writing them.
Before its journal, the change claims (compare and set) the value guards it was computed
from, the whole store's among them (``WHOLE_STORE``), so two whole-store resolutions at once
conflict here as they do in a transaction. Any change, large or not, that finds a journal
with a head and no live writer (its own earlier attempt failed part-way: a failover the
service retries; or a dead writer's) finishes it under the lock, then has its change
computed again (``ConcurrentChange``): it was computed from a store that journal had left
half-written.

What the journal does not give: isolation. Readers see the change as it is written, and a
small change another process commits meanwhile is not ordered against it. Two starts
finishing one journal at once replay the same writes in the same order; step 3 lets one of
them close.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import bson
from pymongo import InsertOne
from pymongo.errors import DuplicateKeyError

from membergraph.identity.feed import FeedEntry
from membergraph.identity.store.mongodb_docs import Doc, feed_doc
from membergraph.identity.store.mongodb_lease import Lease
from membergraph.identity.store.mongodb_write import Op, Writes, next_ids
from membergraph.identity.store.port import ConcurrentChange, TransientStoreError

__all__ = [
    "HEAD",
    "LOCK",
    "Lock",
    "claim",
    "finish",
    "journal_chunks",
    "left_behind",
    "locked",
    "write",
]

HEAD = "head"
LOCK = "lock"
_CHUNKS = {"_id": {"$nin": [HEAD, LOCK]}}
_CHUNK_OPS = 1000
_CHUNK_BYTES = 4 << 20  # well under the 16 MiB a document may hold
T = TypeVar("T")
Transact = Callable[[Callable[[Any], Awaitable[T]]], Awaitable[T]]


def _encoded(op: Op) -> bytes:
    # BSON bytes: operators ($set, $in) are not field names a stored document may hold.
    return bson.encode({"k": op.kind, "f": op.filter, "d": op.doc, "u": op.upsert})


def _decoded(blob: bytes) -> Op:
    fields = bson.decode(blob)
    return Op(fields["k"], fields["f"], fields["d"], fields["u"])


def journal_chunks(writes: Writes, feed: Sequence[FeedEntry]) -> list[Doc]:
    """The journal's chunk documents: ``{_id: i, c: collection, ops: [BSON, ...]}``, the feed
    entries last (without cursors: those are taken when they are appended)."""
    chunks: list[Doc] = []
    entries = [{k: v for k, v in feed_doc(0, e).items() if k != "_id"} for e in feed]
    groups = [(c, list(map(_encoded, ops))) for c, ops in writes.ops]
    groups.append(("feed", list(map(bson.encode, entries))))
    for collection, blobs in groups:
        for part in _parts(blobs):
            chunks.append({"_id": len(chunks), "c": collection, "ops": part})
    return chunks


def _parts(blobs: list[bytes]) -> Iterator[list[bytes]]:
    part: list[bytes] = []
    size = 0
    for blob in blobs:
        if part and (len(part) >= _CHUNK_OPS or size + len(blob) > _CHUNK_BYTES):
            yield part
            part, size = [], 0
        part.append(blob)
        size += len(blob)
    if part:
        yield part


class Lock:
    """The journal's lock as one writer holds it (a :class:`~mongodb_lease.Lease`);
    :meth:`renew` at every step."""

    def __init__(self, db: Any, lease: timedelta) -> None:
        self.db, self._lease = db, Lease(db.journal, LOCK, lease)

    async def take(self) -> None:
        if not await self._lease.take():
            raise TransientStoreError(
                "another process is writing a change too large for one transaction (the "
                "journal's lock is held): this one is written once it is done"
            )

    async def renew(self) -> None:
        if not await self._lease.renew():  # held past its lease, and taken over
            raise TransientStoreError(
                "the journal's lock was lost (not renewed within its lease): the change is "
                "finished by the start that took it over, or by the next start"
            )

    async def release(self) -> None:
        await self._lease.release()


@contextlib.asynccontextmanager
async def locked(db: Any, lease: timedelta) -> AsyncIterator[Lock]:
    """The journal's lock, held for the block (see the module's docstring).

    Raises:
        TransientStoreError: another process holds it and is alive.
    """
    lock = Lock(db, lease)
    await lock.take()
    try:
        yield lock
    finally:
        with contextlib.suppress(Exception):  # a lock left behind is taken over once dead
            await lock.release()


async def claim(db: Any, guards: Mapping[str, int]) -> None:
    """Move each value guard on from the version the change was computed from (compare and
    set, one document at a time: no transaction here).

    Raises:
        ConcurrentChange: a guard moved since (another process wrote what it guards).
    """
    for key, version in sorted(guards.items()):
        try:
            await db["values"].update_one(
                {"_id": key, "version": version}, {"$set": {"version": version + 1}}, upsert=True
            )
        except DuplicateKeyError:  # the document exists with another version
            raise ConcurrentChange(f"changed meanwhile: {key}") from None


async def write(db: Any, chunks: Sequence[Doc], transact: Transact[Any], lock: Lock) -> None:
    """Write a large change's journal (:func:`journal_chunks`) and apply it (steps 1 to 4 of
    the module's docstring), holding ``lock``, once no journal with a head is left (the
    caller :func:`finish`-ed it, then computed its change again)."""
    await db.journal.delete_many(_CHUNKS)  # of a change that never got its head
    for chunk in chunks:
        await db.journal.insert_one(chunk)
        await lock.renew()
    await db.journal.insert_one({"_id": HEAD, "chunks": len(chunks), "done": -1})
    await finish(db, transact, lock)


async def finish(
    db: Any, transact: Transact[Any], lock: Lock | None = None, lease: timedelta | None = None
) -> bool:
    """Finish a journaled change left part-way, or undo one whose journal is incomplete and
    whose writer is gone: the caller holds ``lock``, or no lock was renewed within ``lease``
    (a start's call). Whether a change was finished."""
    head = await db.journal.find_one({"_id": HEAD})
    if head is None:
        if lock is not None or not await _held(db, lease or timedelta(0)):
            await db.journal.delete_many(_CHUNKS)
        return False
    for index in range(int(head["done"]) + 1, int(head["chunks"])):
        chunk = await db.journal.find_one({"_id": index})
        if chunk is None:  # another start finished and closed it meanwhile
            return True
        if chunk["c"] != "feed":
            operations = [_decoded(blob).pymongo() for blob in chunk["ops"]]
            await db[chunk["c"]].bulk_write(operations, ordered=True)
        await db.journal.update_one({"_id": HEAD}, {"$max": {"done": index}})
        if lock is not None:
            await lock.renew()
    found = await db.journal.find({"c": "feed"}).sort("_id", 1).to_list()
    entries = [bson.decode(blob) for chunk in found for blob in chunk["ops"]]
    await transact(lambda session: _close(db, entries, session))
    await db.journal.delete_many(_CHUNKS)
    return True


async def left_behind(db: Any, lease: timedelta, session: Any = None) -> bool:
    """Whether a journal with a head waits with no live writer: an attempt failed part-way
    (its lock released), or its writer died. Another process's large change in progress is
    not (small changes go on meanwhile, not ordered against it)."""
    head = await db.journal.find_one({"_id": HEAD}, projection=["_id"], session=session)
    return head is not None and not await _held(db, lease, session)


async def _held(db: Any, lease: timedelta, session: Any = None) -> bool:
    """Whether a live writer holds the journal's lock (renewed within ``lease``)."""
    alive = {"_id": LOCK, "at": {"$gte": datetime.now(UTC) - lease}}
    return await db.journal.find_one(alive, session=session) is not None


async def _close(db: Any, entries: list[Doc], session: Any) -> None:
    """Step 3: the feed entries and the head's deletion, in the caller's transaction."""
    if await db.journal.find_one({"_id": HEAD}, session=session) is None:
        return  # another start closed it
    cursors = await next_ids(db, "feed", len(entries), session)
    if entries:
        inserts = [InsertOne({**e, "_id": c}) for c, e in zip(cursors, entries, strict=True)]
        await db.feed.bulk_write(inserts, ordered=True, session=session)
    await db.journal.delete_one({"_id": HEAD}, session=session)

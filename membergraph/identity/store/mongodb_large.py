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

What the journal does not give: isolation. Readers see the change as it is written, and a
change written by another process meanwhile is not ordered against it. Two starts finishing
one journal at once replay the same writes in the same order; step 3 lets one of them close.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any, TypeVar

import bson
from pymongo import InsertOne

from membergraph.identity.feed import FeedEntry
from membergraph.identity.store.mongodb_docs import Doc, feed_doc
from membergraph.identity.store.mongodb_write import Op, Writes, next_ids

__all__ = ["HEAD", "finish", "journal_chunks", "write"]

HEAD = "head"
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


async def write(
    db: Any, writes: Writes, feed: Sequence[FeedEntry], transact: Transact[Any]
) -> None:
    """Write a large change through the journal (steps 1 to 4 of the module's docstring)."""
    await db.journal.delete_many({})  # chunks of a change that never got its head
    chunks = journal_chunks(writes, feed)
    for chunk in chunks:
        await db.journal.insert_one(chunk)
    await db.journal.insert_one({"_id": HEAD, "chunks": len(chunks), "done": -1})
    await finish(db, transact)


async def finish(db: Any, transact: Transact[Any]) -> bool:
    """Finish a journaled change left part-way, or undo one whose journal is incomplete;
    whether a change was finished."""
    head = await db.journal.find_one({"_id": HEAD})
    if head is None:
        await db.journal.delete_many({})
        return False
    for index in range(int(head["done"]) + 1, int(head["chunks"])):
        chunk = await db.journal.find_one({"_id": index})
        if chunk["c"] != "feed":
            operations = [_decoded(blob).pymongo() for blob in chunk["ops"]]
            await db[chunk["c"]].bulk_write(operations, ordered=True)
        await db.journal.update_one({"_id": HEAD}, {"$max": {"done": index}})
    found = await db.journal.find({"c": "feed"}).sort("_id", 1).to_list()
    entries = [bson.decode(blob) for chunk in found for blob in chunk["ops"]]
    await transact(lambda session: _close(db, entries, session))
    await db.journal.delete_many({})
    return True


async def _close(db: Any, entries: list[Doc], session: Any) -> None:
    """Step 3: the feed entries and the head's deletion, in the caller's transaction."""
    if await db.journal.find_one({"_id": HEAD}, session=session) is None:
        return  # another start closed it
    cursors = await next_ids(db, "feed", len(entries), session)
    if entries:
        inserts = [InsertOne({**e, "_id": c}) for c, e in zip(cursors, entries, strict=True)]
        await db.feed.bulk_write(inserts, ordered=True, session=session)
    await db.journal.delete_one({"_id": HEAD}, session=session)

"""The MongoDB store's change feed: reading a tail, the newest cursor, which lines have an
entry, pruning by age.

The ``feed`` collection holds one document per entry (:func:`mongodb_write.feed_doc`). Its
``_id`` is the cursor, taken from the ``feed`` document of ``counters``; ``member_ids`` is
indexed (multikey) together with ``_id``, so a member's tail is one index range in cursor
order. A change's entries are written in its plan (:func:`mongodb_write.plan_change`), fact
entries by :meth:`MongoStore.append_feed`, each in a transaction of its own.

Known limit, and what guards against it: a counter hands out a cursor before its entry
commits. With concurrent writers on a replica set, cursor 7 could commit before 6; a tail
that read 7 would move past 6 and never read it. That does not happen here because every
cursor is taken *inside* the transaction that inserts its entry, and the writers serialize
on the counter document: a transaction that has incremented it holds that write until it
ends, and another transaction writing the same document meanwhile fails at once with a
WriteConflict (transactions fail on conflict, they do not wait). ``with_transaction`` runs
the loser again from a new snapshot, and an increment from a snapshot taken before the
holder committed conflicts again, so the loser's increment succeeds only once the holder's
commit is in its snapshot. Whoever takes 7 therefore took it after the transaction holding
6 was over (committed, or aborted and 6 never used): 6 is visible before 7 exists. The
follower does not re-read a window behind its position; it has no need to. The price:
changes that write the feed commit one at a time (from their counter increment, taken last,
to their commit), as changes with events already did on the ``events`` counter.

Where that argument stops:

- A change too large for one transaction (written through its journal, :mod:`mongodb_large`)
  appends its entries once all of it is written, in a transaction of their own with the
  journal's head: they keep the order, and are appended once, but the change is not
  isolated from readers while it is written.
- The tail reads with the client's read concern, ``local`` by default: a failover can roll
  back an entry a follower already read, before a majority had it, and its cursor is then
  handed out again. ``readConcernLevel=majority`` in the store's URL closes that, for some
  lag.
- The in-process emulation the tests use (mongomock) has no isolation at all.

Pruning writes the pruned-through marker (the ``feed_pruned_through`` document of
``counters``) before it deletes, and a read checks the marker after it has read its entries:
a read that raced a prune raises :class:`FeedExpired` rather than return a tail with a hole.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from membergraph.identity.feed import FeedEntry, FeedExpired
from membergraph.identity.store.mongodb_docs import Doc, feed_entry_of, feed_time
from membergraph.identity.store.types import StoreError

__all__ = ["PRUNED", "after", "fed", "head", "prune", "redirect_chain"]

PRUNED = "feed_pruned_through"  # the counters document naming the last cursor pruned
_CHUNK = 1000


async def _pruned_through(db: Any) -> int:
    marker = await db.counters.find_one({"_id": PRUNED})
    return int(marker["n"]) if marker else 0


async def after(db: Any, cursor: int, limit: int, member_id: str | None) -> list[FeedEntry]:
    query: Doc = {"_id": {"$gt": cursor}}
    if member_id is not None:
        query["member_ids"] = member_id
    docs = await db.feed.find(query).sort("_id", 1).limit(limit).to_list()
    # After the entries, not before (see the module's docstring): the marker only grows and
    # is written before the entries it names are deleted.
    pruned = await _pruned_through(db)
    if cursor < pruned:
        raise FeedExpired(
            f"cursor {cursor} is older than the feed keeps (entries up to {pruned} pruned)"
        )
    return [feed_entry_of(d) for d in docs]


async def fed(db: Any, source: str, line_ids: Sequence[str], after: int = 0) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(line_ids), _CHUNK):
        chunk = list(line_ids[start : start + _CHUNK])
        query = {"source": source, "line_id": {"$in": chunk}, "_id": {"$gt": after}}
        found.update(d["line_id"] for d in await db.feed.find(query, ["line_id"]).to_list())
    return found


async def redirect_chain(db: Any, member_id: str) -> list[str]:
    """``member_id`` through each redirect to the live member (the port's doc)."""
    chain = [member_id]
    for _ in range(64):  # redirect chains are short; the bound stops a corrupt cycle
        if await db.members.find_one({"_id": chain[-1]}, projection=["_id"]):
            return chain
        redirect = await db.redirects.find_one({"_id": chain[-1]})
        if redirect is None:
            return []
        chain.append(redirect["new_id"])
    raise StoreError(f"redirect cycle at member {member_id}")


async def head(db: Any) -> int:
    newest = await db.feed.find({}, projection=["_id"]).sort("_id", -1).limit(1).to_list()
    if newest:
        return int(newest[0]["_id"])
    # An empty feed after pruning everything: the marker still knows the last cursor.
    return await _pruned_through(db)


async def prune(db: Any, before: datetime) -> int:
    found = await (
        await db.feed.aggregate(
            [
                {"$match": {"at": {"$lt": feed_time(before)}}},
                {"$group": {"_id": None, "last": {"$max": "$_id"}}},
            ]
        )
    ).to_list()
    if not found or found[0]["last"] is None:
        return 0
    last = int(found[0]["last"])
    await db.counters.update_one({"_id": PRUNED}, {"$max": {"n": last}}, upsert=True)
    gone = await db.feed.delete_many({"_id": {"$lte": last}})
    return int(gone.deleted_count)

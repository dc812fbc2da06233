"""The MongoDB store's kept answers (:mod:`.answers`): the ``answers`` collection, one
document per answer (``_id`` its key; ``members`` the members it read, multikey)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from membergraph.identity.store.answers import (
    KEPT_PAST_S,
    AnswersStore,
    AnswerToKeep,
    Kept,
    StoredAnswer,
    by_cursor,
)
from membergraph.identity.value_tags import TAG_PREFIX

if TYPE_CHECKING:
    from membergraph.identity.store.mongodb import MongoStore

__all__ = ["MongoAnswers", "drop_in"]

_BOOKKEEPING = 120  # bytes a document takes beside its body, about
# The answers held and their bytes, a running total in ``meta`` that each write adds its
# own change to (a count of the collection after each write read every document). A store
# whose answers were kept before it is counted at its first write.
_FIGURES = {"_id": "answers"}


class MongoAnswers(AnswersStore):
    """Kept answers in the store's database. A write is checked against the feed after it
    is made (no transaction): a change appended before the check is seen by it and the
    answer dropped; one appended after it drops the answer by its writer's follower, which
    reads it before the change is acknowledged."""

    def __init__(self, store: MongoStore) -> None:
        self.store = store

    @property
    def _answers(self) -> Any:
        return self.store.db.answers

    async def _changed_since(self, tags: Sequence[str], since: int) -> bool:
        # An answer's tags are members and value tags (identity/value_tags.py): an entry
        # names the first in ``member_ids``, the second in ``value_tags``.
        values = [t for t in tags if t.startswith(TAG_PREFIX)]
        members = [t for t in tags if not t.startswith(TAG_PREFIX)]
        named: list[dict[str, Any]] = [{"member_ids": {"$in": members}}]
        if values:
            named.append({"value_tags": {"$in": values}})
        query = {"$or": named, "_id": {"$gt": since}}
        return await self.store.db.feed.find_one(query, projection=["_id"]) is not None

    async def read(self, key: bytes, now: float) -> StoredAnswer | None:
        async with self.store._mapped("read"):
            doc = await self._answers.find_one({"_id": key, "expires": {"$gt": now}})
            if doc is None or await self._changed_since(doc["members"], doc["since"]):
                return None
        return StoredAnswer(bytes(doc["body"]), tuple(doc["members"]), float(doc["expires"]))

    async def keep(
        self, answers: Sequence[AnswerToKeep], max_entries: int, max_bytes: int, now: float
    ) -> Kept:
        kept = stale = evicted = added = grown = 0
        async with self.store._mapped("write"):
            for answer in answers:
                if not answer.members:
                    stale += 1
                    continue
                size = len(answer.body) + len(answer.key) + _BOOKKEEPING
                doc = {
                    "body": answer.body,
                    "members": list(answer.members),
                    "since": answer.since,
                    "expires": answer.expires,
                    "size": size,
                    "at": now,
                }
                old = await self._answers.find_one_and_update(
                    {"_id": answer.key}, {"$set": doc}, upsert=True, projection=["size"]
                )
                added, grown = added + (old is None), grown + size - (old or {"size": 0})["size"]
                if await self._changed_since(answer.members, answer.since):
                    gone = await self._answers.delete_one(
                        {"_id": answer.key, "since": answer.since}
                    )
                    added, grown = added - gone.deleted_count, grown - size * gone.deleted_count
                    stale += 1
                    continue
                kept += 1
            # The batch's change at once (a total made meanwhile by others included).
            entries, total = await _add(self.store.db, added, grown)
            # Those past their moment (each lives until its figures move: not in write order),
            # left a while for the re-maker to read.
            past = now - KEPT_PAST_S
            found = self._answers.find({"expires": {"$lte": past}}, projection=["size"])
            dead = await found.limit(256).to_list()
            if dead:
                gone = await self._answers.delete_many({"_id": {"$in": [d["_id"] for d in dead]}})
                sizes = sum(int(d["size"]) for d in dead)
                entries, total = await _taken(self.store.db, gone.deleted_count, len(dead), sizes)
                evicted += len(dead)
            while entries:
                found = self._answers.find({}, projection=["size", "expires"])
                oldest = await found.sort("at", 1).limit(256).to_list()
                out, sizes = [], 0
                for doc in oldest:
                    if entries <= max_entries and total <= max_bytes and doc["expires"] > past:
                        break
                    size = int(doc["size"])
                    out.append(doc["_id"])
                    entries, total, sizes = entries - 1, total - size, sizes + size
                if not out:
                    break
                gone = await self._answers.delete_many({"_id": {"$in": out}})
                entries, total = await _taken(self.store.db, gone.deleted_count, len(out), sizes)
                evicted += len(out)
        return Kept(kept, stale, evicted, entries, total)

    async def drop(
        self, members: Sequence[str], before: int | Mapping[str, int] | None = None
    ) -> int:
        async with self.store._mapped("write"):
            return await drop_in(self.store.db, members, before=before)

    async def clear(self) -> None:
        async with self.store._mapped("write"):
            await self._answers.delete_many({})
            await _recount(self.store.db)

    async def figures(self) -> tuple[int, int]:
        async with self.store._mapped("read"):
            doc = await self.store.db.meta.find_one(_FIGURES)
            if doc is not None:
                return int(doc["entries"]), int(doc["bytes"])
            return await _count(self.store.db)

    async def expiring(
        self, after: float, until: float, limit: int, skip: int = 0
    ) -> list[tuple[float, tuple[str, ...]]]:
        async with self.store._mapped("read"):
            found = self._answers.find(
                {"expires": {"$gt": after, "$lte": until}}, projection=["expires", "members"]
            )
            ordered = found.sort([("expires", 1), ("_id", 1)])
            docs = await ordered.skip(skip).limit(limit).to_list()
        return [(float(d["expires"]), tuple(d["members"])) for d in docs]

    async def lead(self, owner: str, now: float, seconds: float) -> bool:
        lease = {"_id": "remake", "$or": [{"owner": owner}, {"until": {"$lte": now}}]}
        async with self.store._mapped("write"):
            try:
                await self.store.db.answer_lease.find_one_and_update(
                    lease, {"$set": {"owner": owner, "until": now + seconds}}, upsert=True
                )
            except DuplicateKeyError:  # another live holder's: the insert collided with it
                return False
        return True


async def _count(db: Any, session: Any = None) -> tuple[int, int]:
    """The answers held and their bytes, counted (every document read)."""
    cursor = await db.answers.aggregate(
        [{"$group": {"_id": None, "n": {"$sum": 1}, "bytes": {"$sum": "$size"}}}],
        session=session,
    )
    rows = await cursor.to_list()
    return (int(rows[0]["n"]), int(rows[0]["bytes"])) if rows else (0, 0)


async def _recount(db: Any, session: Any = None) -> tuple[int, int]:
    """Count the answers and make that the running total."""
    entries, total = await _count(db, session)
    await db.meta.replace_one(
        _FIGURES, {"entries": entries, "bytes": total}, upsert=True, session=session
    )
    return entries, total


async def _add(db: Any, entries: int, size: int, session: Any = None) -> tuple[int, int]:
    """Add one write's change to the running total (counted first if there is none); the
    total then."""
    doc = await db.meta.find_one_and_update(
        _FIGURES,
        {"$inc": {"entries": entries, "bytes": size}},
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    if doc is None:  # (a store whose answers were kept before it: this write counted too)
        return await _recount(db, session)
    return int(doc["entries"]), int(doc["bytes"])


async def _taken(
    db: Any, deleted: int, meant: int, size: int, session: Any = None
) -> tuple[int, int]:
    """The running total after deleting ``meant`` answers of ``size`` bytes, of which
    ``deleted`` were there: counted again when another process deleted some first (which
    of them, and their bytes, only a count tells)."""
    if deleted == meant:
        return await _add(db, -deleted, -size, session)
    return await _recount(db, session)


async def drop_in(
    db: Any,
    members: Sequence[str],
    session: Any = None,
    before: int | Mapping[str, int] | None = None,
) -> int:
    """Drop every answer that read one of ``members`` (in ``session``'s transaction: an
    erasure's; ``before``: only those whose reads began before that feed cursor, or each
    member's own); how many."""
    each: list[dict[str, Any]] = [
        {"members": {"$in": some}, **({} if at is None else {"since": {"$lt": at}})}
        for at, some in by_cursor(members, before)
    ]
    query: dict[str, Any] = each[0] if len(each) == 1 else {"$or": each}
    found = db.answers.find(query, ["size"], session=session)
    docs = await found.to_list()
    if not docs:
        return 0
    ids = [d["_id"] for d in docs]
    # (the look-up's conditions again: one kept again under a key meanwhile is not taken)
    gone = await db.answers.delete_many({**query, "_id": {"$in": ids}}, session=session)
    await _taken(db, gone.deleted_count, len(ids), sum(int(d["size"]) for d in docs), session)
    return int(gone.deleted_count)

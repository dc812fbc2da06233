"""The MongoDB store's kept answers (:mod:`.answers`): the ``answers`` collection, one
document per answer (``_id`` its key; ``members`` the members it read, multikey)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from membergraph.identity.store.answers import AnswersStore, AnswerToKeep, Kept, StoredAnswer
from membergraph.identity.value_tags import TAG_PREFIX

if TYPE_CHECKING:
    from membergraph.identity.store.mongodb import MongoStore

__all__ = ["MongoAnswers", "drop_in"]

_BOOKKEEPING = 120  # bytes a document takes beside its body, about


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
        return StoredAnswer(bytes(doc["body"]), tuple(doc["members"]))

    async def keep(
        self, answers: Sequence[AnswerToKeep], max_entries: int, max_bytes: int, now: float
    ) -> Kept:
        kept = stale = evicted = 0
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
                await self._answers.replace_one({"_id": answer.key}, doc, upsert=True)
                if await self._changed_since(answer.members, answer.since):
                    await self._answers.delete_one({"_id": answer.key, "since": answer.since})
                    stale += 1
                    continue
                kept += 1
            entries, total = await self._figures()
            while entries:
                found = self._answers.find({}, projection=["size", "expires"])
                oldest = await found.sort("at", 1).limit(256).to_list()
                out = []
                for doc in oldest:
                    if entries <= max_entries and total <= max_bytes and doc["expires"] > now:
                        break
                    out.append(doc["_id"])
                    entries, total = entries - 1, total - int(doc["size"])
                if not out:
                    break
                await self._answers.delete_many({"_id": {"$in": out}})
                evicted += len(out)
        return Kept(kept, stale, evicted, entries, total)

    async def drop(self, members: Sequence[str]) -> int:
        async with self.store._mapped("write"):
            return await drop_in(self.store.db, members)

    async def clear(self) -> None:
        async with self.store._mapped("write"):
            await self._answers.delete_many({})

    async def figures(self) -> tuple[int, int]:
        async with self.store._mapped("read"):
            return await self._figures()

    async def _figures(self) -> tuple[int, int]:
        cursor = await self._answers.aggregate(
            [{"$group": {"_id": None, "n": {"$sum": 1}, "bytes": {"$sum": "$size"}}}]
        )
        rows = await cursor.to_list()
        return (int(rows[0]["n"]), int(rows[0]["bytes"])) if rows else (0, 0)


async def drop_in(db: Any, members: Sequence[str], session: Any = None) -> int:
    """Drop every answer that read one of ``members`` (in ``session``'s transaction: an
    erasure's); how many."""
    gone = await db.answers.delete_many({"members": {"$in": list(members)}}, session=session)
    return int(gone.deleted_count)

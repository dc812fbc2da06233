"""The privacy store on MongoDB, in the identity store's database.

Collections ``consent_facts``, ``suppressions`` (``_id``: the keyed hash), ``privacy_requests``
and ``pii_access`` (append-only: the adapter only inserts, and deletes by age). An erasure
(:mod:`.mongodb_erase`) deletes the person's records and what names her in one
multi-document transaction. What MongoDB keeps of deleted documents
in its files (WiredTiger reuses the space; the oplog keeps the operations for its window) is
beyond a client's reach: the README says so.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.errors import DuplicateKeyError, PyMongoError

from membergraph.identity.records import RecordKey
from membergraph.identity.store.mongodb import MongoStore
from membergraph.identity.store.mongodb_client import store_error
from membergraph.identity.store.port import IdentityStore, StoreError
from membergraph.identity.store.tombstones import bury_mongo, mongo_key
from membergraph.insights.consent import Channel, ConsentFact
from membergraph.privacy.mongodb_erase import erase, record_id
from membergraph.privacy.port import (
    EARLIER_ERASURES,
    AccessEntry,
    Erasure,
    PrivacyRequest,
    PrivacyStore,
    Suppression,
    erased_by,
)
from membergraph.write_budget import write_begins

__all__ = ["MongoPrivacyStore"]

_SECRET = {"_id": "privacy_secret"}  # in ``counters``: the store's own key, in hex

INDEXES = {
    "consent_facts": [IndexModel([("record", ASCENDING)])],
    "suppressions": [IndexModel([("kind", ASCENDING)])],  # (is any erased line kept?)
    "privacy_requests": [
        IndexModel([("member_id", ASCENDING)]),
        IndexModel([("created_at", DESCENDING)]),
    ],
    "pii_access": [
        IndexModel([("member_id", ASCENDING), ("_id", DESCENDING)]),
        IndexModel([("at", ASCENDING)]),
    ],
}


def _fact_doc(f: ConsentFact) -> dict[str, Any]:
    at = f.at.isoformat() if f.at is not None else ""
    key = [f.source, f.record, f.channel.value, f.line, at, int(f.granted)]
    return {
        "_id": orjson.dumps(key).decode(),
        "record": f"{f.source}/{f.record}",
        "source": f.source,
        "rkey": f.record,
        "channel": f.channel.value,
        "line": f.line,
        "at": at,
        "granted": f.granted,
    }


class MongoPrivacyStore(PrivacyStore):
    """Privacy collections beside the identity store's."""

    def __init__(self, store: IdentityStore) -> None:
        if not isinstance(store, MongoStore):
            raise StoreError(f"no privacy store for {type(store).__name__}")
        self.store = store

    @property
    def db(self) -> Any:
        return self.store.db

    async def _guarded(self, what: str, work: Any) -> Any:
        # Mapped as the identity store maps them (transient ones retryable, the server named
        # without its password), outside the erasure's transaction callback, whose errors
        # with_transaction must see with their labels.
        if what != "read":  # sent, it is not called back: its request's budget stops
            write_begins()
        try:
            return await work
        except PyMongoError as exc:
            raise store_error(self.store.url, f"privacy store {what}", exc) from exc

    async def open(self) -> None:
        async def create() -> None:
            for name, indexes in INDEXES.items():
                await self.db[name].create_indexes(indexes)

        await self._guarded("open", create())
        await self._guarded("open", self._bury_earlier(datetime.now(UTC)))

    async def _bury_earlier(self, at: datetime) -> None:
        """Tombstone the member IDs of the erasures done before erasures kept tombstones (a
        store an earlier release wrote), read from their requests; once per store."""
        db = self.db
        if await db.meta.find_one({"_id": EARLIER_ERASURES}) is not None:
            return
        ids: list[str] = []
        async for d in db.privacy_requests.find({"kind": "erase"}):
            ids += erased_by(d["kind"], d["steps"], d["member_id"], d.get("erased_ids", []))
        if ids:
            secret = await mongo_key(db, make=True)
            assert secret is not None  # (made just above)
            await bury_mongo(db, secret, ids, at, None)
        await db.meta.update_one(
            {"_id": EARLIER_ERASURES}, {"$setOnInsert": {"at": at.isoformat()}}, upsert=True
        )

    async def kept_secret(self) -> bytes:
        made = {"$setOnInsert": {"value": secrets.token_hex(32)}}
        await self._guarded("write", self.db.counters.update_one(_SECRET, made, upsert=True))
        found = await self.own_secret()
        assert found is not None  # (made just above)
        return found

    async def own_secret(self) -> bytes | None:
        doc = await self._guarded("read", self.db.counters.find_one(_SECRET))
        return None if doc is None else bytes.fromhex(str(doc["value"]))

    async def record_consents(self, facts: Sequence[ConsentFact]) -> None:
        from pymongo import ReplaceOne

        docs = {d["_id"]: d for d in map(_fact_doc, facts)}
        if docs:
            ops = [ReplaceOne({"_id": k}, d, upsert=True) for k, d in docs.items()]
            await self._guarded("write", self.db.consent_facts.bulk_write(ops, ordered=False))

    async def consent_facts(self, refs: Sequence[RecordKey]) -> list[list[ConsentFact]]:
        wanted = [record_id(r) for r in refs]
        cursor = self.db.consent_facts.find({"record": {"$in": wanted}})
        docs = await self._guarded("read", cursor.to_list())
        found: dict[str, list[ConsentFact]] = {}
        for d in docs:
            at = datetime.fromisoformat(d["at"]) if d["at"] else None
            fact = ConsentFact(
                Channel(d["channel"]), bool(d["granted"]), at, d["source"], d["rkey"], d["line"]
            )
            found.setdefault(d["record"], []).append(fact)
        return [found.get(w, []) for w in wanted]

    async def suppress(self, entries: Sequence[Suppression]) -> int:
        added = 0
        for s in entries:
            result = await self._guarded(
                "write",
                self.db.suppressions.update_one(
                    {"_id": s.digest},
                    {
                        "$setOnInsert": {
                            "kind": s.kind,
                            "actor": s.actor,
                            "at": s.at.isoformat(),
                            "reason": s.reason,
                            "key": s.key,
                        }
                    },
                    upsert=True,
                ),
            )
            added += 1 if result.upserted_id is not None else 0
        return added

    async def unsuppress(self, digest: str) -> bool:
        result = await self._guarded("write", self.db.suppressions.delete_one({"_id": digest}))
        return bool(result.deleted_count)

    async def suppression_keys(self) -> dict[str | None, int]:
        by_key = [{"$group": {"_id": "$key", "n": {"$sum": 1}}}]
        cursor = await self._guarded("read", self.db.suppressions.aggregate(by_key))
        return {d["_id"]: int(d["n"]) for d in await self._guarded("read", cursor.to_list())}

    async def any_suppressed(self, kind: str | None = None) -> bool:
        which = {"kind": kind} if kind else {}
        return await self._guarded("read", self.db.suppressions.find_one(which)) is not None

    async def suppressed(self, digests: Iterable[str]) -> set[str]:
        wanted = sorted(set(digests))
        if not wanted:
            return set()
        cursor = self.db.suppressions.find({"_id": {"$in": wanted}}, {"_id": 1})
        return {d["_id"] for d in await self._guarded("read", cursor.to_list())}

    async def lease(self, key: str, holder: str, until: datetime, now: datetime) -> bool:
        free = {"_id": key, "$or": [{"until": {"$lt": now.isoformat()}}, {"holder": holder}]}
        take = {"$set": {"holder": holder, "until": until.isoformat()}}
        try:
            # Held by another: the filter matches nothing, and the upsert meets the key.
            await self._guarded("lease", self.db.privacy_leases.update_one(free, take, upsert=True))
        except StoreError as exc:
            if isinstance(exc.__cause__, DuplicateKeyError):
                return False
            raise
        return True

    async def release(self, key: str, holder: str) -> None:
        await self._guarded(
            "release", self.db.privacy_leases.delete_one({"_id": key, "holder": holder})
        )

    async def lease_holder(self, key: str) -> str | None:
        doc = await self._guarded("read", self.db.privacy_leases.find_one({"_id": key}))
        return None if doc is None else str(doc["holder"])

    async def save_request(self, request: PrivacyRequest) -> None:
        doc = {
            "_id": request.id,
            "kind": request.kind,
            "member_id": request.member_id,
            "reason": request.reason,
            "actor": request.actor,
            "created_at": request.created_at.isoformat(),
            "updated_at": request.updated_at.isoformat(),
            "state": request.state,
            "steps": request.steps,
            "counts": request.counts,
            "forwarded": request.forwarded,
            "sources": request.sources,
            "resolve_again": [list(ref) for ref in request.resolve_again],
            "erased_ids": request.erased_ids,
            "only": [list(ref) for ref in request.only],
        }
        await self._guarded(
            "write", self.db.privacy_requests.replace_one({"_id": request.id}, doc, upsert=True)
        )

    async def request_states(self) -> dict[str, int]:
        grouped = [{"$group": {"_id": "$state", "n": {"$sum": 1}}}]
        cursor = await self._guarded("read", self.db.privacy_requests.aggregate(grouped))
        return {str(d["_id"]): int(d["n"]) for d in await cursor.to_list()}

    async def requests(
        self, limit: int, offset: int = 0, member_id: str | None = None
    ) -> list[PrivacyRequest]:
        query = {"member_id": member_id} if member_id else {}
        cursor = (
            self.db.privacy_requests.find(query)
            .sort([("created_at", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [
            PrivacyRequest(
                id=d["_id"],
                kind=d["kind"],
                member_id=d["member_id"],
                reason=d["reason"],
                actor=d["actor"],
                created_at=datetime.fromisoformat(d["created_at"]),
                updated_at=datetime.fromisoformat(d["updated_at"]),
                state=d["state"],
                steps=dict(d["steps"]),
                counts=dict(d["counts"]),
                forwarded=list(d.get("forwarded", [])),
                sources=dict(d.get("sources", {})),
                resolve_again=[(s, k) for s, k in d.get("resolve_again", [])],
                erased_ids=list(d.get("erased_ids", [])),
                only=[(s, k) for s, k in d.get("only", [])],
            )
            for d in await self._guarded("read", cursor.to_list())
        ]

    async def _next_ids(self, name: str, n: int) -> list[int]:
        from pymongo import ReturnDocument

        doc = await self.db.counters.find_one_and_update(
            {"_id": name}, {"$inc": {"n": n}}, upsert=True, return_document=ReturnDocument.AFTER
        )
        last = int(doc["n"])
        return list(range(last - n + 1, last + 1))

    async def record_access(self, entries: Sequence[AccessEntry]) -> None:
        if not entries:
            return
        ids = await self._guarded("write", self._next_ids("pii_access", len(entries)))
        docs = [
            {
                "_id": i,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "member_id": e.member_id,
                "fields": list(e.fields),
                "request_id": e.request_id,
            }
            for i, e in zip(ids, entries, strict=True)
        ]
        await self._guarded("write", self.db.pii_access.insert_many(docs))

    async def access_log(self, member_id: str, limit: int) -> list[AccessEntry]:
        cursor = self.db.pii_access.find({"member_id": member_id}).sort("_id", DESCENDING)
        docs = await self._guarded("read", cursor.limit(limit).to_list())
        return [
            AccessEntry(
                id=d["_id"],
                at=datetime.fromisoformat(d["at"]),
                actor=d["actor"],
                member_id=d["member_id"],
                fields=tuple(d["fields"]),
                request_id=d["request_id"],
            )
            for d in docs
        ]

    async def prune_access(self, before: datetime) -> int:
        result = await self._guarded(
            "write", self.db.pii_access.delete_many({"at": {"$lt": before.isoformat()}})
        )
        return int(result.deleted_count)

    async def erase_identity(self, erasure: Erasure, at: datetime) -> dict[str, int]:
        return dict(await self._guarded("erase", erase(self.store, erasure, at)))

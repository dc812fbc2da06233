"""The MongoDB store's reads: the port's read methods (:class:`MongoReads`, which
:class:`~membergraph.identity.store.mongodb.MongoStore` is), over the documents
:mod:`.mongodb_docs` reads back into the domain.

Reads run outside transactions with the client's read concern; each maps PyMongo's errors
at this boundary (:func:`~membergraph.identity.store.mongodb_client.mapped`).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import datetime
from typing import TYPE_CHECKING, Any

from membergraph.identity.closure import Closure, Walk, run_walk_async
from membergraph.identity.engine import ValueKey
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordData, RecordKey
from membergraph.identity.store.mongodb_client import mapped
from membergraph.identity.store.mongodb_docs import (
    Doc,
    event_of,
    guard_key,
    link_of,
    lookup_ranks,
    match_key,
    parts_of,
    record_id,
    record_of,
    split_id,
)
from membergraph.identity.store.port import (
    ClosureStep,
    IdentityEvent,
    MemberColumn,
    MemberParts,
    ScopeState,
    StoredLink,
    StoreError,
)
from membergraph.identity.store.tombstones import buried_mongo, mongo_key
from membergraph.trace_spans import caller_operation, mapped_span
from membergraph.write_budget import write_begins

__all__ = ["MongoReads", "chunks", "find_in", "guard_versions", "versions"]

CHUNK = 1000  # values in one $in
_CAPPED_AT_ONCE = 32  # capped carrier queries in flight at once (the client pools connections)


def chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


async def find_in(
    db: Any, collection: str, field: str, values: Iterable[Any], session: Any = None, **kw: Any
) -> list[Doc]:
    """The documents whose ``field`` is one of ``values``, PyMongo's errors unmapped (what a
    transaction's callback reads with)."""
    found: list[Doc] = []
    for chunk in chunks(sorted(set(values))):
        query = {field: {"$in": list(chunk)}}
        found += await db[collection].find(query, session=session, **kw).to_list()
    return found


async def versions(
    db: Any, member_ids: Iterable[str] | None, session: Any = None
) -> dict[str, int]:
    """Each live member's version (None: every member's), PyMongo's errors unmapped."""
    if member_ids is None:
        docs = await db.members.find({}, {"version": 1}, session=session).to_list()
    else:
        docs = await find_in(db, "members", "_id", member_ids, session, projection=["version"])
    return {d["_id"]: d["version"] for d in docs}


async def guard_versions(db: Any, keys: Iterable[str], session: Any = None) -> dict[str, int]:
    """Each value guard's version (0: never written), PyMongo's errors unmapped."""
    keys = set(keys)
    docs = await find_in(db, "values", "_id", keys, session, projection=["version"])
    found = {d["_id"]: d["version"] for d in docs}
    return {key: found.get(key, 0) for key in keys}


class MongoReads:
    """The read methods of the identity store port, over ``self.db``."""

    url: str
    tracer: Any = None
    """An OpenTelemetry tracer while traces are on: a span per round trip, named after the
    port's operation that made it."""
    _tombstone_key: bytes | None = None
    """The erased IDs' tombstones' key once read (:mod:`.tombstones`: made once, never
    changed), so a new member's ID costs no read of it again."""

    @property
    def db(self) -> Any:
        raise NotImplementedError

    def _mapped(self, what: str) -> contextlib.AbstractAsyncContextManager[None]:
        # Every round trip passes here: the one place a span is begun (traces on only).
        if what == "write":  # sent, it is not called back: its request's budget stops
            write_begins()
        if self.tracer is None:
            return mapped(self.url, what)
        name = "store." + caller_operation()
        return mapped_span(mapped(self.url, what), self.tracer, name, "mongodb")

    if TYPE_CHECKING:  # the port's (IdentityStore), which MongoStore also is

        async def closure_step(
            self,
            values: Iterable[ValueKey],
            frontier: Sequence[RecordKey],
            seen_members: set[str],
            known: Set[RecordKey],
            limit: int,
            peek: Sequence[ValueKey] = (),
            crowded: Mapping[ValueKey, Set[RecordKey]] | None = None,
        ) -> ClosureStep: ...

        async def scope_state(self, refs: Iterable[RecordKey] | None) -> ScopeState: ...

    async def _find(self, collection: str, query: Doc, **kw: Any) -> list[Doc]:
        async with self._mapped("read"):
            return list(await self.db[collection].find(query, **kw).to_list())

    async def _find_in(
        self, collection: str, field: str, values: Iterable[Any], **kw: Any
    ) -> list[Doc]:
        async with self._mapped("read"):
            return await find_in(self.db, collection, field, values, **kw)

    async def closure_state(self, walk: Walk) -> tuple[Closure, ScopeState]:
        """The port's walk, noting the version of each value's guard before reading who
        carries it: the state's versions then name those guards too (``value:...``), so a
        change computed from it conflicts with one that gave such a value a new carrier."""
        guards: dict[str, int] = {}

        async def step(values: Iterable[ValueKey], *rest: Any) -> ClosureStep:
            values = list(values)
            # (What the walk peeks at, the last argument, decides where it stops: guarded too.)
            peek = list(rest[-1]) if len(rest) > 4 else []
            keys = [guard_key(kind.value, key) for kind, key in [*values, *peek]]
            async with self._mapped("read"):
                for key, version in (await guard_versions(self.db, keys)).items():
                    guards.setdefault(key, version)
            return await self.closure_step(values, *rest)

        closure = await run_walk_async(walk, step)
        state = await self.scope_state(closure[0])
        state.versions.update(guards)
        return closure, state

    async def _records(self, refs: Iterable[RecordKey] | None, **kw: Any) -> list[Doc]:
        if refs is None:
            return await self._find("records", {}, **kw)
        return await self._find_in("records", "_id", (record_id(r) for r in refs), **kw)

    async def load_records(self, refs: Iterable[RecordKey] | None) -> dict[RecordKey, RecordData]:
        return {split_id(d["_id"]): record_of(d) for d in await self._records(refs)}

    async def carriers(
        self, values: Iterable[ValueKey], cap: int | None = None
    ) -> dict[ValueKey, list[RecordKey]]:
        wanted = {match_key(k.value, v): (k, v) for k, v in values}
        if cap is not None:
            return await self._capped_carriers(wanted, cap)
        result: dict[ValueKey, set[RecordKey]] = defaultdict(set)
        for doc in await self._find_in("records", "match_keys", wanted, projection=["identifiers"]):
            for ident in doc["identifiers"]:
                value = wanted.get(match_key(ident["kind"], ident["key"]))
                if value is not None:
                    result[value].add(split_id(doc["_id"]))
        return {value: sorted(refs) for value, refs in result.items()}

    async def crm_carriers(self, values: Iterable[ValueKey]) -> dict[ValueKey, list[RecordKey]]:
        wanted = {match_key(k.value, v): (k, v) for k, v in values}
        result: dict[ValueKey, set[RecordKey]] = defaultdict(set)
        if wanted:
            # (By the match_keys index; the server leaves out every carrier but the contacts.)
            query = {"match_keys": {"$in": sorted(wanted)}, "source": "crm"}
            for doc in await self._find("records", query, projection=["identifiers"]):
                for ident in doc["identifiers"]:
                    value = wanted.get(match_key(ident["kind"], ident["key"]))
                    if value is not None:
                        result[value].add(split_id(doc["_id"]))
        return {value: sorted(refs) for value, refs in result.items()}

    async def _capped_carriers(
        self, wanted: Mapping[str, ValueKey], cap: int
    ) -> dict[ValueKey, list[RecordKey]]:
        """At most ``cap`` carriers of each value: one query per value, by the records'
        ``match_keys`` index, a few at once (one ``$in`` for all would read every carrier
        of a hub)."""
        gate = asyncio.Semaphore(_CAPPED_AT_ONCE)

        async def some(key: str) -> list[RecordKey]:
            async with gate:
                cursor = self.db.records.find({"match_keys": key}, projection=["_id"])
                docs = await cursor.limit(cap).to_list()
            return sorted(split_id(d["_id"]) for d in docs)

        keys = sorted(wanted)
        async with self._mapped("read"):
            found = await asyncio.gather(*map(some, keys))
        return {wanted[key]: refs for key, refs in zip(keys, found, strict=True) if refs}

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
        for chunk in chunks(ids):
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
        self, refs: Iterable[RecordKey] | None, lifted: bool = False
    ) -> list[tuple[RecordKey, RecordKey]]:
        docs = await self._touching("cannot_links", {} if lifted else {"lifted_at": None}, refs)
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
        return [parts.identifiers for parts in await self.member_parts(member_ids)]

    async def member_parts(self, member_ids: Sequence[str]) -> list[MemberParts]:
        # A record's document holds its identifiers: one query answers both.
        grouped = await self._by_member(member_ids, projection=["member_id", "identifiers"])
        return [parts_of(grouped.get(member, [])) for member in member_ids]

    async def find_members(self, kind: IdentifierKind, key: str) -> list[str]:
        return [member for member, _ in await self._ranked(kind, key)]

    async def _ranked(self, kind: IdentifierKind, key: str) -> list[tuple[str, int]]:
        docs = await self._find(
            "records",
            {"match_keys": match_key(kind.value, key)},
            projection=["member_id", "identifiers", "role", "source", "key"],
        )
        rank = lookup_ranks(docs, kind.value, key)
        members = await self._find_in("members", "_id", set(rank))
        order = sorted(members, key=lambda m: (rank[m["_id"]], m["created_at"], m["_id"]))
        return [(m["_id"], rank[m["_id"]]) for m in order]

    # Private, so its span is named after the port's operation that asked it.
    ranked_members = _ranked

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
        owners = await self._merged_into(member_ids)
        grouped: dict[str, list[IdentityEvent]] = defaultdict(list)
        for doc in sorted(
            await self._find_in("events", "member_id", owners), key=lambda d: d["_id"]
        ):
            event = event_of(doc)
            for member_id in owners[doc["member_id"]]:
                grouped[member_id].append(event)
        return [grouped.get(m, []) for m in member_ids]

    async def _merged_into(self, member_ids: Iterable[str]) -> dict[str, set[str]]:
        """Each ID whose events are history of one of ``member_ids``: that ID itself and every
        ID that redirects to it through a chain, each with the asked IDs it is history of. One
        aggregation over the redirects' ``new_id`` index; $graphLookup keeps each ID once, so
        even a corrupt cycle ends."""
        asked = sorted(set(member_ids))
        owners: dict[str, set[str]] = {m: {m} for m in asked}
        pipeline: list[Doc] = [
            {"$match": {"new_id": {"$in": asked}}},
            {
                "$graphLookup": {
                    "from": "redirects",
                    "startWith": "$_id",
                    "connectFromField": "_id",
                    "connectToField": "new_id",
                    "as": "above",
                }
            },
        ]
        async with self._mapped("read"):
            docs = await (await self.db.redirects.aggregate(pipeline)).to_list()
        for doc in docs:
            for old in [doc["_id"], *(above["_id"] for above in doc["above"])]:
                owners.setdefault(old, set()).add(doc["new_id"])
        return owners

    async def list_conflicts(self, limit: int, offset: int = 0) -> list[IdentityEvent]:
        async with self._mapped("read"):
            cursor = (
                self.db.events.find({"kind": "conflict"}).sort("_id", -1).skip(offset).limit(limit)
            )
            return [event_of(d) for d in await cursor.to_list()]

    async def member_versions(self, member_ids: Iterable[str]) -> dict[str, int]:
        async with self._mapped("read"):
            return await versions(self.db, member_ids)

    async def member_created(self, member_ids: Iterable[str]) -> dict[str, datetime]:
        docs = await self._find_in("members", "_id", set(member_ids), projection=["created_at"])
        return {d["_id"]: datetime.fromisoformat(d["created_at"]) for d in docs}

    async def event(self, event_id: int) -> IdentityEvent | None:
        async with self._mapped("read"):
            doc = await self.db.events.find_one({"_id": event_id})
        return event_of(doc) if doc else None

    async def taken_member_ids(self, ids: Iterable[str]) -> set[str]:
        ids = list(ids)
        live = await self._find_in("members", "_id", ids, projection=["_id"])
        retired = await self._find_in("redirects", "_id", ids, projection=["_id"])
        erased: set[str] = set()
        if ids:
            async with self._mapped("read"):
                if self._tombstone_key is None:  # (none yet: another process may make it)
                    self._tombstone_key = await mongo_key(self.db)
                erased = await buried_mongo(self.db, ids, self._tombstone_key)
        return {d["_id"] for d in live} | {d["_id"] for d in retired} | erased

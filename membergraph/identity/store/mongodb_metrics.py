"""The MongoDB store's per-member metrics: one document per member in ``member_metrics``,
ranked by sorted, indexed reads (a page of IDs at a time, never the population), filtered,
ordered and aggregated by the server.

Scores follow :func:`membergraph.insights.rfm.quintile`: each score's quintile cut documents
are found by the server down an index, and only the documents that can have moved are scored
again (``mongodb_scoring``), the same way on every server and on the tests' emulation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pymongo import ASCENDING, DESCENDING, DeleteMany, IndexModel, ReplaceOne

from membergraph.identity.store.conflict_state import DECISIONS
from membergraph.identity.store.metrics_port import (
    DAYS,
    FIGURES,
    RANKS,
    SALE_KEYS,
    ConflictQuery,
    GroupKey,
    MemberQuery,
    MetricsRow,
    MetricsStore,
    OrderField,
    SalesRow,
    ScoredRow,
    Scoring,
    StatsRow,
    cuts_of,
    cuts_text,
    tier_changes,
)
from membergraph.identity.store.mongodb_docs import event_of
from membergraph.identity.store.mongodb_lease import Lease, waiting_for
from membergraph.identity.store.mongodb_query import conflict_filter, conflict_states, member_filter
from membergraph.identity.store.mongodb_scoring import RANK_INDEXES, score_pass
from membergraph.identity.store.port import IdentityEvent

if TYPE_CHECKING:
    from membergraph.identity.store.mongodb import MongoStore

__all__ = ["MongoMetrics"]

Doc = dict[str, Any]
_SCORES = tuple(RANKS)  # r f m e p
_ORDERED = ("lifetime_spend_cents", "monetary_cents", "points_balance", "last_purchase_at")
INDEXES = [
    *(IndexModel([(c, ASCENDING), ("_id", ASCENDING)]) for c in (*_ORDERED, "member_since")),
    IndexModel([("segments", ASCENDING), ("_id", ASCENDING)]),
    IndexModel([("tier", ASCENDING)]),
    IndexModel([("measured_at", ASCENDING)]),
    *RANK_INDEXES,
]
SCORING_LEASE = "metrics-scoring"
"""The lease (in ``leases``) a scoring pass holds: one pass at a time among the processes."""


def _doc(row: MetricsRow, cursor: int, since: str) -> Doc:
    return {
        "_id": row.member_id,
        "measured_at": row.measured_at,
        "cursor": cursor,
        "member_since": since,
        **row.figures,
        **row.days,
        "tier": row.tier,
        "sources": list(row.sources),
        "consented": list(row.consented),
        "reachable": list(row.reachable),
        "sales": [
            {
                "channel": s.channel,
                "store": s.store,
                "month": s.month,
                "purchases": s.purchases,
                "spend_cents": s.spend_cents,
                "points_earned": s.points_earned,
                "points_redeemed": s.points_redeemed,
            }
            for s in row.sales
        ],
        **dict.fromkeys(_SCORES, 1),
        "segments": [],
        "unscored": True,  # its scores and segments are the next pass's to find
    }


def _scored(doc: Doc) -> ScoredRow:
    row = MetricsRow(
        member_id=doc["_id"],
        measured_at=doc["measured_at"],
        figures={f: doc[f] for f in FIGURES},
        days={d: doc.get(d) for d in DAYS},
        tier=doc["tier"],
        sources=tuple(doc["sources"]),
        consented=tuple(doc["consented"]),
        reachable=tuple(doc["reachable"]),
        sales=tuple(SalesRow(**s) for s in doc["sales"]),
    )
    scores = tuple(doc[s] for s in _SCORES)
    return ScoredRow(row, scores, tuple(sorted(doc["segments"])))


class MongoMetrics(MetricsStore):
    """The ``member_metrics`` collection of a :class:`MongoStore`'s database."""

    def __init__(self, store: MongoStore) -> None:
        self.store = store
        self._indexed = False

    async def _collection(self) -> Any:
        collection = self.store.db.member_metrics
        if not self._indexed:
            async with self.store._mapped("create metrics indexes"):
                await collection.create_indexes(INDEXES)
            self._indexed = True
        return collection

    async def _meta(self, key: str) -> str | None:
        async with self.store._mapped("read"):
            doc = await self.store.db.metrics_meta.find_one({"_id": key})
        return None if doc is None else str(doc["value"])

    async def _set_meta(self, key: str, value: str) -> None:
        async with self.store._mapped("write"):
            await self.store.db.metrics_meta.update_one(
                {"_id": key}, {"$set": {"value": value}}, upsert=True
            )

    async def _bump(self) -> None:
        async with self.store._mapped("write"):
            await self.store.db.metrics_meta.update_one(
                {"_id": "version"}, {"$inc": {"n": 1}}, upsert=True
            )

    async def put(
        self,
        rows: Sequence[MetricsRow],
        gone: Sequence[str] = (),
        cursor: int = 0,
        announce: bool = False,
    ) -> int:
        if not rows and not gone:
            return 0
        collection = await self._collection()

        async def write(session: Any) -> int:
            ids = [r.member_id for r in rows]
            held = {  # each member's kept row: its cursor and tier
                d["_id"]: (d["cursor"], d["tier"])
                for d in await collection.find(
                    {"_id": {"$in": ids}}, projection=["cursor", "tier"], session=session
                ).to_list()
            }
            kept = [r for r in rows if held.get(r.member_id, (cursor, ""))[0] <= cursor]
            members = await self.store.db.members.find(
                {"_id": {"$in": [r.member_id for r in kept]}},
                projection=["created_at"],
                session=session,
            ).to_list()
            since = {m["_id"]: str(m.get("created_at", "")) for m in members}
            # One round trip for the page (a rebuild's page is 2,000 members), not one a row.
            operations: list[Any] = [DeleteMany({"_id": {"$in": list(gone)}})] if gone else []
            operations += [
                ReplaceOne(
                    {"_id": row.member_id},
                    _doc(row, cursor, since.get(row.member_id, "")),
                    upsert=True,
                )
                for row in kept
            ]
            if operations:
                await collection.bulk_write(operations, ordered=True, session=session)
            if not announce:
                return 0
            entries = tier_changes(kept, {m: t for m, (_, t) in held.items()})
            return len(await self.store._append(entries, session)) if entries else 0

        async with self.store._mapped("metrics write"):
            # Announcing, the rows and their feed entries are one transaction (two processes
            # measuring one member: the second reads the first's tier, and says nothing).
            said = await (self.store._in_transaction(write) if announce else write(None))
        await self._bump()
        return said

    async def position(self) -> int | None:
        found = await self._meta("position")
        return None if not found else int(found)

    async def set_position(self, cursor: int | None) -> None:
        await self._set_meta("position", "" if cursor is None else str(cursor))

    async def basis(self) -> str | None:
        return await self._meta("basis")

    async def set_basis(self, basis: str) -> None:
        await self._set_meta("basis", basis)

    async def outdated(self, reference: int, max_age: int, limit: int) -> list[str]:
        collection = await self._collection()
        query = {
            "$or": [
                {"measured_at": {"$gt": reference}},
                {"measured_at": {"$lt": reference - max_age}},
            ]
        }
        async with self.store._mapped("read"):
            docs = await collection.find(query, projection=["_id"]).limit(limit).to_list()
        return [d["_id"] for d in docs]

    async def _version(self) -> str:
        async with self.store._mapped("read"):
            doc = await self.store.db.metrics_meta.find_one({"_id": "version"})
        return str(doc["n"] if doc else 0)

    async def _scored_as(self, scoring: Scoring) -> tuple[str, str | None]:
        """What a pass now would be scored as, and what the last one was."""
        return f"{await self._version()}|{scoring.name}", await self._meta("scored")

    async def score(self, scoring: Scoring) -> bool:
        wanted, scored = await self._scored_as(scoring)
        if scored == wanted:  # read first: most questions find nothing to do
            return False
        # One pass at a time among the processes, as SQLite's write lock gives: two passes'
        # writes interleaved would leave members scored by one pass's cuts and kept as the
        # other's. The second waits, then finds the rows scored (or scores what moved since).
        lease = Lease(self.store.db.leases, SCORING_LEASE, self.store.lease)
        async with self.store._mapped("metrics scoring"), waiting_for(lease, "scoring members"):
            wanted, scored = await self._scored_as(scoring)  # again, holding the lease
            if scored == wanted:
                return False
            collection = await self._collection()
            since = cuts_of(await self._meta("cuts"))
            if since is not None:  # a pass stopped part-way leaves none: the next scores all
                await self._set_meta("cuts", "")
            same_rules = (scored or "").partition("|")[2] == scoring.name
            cuts = await score_pass(collection, scoring.rules, same_rules, since, lease.keep)
            await lease.keep()
            await self._set_meta("cuts", cuts_text(cuts))
            await self._set_meta("scored", wanted)
        return True

    async def scored(self, member_ids: Sequence[str]) -> list[ScoredRow | None]:
        collection = await self._collection()
        async with self.store._mapped("read"):
            docs = await collection.find({"_id": {"$in": list(member_ids)}}).to_list()
        found = {d["_id"]: _scored(d) for d in docs}
        return [found.get(m) for m in member_ids]

    async def page(
        self,
        query: MemberQuery,
        order: OrderField,
        descending: bool,
        after: tuple[int | str, str] | None,
        limit: int,
    ) -> list[tuple[str, int | str]]:
        collection = await self._collection()
        field = "_id" if order is OrderField.MEMBER_ID else order.value
        conditions = [member_filter(query)]
        if after is not None:
            value, member = after
            beyond = "$lt" if descending else "$gt"
            conditions.append(
                {"$or": [{field: {beyond: value}}, {field: value, "_id": {beyond: member}}]}
            )
        direction = DESCENDING if descending else ASCENDING
        async with self.store._mapped("read"):
            docs = await (
                collection.find({"$and": conditions}, projection=[field])
                .sort([(field, direction), ("_id", direction)])
                .limit(limit)
                .to_list()
            )
        return [(d["_id"], d[field]) for d in docs]

    async def count(self, query: MemberQuery) -> int:
        collection = await self._collection()
        async with self.store._mapped("read"):
            return int(await collection.count_documents(member_filter(query)))

    async def stats(self, query: MemberQuery, group_by: Sequence[GroupKey]) -> list[StatsRow]:
        collection = await self._collection()
        pipeline: list[Doc] = [{"$match": member_filter(query)}]
        if "segment" in group_by:  # a member in no segment: a group of its own (null)
            pipeline.append({"$unwind": {"path": "$segments", "preserveNullAndEmptyArrays": True}})
        unwound = bool(SALE_KEYS & set(group_by))
        if unwound:
            pipeline.append({"$unwind": {"path": "$sales", "preserveNullAndEmptyArrays": True}})

        def total(field: str) -> Doc:
            # Unwound, ``$sales.x`` is one sale's; else the list of the member's sales.
            return {"$sum": f"$sales.{field}" if unwound else {"$sum": f"$sales.{field}"}}

        key_of = {
            "segment": "$segments",
            "tier": "$tier",
            "channel": "$sales.channel",
            "month": "$sales.month",
            "store": "$sales.store",
        }
        pipeline.append(
            {
                "$group": {
                    "_id": {g: key_of[g] for g in group_by},
                    "members": {"$addToSet": "$_id"},
                    "purchases": total("purchases"),
                    "spend": total("spend_cents"),
                    "earned": total("points_earned"),
                    "redeemed": total("points_redeemed"),
                }
            }
        )
        async with self.store._mapped("read"):
            docs = await (await collection.aggregate(pipeline)).to_list()
        # A sale of no store has the store '' (None in the answer); a member without a sale
        # has no sale key at all: a group of its own (StatsRow). Its keys are merged here.
        merged: dict[tuple[Any, ...], list[Any]] = {}
        for d in docs:
            key = tuple(d["_id"].get(g) or None for g in group_by)
            none = unwound and all(d["_id"].get(g) is None for g in SALE_KEYS & set(group_by))
            into = merged.setdefault((*key, none), [set(), 0, 0, 0, 0])
            into[0].update(d["members"])
            for i, name in enumerate(("purchases", "spend", "earned", "redeemed"), start=1):
                into[i] += int(d[name])
        found = [
            StatsRow(
                dict(zip(group_by, key, strict=False)), len(v[0]), v[1], v[2], v[3], v[4], key[-1]
            )
            for key, v in merged.items()
        ]
        if not group_by and not found:  # no member: one group of nothing, as SQL answers
            found = [StatsRow({}, 0, 0, 0, 0, 0)]
        return sorted(found, key=StatsRow.order)

    async def segment_counts(self) -> dict[str, int]:
        collection = await self._collection()
        pipeline = [{"$unwind": "$segments"}, {"$group": {"_id": "$segments", "n": {"$sum": 1}}}]
        async with self.store._mapped("read"):
            docs = await (await collection.aggregate(pipeline)).to_list()
        return {d["_id"]: int(d["n"]) for d in docs}

    async def conflicts(
        self, query: ConflictQuery, before: int | None, limit: int, oldest_first: bool = False
    ) -> list[IdentityEvent]:
        found = conflict_filter(query)
        if before is not None:
            found["_id"] = {"$gt" if oldest_first else "$lt": before}
        order = 1 if oldest_first else -1
        # (the state's stages follow the order: a conflict's decisions are looked up only
        # until the page is full)
        pipeline = [{"$match": found}, {"$sort": {"_id": order}}, *conflict_states(query.state)]
        async with self.store._mapped("read"):
            cursor = await self.store.db.events.aggregate([*pipeline, {"$limit": limit}])
            docs = await cursor.to_list()
        return [event_of(d) for d in docs]

    async def count_conflicts(self, query: ConflictQuery) -> int:
        pipeline = [{"$match": conflict_filter(query)}, *conflict_states(query.state)]
        async with self.store._mapped("read"):
            cursor = await self.store.db.events.aggregate([*pipeline, {"$count": "n"}])
            docs = await cursor.to_list()
        return int(docs[0]["n"]) if docs else 0

    async def conflict_decisions(
        self, conflicts: Iterable[int] | None = None
    ) -> list[IdentityEvent]:
        wanted: Doc = {"kind": {"$in": list(DECISIONS)}}
        if conflicts is not None:  # (the sparse index on evidence.conflict_id finds them)
            wanted["evidence.conflict_id"] = {"$in": sorted(set(conflicts))}
        async with self.store._mapped("read"):
            found = self.store.db.events.find(wanted)
            docs = await found.sort("_id", 1).to_list()
        return [event_of(d) for d in docs]

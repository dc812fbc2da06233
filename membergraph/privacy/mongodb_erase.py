"""Erasure on MongoDB: one multi-document transaction deletes a person's records, links,
cannot-links, events, members, redirects, consent facts and feed entries (and every event or
feed entry that mentions one of her values), and the response cache's answers kept in the
store that read her (or read a member one of those feed entries names: the entry that made
them unserved goes), and tombstones her member IDs
(:mod:`~membergraph.identity.store.tombstones`); the twin of :mod:`.sqlite_erase`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from membergraph.identity.records import RecordKey
from membergraph.identity.store.mongodb import MongoStore
from membergraph.identity.store.mongodb_answers import drop_in
from membergraph.identity.store.mongodb_docs import WHOLE_STORE
from membergraph.identity.store.tombstones import bury_mongo, mongo_key
from membergraph.privacy.port import Erasure

__all__ = ["erase", "record_id"]


def record_id(ref: RecordKey) -> str:
    """A record's ``_id`` in the ``records`` collection."""
    return f"{ref[0]}/{ref[1]}"


async def erase(store: MongoStore, erasure: Erasure, at: datetime) -> dict[str, int]:
    """Erase a person from ``store`` in one transaction; what went, per collection."""
    db, words = store.db, set(erasure.words)
    secret = await mongo_key(db, make=True)
    assert secret is not None  # (made just above)
    refs = [record_id(r) for r in erasure.refs]
    members = list(erasure.member_ids)
    pairs = [list(r) for r in erasure.refs]
    events = await _matching(
        db, "events", {"$or": [{"member_id": {"$in": members}}, {"records": {"$in": pairs}}]}, words
    )
    lines = [{"source": s, "line_id": i} for s, i in erasure.lines]
    feed = await _matching(db, "feed", {"$or": [{"member_ids": {"$in": members}}, *lines]}, words)
    # The response cache's answers kept in the store: hers, and those that read a member
    # one of the feed entries going now names (the entry that told they are stale goes).
    named = await db.feed.find({"_id": {"$in": feed}}, {"member_ids": 1}).to_list()
    readers = sorted(set(members) | {m for d in named for m in d.get("member_ids", [])})
    ends = {"$or": [{"a_ref": {"$in": refs}}, {"b_ref": {"$in": refs}}]}
    plan = [
        ("records", {"_id": {"$in": refs}}),
        ("links", ends),
        ("cannot_links", ends),
        ("consent_facts", {"record": {"$in": refs}}),
        ("events", {"_id": {"$in": events}}),
        ("members", {"_id": {"$in": members}}),
        ("redirects", {"$or": [{"_id": {"$in": members}}, {"new_id": {"$in": members}}]}),
        ("feed", {"_id": {"$in": feed}}),
    ]
    counts: dict[str, int] = {}

    async def write(session: Any) -> None:
        # Her records hold their identifiers: counted as they go, as SQLite counts its
        # identifiers table's rows (`counts` are the same on both stores).
        held = db.records.find({"_id": {"$in": refs}}, {"identifiers": 1}, session=session)
        identifiers = sum(len(d.get("identifiers", [])) for d in await held.to_list())
        for name, query in plan:
            result = await db[name].delete_many(query, session=session)
            counts[name] = int(result.deleted_count)
            if name == "records":
                counts["identifiers"] = identifiers
        await drop_in(db, readers, session)
        for ref, kind, key in erasure.stripped:  # a record she shares loses her values
            pulled = await db.records.update_one(
                {"_id": record_id(ref)},
                {
                    "$pull": {
                        "identifiers": {"kind": kind, "key": key},
                        "match_keys": f"{kind}:{key}",
                    }
                },
                session=session,
            )
            counts["identifiers"] += int(pulled.modified_count)
        # A record that stays (another person's) must not hand an erased ID back.
        for column in ("origin_member_id", "previous_member_id"):
            await db.records.update_many(
                {column: {"$in": members}}, {"$set": {column: None}}, session=session
            )
        # Her IDs are never given again (a new record on her key would derive one): kept
        # as keyed hashes, which are no data of hers, so not counted with what went.
        await bury_mongo(db, secret, members, at, session)
        # A whole-store resolution computed before this (a gateway starting from lines
        # it read before her suppression) conflicts, and screens its lines again.
        await db["values"].update_one(
            {"_id": WHOLE_STORE}, {"$inc": {"version": 1}}, upsert=True, session=session
        )

    async with store.client.start_session() as session:
        await session.with_transaction(write)
    return counts


async def _matching(db: Any, name: str, query: dict[str, Any], words: set[str]) -> list[Any]:
    """Ids of documents matching ``query``, and of any other that mentions a word (a
    scan: an erasure is rare, and a person's values may sit in any event's evidence)."""
    ids = {d["_id"] for d in await db[name].find(query, {"_id": 1}).to_list()}
    async for doc in db[name].find({"_id": {"$nin": sorted(ids)}}):
        if _mentions({k: v for k, v in doc.items() if k != "_id"}, words):
            ids.add(doc["_id"])
    return sorted(ids)


def _mentions(doc: Any, words: set[str]) -> bool:
    """Whether a document holds one of ``words`` as a whole value, or within free text."""
    if isinstance(doc, str):
        return doc in words or any(w in doc for w in words if len(w) >= 4 and " " in doc)
    if isinstance(doc, dict):
        return any(_mentions(v, words) for v in doc.values())
    if isinstance(doc, list | tuple):
        return any(_mentions(v, words) for v in doc)
    return False

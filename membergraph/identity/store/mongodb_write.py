"""The MongoDB store's documents (to and from the domain), indexes and write path.

A record is one document holding its identifiers (``identifiers``, and ``match_keys`` with a
multikey index for carrier lookups), so reading a record is one document. Members,
redirects, links, cannot-links and events are collections of their own. A change touches
many documents (records, members, links, events), so it is written in one multi-document
transaction: that needs a replica set, which ``docker-compose.yml`` starts (a single-node
``rs0``). Every document is built before the first write: a change that cannot be encoded
fails before it touches the database.

A change's feed entries (``Change.feed``) are documents of the ``feed`` collection written in
the same plan, so in the same transaction: see :mod:`mongodb_feed` for their cursors' order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any

import orjson
from pymongo import ASCENDING, DeleteMany, IndexModel, InsertOne, ReplaceOne, UpdateMany, UpdateOne

from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordData, RecordKey
from membergraph.identity.store.port import (
    Change,
    ConcurrentChange,
    IdentityEvent,
    StoredLink,
    event_from,
    linked_members,
)

__all__ = [
    "INDEXES",
    "Writes",
    "event_of",
    "feed_doc",
    "feed_entry_of",
    "feed_inserts",
    "feed_time",
    "link_of",
    "plan_change",
    "record_id",
    "record_of",
    "split_id",
]

Doc = dict[str, Any]

INDEXES: dict[str, list[IndexModel]] = {
    "records": [
        IndexModel([("member_id", ASCENDING)]),
        IndexModel([("match_keys", ASCENDING)]),
        IndexModel([("source", ASCENDING), ("member_id", ASCENDING)]),
    ],
    "members": [IndexModel([("created_at", ASCENDING), ("_id", ASCENDING)])],
    "links": [
        IndexModel([("a_ref", ASCENDING), ("retracted_at", ASCENDING)]),
        IndexModel([("b_ref", ASCENDING), ("retracted_at", ASCENDING)]),
    ],
    "cannot_links": [IndexModel([("a_ref", ASCENDING)]), IndexModel([("b_ref", ASCENDING)])],
    "events": [IndexModel([("member_id", ASCENDING)]), IndexModel([("kind", ASCENDING)])],
    # A member's tail (multikey on member_ids, in cursor order); pruning by age; whether a
    # source's line has its entry.
    "feed": [
        IndexModel([("member_ids", ASCENDING), ("_id", ASCENDING)]),
        IndexModel([("at", ASCENDING)]),
        IndexModel([("source", ASCENDING), ("line_id", ASCENDING)]),
    ],
}


def record_id(ref: RecordKey) -> str:
    """A record's ``_id``: ``source/key`` (source names never hold a ``/``)."""
    return f"{ref[0]}/{ref[1]}"


def split_id(doc_id: str) -> RecordKey:
    source, _, key = doc_id.partition("/")
    return source, key


def match_key(kind: str, key: str) -> str:
    return f"{kind}:{key}"


def _json(value: Any) -> Any:
    # What SQLite stores as JSON text: the same types come back from both stores, and a value
    # JSON cannot hold fails here, before any write.
    return orjson.loads(orjson.dumps(value))


def identifier_doc(ident: Identifier) -> Doc:
    return {"kind": ident.kind.value, "key": ident.key, "value": ident.value, "via": ident.via}


def record_doc(record: RecordData, stored: Doc | None, member: str | None) -> Doc:
    """The record's document after the change (identifiers are only ever added)."""
    idents = {tuple(i.values()): i for i in (stored or {}).get("identifiers", [])}
    for ident in record.identifiers:
        given = identifier_doc(ident)
        idents.setdefault(tuple(given.values()), given)
    ordered = [idents[k] for k in sorted(idents)]
    doc: Doc = {
        "_id": record_id(record.ref),
        "source": record.source,
        "key": record.key,
        "role": (stored or {}).get("role", record.role),
        "first_name": record.first_name,
        "last_name": record.last_name,
        "birth_date": record.birth_date.isoformat() if record.birth_date else None,
        "address": record.address,
        "identifiers": ordered,
        "match_keys": sorted({match_key(i["kind"], i["key"]) for i in ordered}),
    }
    doc.update(_membership(stored, member))
    return doc


def _membership(stored: Doc | None, member: str | None) -> Doc:
    """``member_id``, ``previous_member_id`` and ``origin_member_id`` after a (re)assignment."""
    current = (stored or {}).get("member_id")
    previous = (stored or {}).get("previous_member_id")
    if member is not None and member != current:
        previous = current
    return {
        "member_id": member if member is not None else current,
        "previous_member_id": previous,
        "origin_member_id": (stored or {}).get("origin_member_id") or member,
    }


class Writes:
    """The operations of one change, per collection, in the order they must run."""

    def __init__(self) -> None:
        self.ops: list[tuple[str, list[Any]]] = []

    def add(self, collection: str, ops: Sequence[Any]) -> None:
        if ops:
            self.ops.append((collection, list(ops)))

    def __len__(self) -> int:
        return sum(len(ops) for _, ops in self.ops)


def plan_change(
    change: Change,
    stored: Mapping[str, Doc],
    versions: Mapping[str, int],
    link_ids: Iterable[int],
    event_ids: Iterable[int],
    feed_ids: Iterable[int],
    at: str,
) -> Writes:
    """Every write of ``change``, given the stored documents of the records it touches.

    Raises:
        ConcurrentChange: a member's version moved since the change was computed.
        TypeError: evidence JSON cannot hold.
    """
    moved = {m for m, v in change.expected_versions.items() if versions.get(m) != v}
    if moved:
        raise ConcurrentChange(f"members changed meanwhile: {', '.join(sorted(moved))}")
    writes = Writes()
    assigned = change.assignments
    written = {r.ref for r in change.records}
    docs = [
        record_doc(r, stored.get(record_id(r.ref)), assigned.get(r.ref)) for r in change.records
    ]
    for ref, member in assigned.items():
        if ref in written:
            continue
        doc = stored.get(record_id(ref))
        if doc is not None:
            docs.append({**doc, **_membership(doc, member)})
    writes.add("records", [ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs])
    # The order SQLite writes them in: an ID both retired and revived ends up live.
    if change.redirects:
        writes.add("members", [DeleteMany({"_id": {"$in": list(change.redirects)}})])
        writes.add(
            "redirects",
            [
                ReplaceOne({"_id": old}, {"_id": old, "new_id": new}, upsert=True)
                for old, new in change.redirects.items()
            ],
        )
    if change.new_members:
        writes.add("redirects", [DeleteMany({"_id": {"$in": list(change.new_members)}})])
    members = [
        UpdateOne({"_id": m}, {"$setOnInsert": {"created_at": at, "version": 1}}, upsert=True)
        for m in change.new_members
    ]
    members += [
        UpdateOne({"_id": m}, {"$inc": {"version": 1}}) for m in sorted(set(assigned.values()))
    ]
    writes.add("members", members)
    links: list[Any] = [
        UpdateMany(
            {"a_ref": record_id(x), "b_ref": record_id(y), "rule": rule, "retracted_at": None},
            {"$set": {"retracted_at": at}},
        )
        for a, b, rule in change.links_retracted
        for x, y in ((a, b), (b, a))
    ]
    links += [
        InsertOne(
            {
                "_id": link_id,
                "a_ref": record_id(link.a),
                "b_ref": record_id(link.b),
                "rule": link.rule,
                "evidence": _json(link.evidence),
                "actor": change.actor,
                "created_at": at,
                "retracted_at": None,
            }
        )
        for link_id, link in zip(link_ids, change.links_added, strict=True)
    ]
    writes.add("links", links)
    cannot: list[Any] = [
        InsertOne(
            {
                "a_ref": record_id(a),
                "b_ref": record_id(b),
                "actor": change.actor,
                "reason": change.reason,
                "created_at": at,
                "lifted_at": None,
            }
        )
        for a, b in change.cannot_added
    ]
    cannot += [
        UpdateMany(
            {"a_ref": record_id(x), "b_ref": record_id(y), "lifted_at": None},
            {"$set": {"lifted_at": at}},
        )
        for a, b in change.cannot_lifted
        for x, y in ((a, b), (b, a))
    ]
    writes.add("cannot_links", cannot)
    events = [
        IdentityEvent(
            member, "linked", change.at or datetime.fromisoformat(at), change.actor,
            link.rule, change.reason, link.evidence, (link.a, link.b),
        )
        for link, member in linked_members(change)
    ]
    writes.add(
        "events",
        [
            InsertOne(
                {
                    "_id": event_id,
                    "member_id": e.member_id,
                    "kind": e.kind,
                    "at": e.at.isoformat(),
                    "actor": e.actor,
                    "rule": e.rule,
                    "reason": e.reason,
                    "evidence": _json(e.evidence),
                    "records": [list(r) for r in e.records],
                }
            )
            for event_id, e in zip(event_ids, [*events, *change.events], strict=True)
        ],
    )
    writes.add("feed", feed_inserts(feed_ids, change.feed))
    return writes


def feed_inserts(cursors: Iterable[int], entries: Sequence[FeedEntry]) -> list[InsertOne[Doc]]:
    return [InsertOne(feed_doc(c, e)) for c, e in zip(cursors, entries, strict=True)]


def feed_time(at: datetime) -> str:
    """``at`` as the feed stores it: ISO text in UTC, so that text order is time order."""
    if at.tzinfo is not None:
        at = at.astimezone(UTC)
    return at.isoformat(timespec="microseconds")


def feed_doc(cursor: int, entry: FeedEntry) -> Doc:
    return {
        "_id": cursor,
        "kind": entry.kind.value,
        "member_ids": list(entry.member_ids),
        "at": feed_time(entry.at),
        "actor": entry.actor,
        "reason": entry.reason,
        "source": entry.source,
        "line_id": entry.line_id,
    }


def touched_ids(change: Change) -> list[str]:
    """The ``_id`` of every record a change writes."""
    refs = {r.ref for r in change.records} | set(change.assignments)
    return sorted(record_id(ref) for ref in refs)


# -- reading documents back -----------------------------------------------------------


def record_of(doc: Doc) -> RecordData:
    source, key = split_id(doc["_id"])
    return RecordData(
        source=source,
        key=key,
        role=doc["role"],
        identifiers={
            Identifier(IdentifierKind(i["kind"]), i["key"], i["value"], i["via"])
            for i in doc.get("identifiers", [])
        },
        first_name=doc.get("first_name"),
        last_name=doc.get("last_name"),
        birth_date=date.fromisoformat(doc["birth_date"]) if doc.get("birth_date") else None,
        address=doc.get("address"),
    )


def event_of(doc: Doc) -> IdentityEvent:
    return event_from(
        {"id": doc["_id"], "rule": None, "reason": None, **doc},
        doc.get("evidence"),
        doc.get("records"),
    )


def feed_entry_of(doc: Doc) -> FeedEntry:
    return FeedEntry(
        cursor=doc["_id"],
        kind=ChangeKind(doc["kind"]),
        member_ids=tuple(doc["member_ids"]),
        at=datetime.fromisoformat(doc["at"]),
        actor=doc.get("actor"),
        reason=doc.get("reason"),
        source=doc.get("source"),
        line_id=doc.get("line_id"),
    )


def link_of(doc: Doc) -> StoredLink:
    return StoredLink(
        id=doc["_id"],
        a=split_id(doc["a_ref"]),
        b=split_id(doc["b_ref"]),
        rule=doc["rule"],
        evidence=doc.get("evidence") or {},
        actor=doc["actor"],
        created_at=datetime.fromisoformat(doc["created_at"]),
    )

"""The MongoDB store's plan of writes for a change (documents: :mod:`mongodb_docs`).

A change touches many documents, so it is written in one multi-document transaction: that
needs a replica set, which ``docker-compose.yml`` starts (a single-node ``rs0``). Every
document is built before the first write: a change that cannot be encoded fails before it
touches the database. Every write is idempotent (:class:`Op`), so a change too large for a
transaction can be replayed from its journal (:mod:`mongodb_large`).

A change's feed entries (``Change.feed``) are documents of the ``feed`` collection written in
the same plan, so in the same transaction: see :mod:`mongodb_feed` for their cursors' order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bson import ObjectId
from pymongo import DeleteMany, InsertOne, ReplaceOne, ReturnDocument, UpdateMany, UpdateOne

from membergraph.identity.feed import FeedEntry
from membergraph.identity.records import RecordKey
from membergraph.identity.store.mongodb_docs import (
    GUARD,
    Doc,
    feed_doc,
    guard_key,
    json_value,
    membership,
    record_doc,
    record_id,
    record_of,
)
from membergraph.identity.store.port import (
    Change,
    ConcurrentChange,
    IdentityEvent,
    linked_members,
)
from membergraph.identity.store.types import renamed_refs

__all__ = [
    "Op",
    "Writes",
    "feed_inserts",
    "guard_reads",
    "next_ids",
    "plan_change",
    "renamed_events",
    "touched_ids",
    "version_reads",
    "writes_anything",
]


def guard_reads(change: Change) -> set[str]:
    """The value guards a change checks and writes: those of the values it read carriers of
    (in ``expected_versions``), and those of every value its records carry: a change that
    adds a carrier of a value conflicts with one that read who carries it."""
    read = {key for key in change.expected_versions if key.startswith(GUARD)}
    carried = {guard_key(i.kind.value, i.key) for r in change.records for i in r.identifiers}
    return read | carried


@dataclass(frozen=True, slots=True)
class Op:
    """One write, idempotent: applied again after it was applied, it changes nothing. A
    change too large for a transaction is replayed from its journal after a failure
    (:mod:`mongodb_large`), so every write of a plan is of this kind."""

    kind: Literal["replace", "update", "update_many", "delete_many"]
    filter: Doc
    doc: Doc | None = None
    upsert: bool = False

    def pymongo(self) -> Any:
        """The PyMongo bulk operation."""
        if self.kind == "replace":
            return ReplaceOne(self.filter, self.doc or {}, upsert=self.upsert)
        if self.kind == "update":
            return UpdateOne(self.filter, self.doc or {}, upsert=self.upsert)
        if self.kind == "update_many":
            return UpdateMany(self.filter, self.doc or {}, upsert=self.upsert)
        return DeleteMany(self.filter)


def _put(doc: Doc) -> Op:
    return Op("replace", {"_id": doc["_id"]}, doc, upsert=True)


class Writes:
    """The operations of one change, per collection, in the order they must run."""

    def __init__(self) -> None:
        self.ops: list[tuple[str, list[Op]]] = []

    def add(self, collection: str, ops: Sequence[Op]) -> None:
        if ops:
            self.ops.append((collection, list(ops)))

    def __len__(self) -> int:
        return sum(len(ops) for _, ops in self.ops)


def writes_anything(change: Change) -> bool:
    """Whether a change has anything to write (a re-run over a resolved store has not)."""
    return bool(
        change.records or change.assignments or change.redirects or change.new_members
        or change.unassigned or change.retired or change.links_added or change.links_retracted
        or change.events or change.cannot_added or change.cannot_lifted or change.feed
        or change.renamed or change.gone or change.facts_moved
    )  # fmt: skip


def version_reads(change: Change) -> set[str]:
    """The members whose versions a change checks and writes: every member it read, and
    every member it gives records to (new ones aside)."""
    members = {key for key in change.expected_versions if not key.startswith(GUARD)}
    given = set(change.assignments.values()) | set(change.touched)
    return (members | given) - set(change.new_members)


def plan_change(
    change: Change,
    stored: Mapping[str, Doc],
    versions: Mapping[str, int],
    link_ids: Iterable[int],
    event_ids: Iterable[int],
    feed_ids: Iterable[int],
    at: str,
    guards: Mapping[str, int] | None = None,
) -> Writes:
    """Every write of ``change``, given the stored documents of the records it touches, the
    versions of :func:`version_reads` and those of :func:`guard_reads` (``guards``; None:
    not written, the change is not isolated anyway), in the order a reader may see them:
    members retired, then members created, links and events, then the records that name
    those members, then versions and guards, then the feed.

    Every member the change read gets its version written (checked and moved on), and
    every value guard it read or whose value its records carry: two changes that read one
    member, or one reads who carries a value the other gives a record, conflict on it, so
    the database orders them instead of both committing (write skew).

    Raises:
        ConcurrentChange: a member's version moved since the change was computed.
        TypeError: evidence JSON cannot hold.
    """
    held = {**versions, **(guards or {})}
    moved = {
        m
        for m, v in change.expected_versions.items()
        if held.get(m, 0 if m.startswith(GUARD) else None) != v
        and (guards is not None or not m.startswith(GUARD))
    }
    if moved:
        raise ConcurrentChange(f"members changed meanwhile: {', '.join(sorted(moved))}")
    for ref, (days, emails) in change.days_read.items():
        doc = stored.get(record_id(ref))
        record = None if doc is None else record_of(doc)
        now = (None, None) if record is None else (record.days, record.email_days)
        if now != (days or None, emails or None):
            raise ConcurrentChange(f"a record's days changed meanwhile: {ref[0]}:{ref[1]}")
    writes = Writes()
    if not writes_anything(change):
        return writes
    # The order SQLite writes them in: an ID both retired and revived ends up live.
    if change.redirects:
        writes.add("members", [Op("delete_many", {"_id": {"$in": list(change.redirects)}})])
        writes.add(
            "redirects",
            [_put({"_id": old, "new_id": new}) for old, new in change.redirects.items()],
        )
    if change.new_members:
        writes.add("redirects", [Op("delete_many", {"_id": {"$in": list(change.new_members)}})])
        created = {"$setOnInsert": {"created_at": at, "version": 1}}
        writes.add(
            "members", [Op("update", {"_id": m}, created, upsert=True) for m in change.new_members]
        )
    writes.add("links", _link_ops(change, link_ids, at))
    writes.add("cannot_links", _cannot_ops(change, at))
    for collection in ("links", "cannot_links"):  # after the retractions, which name old keys
        writes.add(collection, _renames(change.renamed, ("a_ref", "b_ref")))
    writes.add("consent_facts", _moved_facts(change.facts_moved))
    writes.add("events", _event_ops(change, event_ids, at))
    dropped = [record_id(ref) for ref in (*change.renamed, *change.gone)]
    if dropped:
        writes.add("records", [Op("delete_many", {"_id": {"$in": dropped}})])
    if change.replace_identifiers:  # (the change's records' own, not those only assigned)
        written = {record_id(r.ref) for r in change.records}
        stored = {k: {**d, "identifiers": []} if k in written else d for k, d in stored.items()}
    writes.add("records", _record_ops(change, stored))
    if change.retired:
        writes.add("members", [Op("delete_many", {"_id": {"$in": list(change.retired)}})])
    retired = set(change.redirects) | set(change.retired)
    writes.add(
        "members",
        [
            Op("update", {"_id": m, "version": versions[m]}, {"$set": {"version": versions[m] + 1}})
            for m in sorted(version_reads(change) - retired)
            if m in versions
        ],
    )
    writes.add(
        "values", [_guard_op(key, (guards or {}).get(key, 0)) for key in sorted(guards or ())]
    )
    writes.add("feed", [_put(feed_doc(c, e)) for c, e in zip(feed_ids, change.feed, strict=True)])
    return writes


def _guard_op(key: str, version: int) -> Op:
    # Upserted: a value nobody guarded yet has version 0 and no document.
    return Op("update", {"_id": key, "version": version}, {"$set": {"version": version + 1}}, True)


def _record_ops(change: Change, stored: Mapping[str, Doc]) -> list[Op]:
    assigned = change.assignments
    written = {r.ref for r in change.records}
    # A record re-keyed to a new one hands it its first and previous members (a split gives
    # the first one's ID back); one that was there keeps its own.
    handed: dict[str, Doc] = {}
    for old, new in sorted(change.renamed.items()):
        was = stored.get(record_id(old))
        if was is not None and record_id(new) not in stored:
            handed.setdefault(record_id(new), {k: was.get(k) for k in _MEMBERS})
    docs = [
        record_doc(
            r, stored.get(record_id(r.ref)) or handed.get(record_id(r.ref)), assigned.get(r.ref)
        )
        for r in change.records
    ]
    for ref, member in assigned.items():
        if ref in written:
            continue
        doc = stored.get(record_id(ref))
        if doc is not None:
            docs.append({**doc, **membership(doc, member)})
    leaving = {record_id(ref) for ref in change.unassigned}
    for doc in docs:
        if doc["_id"] in leaving and doc.get("member_id") is not None:
            doc.update(member_id=None, previous_member_id=doc["member_id"])
            leaving.discard(doc["_id"])
    for key in sorted(leaving):  # not written otherwise by this change
        doc = stored.get(key)
        if doc is not None and doc.get("member_id") is not None:
            docs.append({**doc, "member_id": None, "previous_member_id": doc["member_id"]})
    return [_put(d) for d in docs]


_MEMBERS = ("member_id", "origin_member_id", "previous_member_id")


def _link_ops(change: Change, link_ids: Iterable[int], at: str) -> list[Op]:
    ops = [
        Op(
            "update_many",
            {"a_ref": record_id(x), "b_ref": record_id(y), "rule": rule, "retracted_at": None},
            {"$set": {"retracted_at": at}},
        )
        for a, b, rule in change.links_retracted
        for x, y in ((a, b), (b, a))
    ]
    return ops + [
        _put(
            {
                "_id": link_id,
                "a_ref": record_id(link.a),
                "b_ref": record_id(link.b),
                "rule": link.rule,
                "evidence": json_value(link.evidence),
                "actor": change.actor,
                "created_at": at,
                "retracted_at": None,
            }
        )
        for link_id, link in zip(link_ids, change.links_added, strict=True)
    ]


def _cannot_ops(change: Change, at: str) -> list[Op]:
    ops = [
        _put(
            {
                "_id": ObjectId(),  # chosen here, so a replay writes the same document
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
    return ops + [
        Op(
            "update_many",
            {"a_ref": record_id(x), "b_ref": record_id(y), "lifted_at": None},
            {"$set": {"lifted_at": at}},
        )
        for a, b in change.cannot_lifted
        for x, y in ((a, b), (b, a))
    ]


def _renames(renamed: Mapping[RecordKey, RecordKey], fields: Sequence[str]) -> list[Op]:
    """Documents naming a re-keyed record name its new key, in place (who decided, when and
    why stay)."""
    return [
        Op("update_many", {name: record_id(old)}, {"$set": {name: record_id(new)}})
        for old, new in renamed.items()
        for name in fields
    ]


def _moved_facts(moved: Sequence[tuple[str, str, str, str]]) -> list[Op]:
    """Consent facts of lines keyed anew, under their new record (a fact's ``_id`` keeps the
    old key: it only keeps one fact from being stored twice)."""
    return [
        Op(
            "update_many",
            {"source": source, "line": line, "rkey": old},
            {"$set": {"rkey": new, "record": record_id((source, new))}},
        )
        for source, line, old, new in moved
    ]


def renamed_events(docs: Sequence[Doc], renamed: Mapping[RecordKey, RecordKey]) -> list[Op]:
    """Stewards' events naming records keyed anew, naming their new keys (``undo`` finds
    the decision where it now is)."""
    ops = []
    for doc in docs:
        records, hit = renamed_refs(doc.get("records", []), renamed)
        if hit:
            evidence, _ = renamed_refs(doc.get("evidence", {}), renamed)
            ops.append(_put({**doc, "records": records, "evidence": evidence}))
    return ops


def _event_ops(change: Change, event_ids: Iterable[int], at: str) -> list[Op]:
    when = change.at or datetime.fromisoformat(at)
    linked = [
        IdentityEvent(
            member, "linked", when, change.actor, link.rule, change.reason, link.evidence,
            (link.a, link.b),
        )
        for link, member in linked_members(change)
    ]  # fmt: skip
    return [
        _put(
            {
                "_id": event_id,
                "member_id": e.member_id,
                "kind": e.kind,
                "at": e.at.isoformat(),
                "actor": e.actor,
                "rule": e.rule,
                "reason": e.reason,
                "evidence": json_value(e.evidence),
                "records": [list(r) for r in e.records],
            }
        )
        for event_id, e in zip(event_ids, [*linked, *change.events], strict=True)
    ]


async def next_ids(db: Any, counter: str, count: int, session: Any = None) -> range:
    """``count`` fresh numbers of a counter (links, events, feed cursors)."""
    if not count:
        return range(0)
    doc = await db.counters.find_one_and_update(
        {"_id": counter},
        {"$inc": {"n": count}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
        session=session,
    )
    return range(doc["n"] - count + 1, doc["n"] + 1)


def feed_inserts(cursors: Iterable[int], entries: Sequence[FeedEntry]) -> list[InsertOne[Doc]]:
    return [InsertOne(feed_doc(c, e)) for c, e in zip(cursors, entries, strict=True)]


def touched_ids(change: Change) -> list[str]:
    """The ``_id`` of every record a change writes."""
    refs = {r.ref for r in change.records} | set(change.assignments) | set(change.unassigned)
    refs |= set(change.renamed)  # (their members pass to the records they become)
    return sorted(record_id(ref) for ref in refs)

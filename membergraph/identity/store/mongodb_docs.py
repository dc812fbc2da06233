"""The MongoDB store's documents: their ``_id``s, their shapes, and the indexes over them.

A record is one document holding its identifiers (``identifiers``, and ``match_keys`` with a
multikey index for carrier lookups), so reading a record is one document. Members,
redirects, links, cannot-links, events and the feed are collections of their own; a value
guard (``values``) is a bucket of identifier values that changes write to conflict
(:mod:`mongodb_write`). The documents are read back into the domain here too
(:func:`record_of`, :func:`event_of`, :func:`link_of`, :func:`feed_entry_of`).
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime
from typing import Any

import orjson
from pymongo import ASCENDING, IndexModel

from membergraph.identity.feed import FeedEntry, kind_of
from membergraph.identity.line_records import card_record
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordData, RecordKey
from membergraph.identity.store.types import IdentityEvent, MemberParts, StoredLink, event_from

__all__ = [
    "GUARD",
    "WHOLE_STORE",
    "INDEXES",
    "Doc",
    "event_of",
    "feed_doc",
    "feed_entry_of",
    "feed_time",
    "guard_key",
    "json_value",
    "link_of",
    "lookup_ranks",
    "match_key",
    "membership",
    "parts_of",
    "record_doc",
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
        # /readyz counts the active links: an index range, not a scan of every link.
        IndexModel([("retracted_at", ASCENDING)]),
    ],
    "cannot_links": [IndexModel([("a_ref", ASCENDING)]), IndexModel([("b_ref", ASCENDING)])],
    "events": [
        IndexModel([("member_id", ASCENDING)]),
        IndexModel([("kind", ASCENDING)]),
        # The decisions about a conflict, read by each change that would raise it again;
        # events without the field are left out of the index.
        IndexModel([("evidence.conflict_id", ASCENDING)], sparse=True),
    ],
    "redirects": [IndexModel([("new_id", ASCENDING)])],  # the IDs merged into a member
    # A member's tail (multikey on member_ids, in cursor order); pruning by age; whether a
    # source's line has its entry.
    "feed": [
        IndexModel([("member_ids", ASCENDING), ("_id", ASCENDING)]),
        IndexModel([("value_tags", ASCENDING), ("_id", ASCENDING)]),  # kept answers' check
        IndexModel([("at", ASCENDING)]),
        IndexModel([("source", ASCENDING), ("line_id", ASCENDING)]),
    ],
    # The response cache's kept answers (mongodb_answers.py): by member read, oldest first,
    # by when they expire (those past it are dropped, those soon made again at it).
    "answers": [
        IndexModel([("members", ASCENDING)]),
        IndexModel([("at", ASCENDING)]),
        IndexModel([("expires", ASCENDING)]),
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


GUARD = "value:"
"""Prefix of a value guard's key among a change's versions (a member ID never has it)."""
GUARD_BUCKETS = 1 << 20
WHOLE_STORE = f"{GUARD}whole-store"
"""The guard every whole-store resolution reads first and writes: two of them at once (two
gateways starting over one database) conflict, and the second computes again."""


def guard_key(kind: str, key: str) -> str:
    """The key of the guard an identifier value shares with others: ``value:3fa2c``.

    One of :data:`GUARD_BUCKETS` buckets, not the value itself: the guards must hold no
    personal data (an erased member's e-mail may not survive in them), and with a million
    buckets each holds many values, so a guard says nothing about any one of them. Two
    values sharing a bucket at worst make two unrelated changes conflict once.
    """
    digest = hashlib.blake2b(f"{kind}:{key}".encode(), digest_size=8).digest()
    return f"{GUARD}{int.from_bytes(digest) % GUARD_BUCKETS:05x}"


def json_value(value: Any) -> Any:
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
        "days": _days(record.days),
        "email_days": _email_days(record.email_days),
        "version": record.version,
        "identifiers": ordered,
        "match_keys": sorted({match_key(i["kind"], i["key"]) for i in ordered}),
    }
    doc.update(membership(stored, member))
    return doc


def _days(days: dict[str, frozenset[str]] | None) -> Doc | None:
    """A purchase record's purchases by day (``RecordData.days``): each day's line ids."""
    return {day: sorted(ids) for day, ids in days.items()} if days else None


def _email_days(emails: dict[str, frozenset[str]] | None) -> list[Doc] | None:
    """A card's e-mails by day (``RecordData.email_days``): a list, not a document keyed by
    address, as a field name holding dots is refused by update paths."""
    if not emails:
        return None
    return [{"email": email, "days": sorted(days)} for email, days in sorted(emails.items())]


def membership(stored: Doc | None, member: str | None) -> Doc:
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
        # Only when there are some (``feed_entry_of`` reads an absent field as none).
        **({"value_tags": list(entry.value_tags)} if entry.value_tags else {}),
    }


# -- documents back into the domain ----------------------------------------------------


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
        days={d: frozenset(ids) for d, ids in doc["days"].items()} if doc.get("days") else None,
        email_days={e["email"]: frozenset(e["days"]) for e in doc["email_days"]}
        if doc.get("email_days")
        else None,
        version=doc.get("version"),
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
        kind=kind_of(doc["kind"]),
        member_ids=tuple(doc["member_ids"]),
        at=datetime.fromisoformat(doc["at"]),
        actor=doc.get("actor"),
        reason=doc.get("reason"),
        source=doc.get("source"),
        line_id=doc.get("line_id"),
        value_tags=tuple(doc.get("value_tags", ())),
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


def parts_of(docs: list[Doc]) -> MemberParts:
    pairs = [
        (split_id(d["_id"]), Identifier(IdentifierKind(i["kind"]), i["key"], i["value"], i["via"]))
        for d in docs
        for i in d["identifiers"]
    ]
    pairs.sort(key=lambda p: (p[1].kind.value, p[1].value, p[0]))
    return MemberParts(sorted(split_id(d["_id"]) for d in docs), pairs)


def lookup_ranks(docs: list[Doc], kind: str, key: str) -> dict[str, int]:
    """Each member's rank as a holder of an identifier (the port's ``ranked_members``), from
    the records carrying its match key: 0 holds the card's own record, 1 holds the value on a
    profile record, 2 on a leaf only. What an agent typed never answers a lookup."""
    own = card_record(kind, key)
    rank: dict[str, int] = {}
    for d in docs:
        if d.get("member_id") and any(
            i["kind"] == kind and i["key"] == key and i["via"] != "agent" for i in d["identifiers"]
        ):
            is_card = d["source"] == "transactions" and d["key"] == own
            mine = 0 if is_card else 1 if d["role"] == "profile" else 2
            rank[d["member_id"]] = min(mine, rank.get(d["member_id"], 2))
    return rank

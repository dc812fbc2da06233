"""The MongoDB store's scoring pass, as the SQLite store's (``sqlite_scoring``): each score's
four quintile cut documents found by the server down an index in the score's ranking order,
and only the documents that can have moved scored again: those measured since the last pass
(``unscored``) and those between a cut's document then and now. Segments are found again
for the documents whose scores moved.

Ranking every member per pass (a ``$setWindowFields`` + ``$merge`` pipeline per score, or
sorted pages on a server without them) wrote every document five times after each change
the feed brought.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel, UpdateOne

from membergraph.identity.store.metrics_port import RANKS, Cuts, SegmentRules
from membergraph.identity.store.mongodb_query import segment_filters
from membergraph.identity.store.mongodb_read import chunks

__all__ = ["RANK_INDEXES", "score_pass"]

Doc = dict[str, Any]

_KEYS = {column: (*order, "_id") for column, (_, order) in RANKS.items()}
_FIELDS = sorted({f for key in _KEYS.values() for f in key} | {r for r, _ in RANKS.values()})
RANK_INDEXES = [
    *(IndexModel([(f, ASCENDING) for f in key]) for key in _KEYS.values()),
    IndexModel([("unscored", ASCENDING)], sparse=True),
]
"""An index per score in its ranking order (a cut is a step down it), and the documents
measured since the last pass."""


Keep = Callable[[], Awaitable[None]]
"""What a pass awaits before each of its writes (``mongodb_lease.Lease.keep``)."""


def _key(doc: Doc, column: str) -> tuple[Any, ...]:
    return tuple(doc[f] for f in _KEYS[column])


async def _cuts(collection: Any, column: str) -> list[tuple[Any, ...]]:
    """The documents ranked first below each quintile (``insights.rfm.quintile``: the one
    at offset o from the best scores 5 - 5 * o // ranked, so one loses a point at each
    offset ceil(j * ranked / 5))."""
    ranked = {RANKS[column][0]: {"$gt": 0}}
    count = await collection.count_documents(ranked)
    best_first = [(f, DESCENDING) for f in _KEYS[column]]
    cuts = []
    for j in range(1, 5):
        offset = (j * count + 4) // 5
        if offset >= count:
            break
        found = await (
            collection.find(ranked, projection=list(_KEYS[column]))
            .sort(best_first)
            .skip(offset)
            .limit(1)
            .to_list()
        )
        if not found:  # another process removed members since the count: fewer cuts, and
            break  # the next pass, finding another number of them, scores everyone
        cuts.append(_key(found[0], column))
    return cuts


def _scores(doc: Doc, cuts: Cuts) -> dict[str, int]:
    """A document's scores: 5, less one for each cut it is at or after."""
    return {
        column: 5 - sum(_key(doc, column) <= cut for cut in cuts[column]) if doc[ranked] > 0 else 1
        for column, (ranked, _) in RANKS.items()
    }


def _at_least(fields: Sequence[str], key: Sequence[Any], strict: bool = False) -> Doc:
    """Documents whose ``fields`` are ``key`` or after it, compared in order."""
    last = "$gt" if strict else "$gte"
    return {
        "$or": [
            {
                **{f: v for f, v in zip(fields[:i], key, strict=False)},
                fields[i]: {"$gt" if i < len(fields) - 1 else last: key[i]},
            }
            for i in range(len(fields))
        ]
    }


def _between(column: str, low: tuple[Any, ...], high: tuple[Any, ...]) -> Doc:
    fields = _KEYS[column]
    return {"$and": [_at_least(fields, low), {"$nor": [_at_least(fields, high, strict=True)]}]}


async def score_pass(
    collection: Any,
    rules: SegmentRules,
    same_rules: bool,
    since: Cuts | None,
    keep: Keep,
) -> Cuts:
    """Scores and segments brought up to date with the documents (``since``: the cuts they
    were last scored with; ``same_rules``: whether the segments were found by ``rules``);
    the cuts they are scored with now. No transaction holds it: the caller forgets the
    cuts before a pass and keeps the new ones after it, so a pass that fails part-way
    (its documents' marks cleared, some scores written, their segments not) is followed by
    one over every document. ``keep`` is awaited before each write (the caller's lease
    renewed, or the pass ended if another process took it over)."""
    cuts = {column: await _cuts(collection, column) for column in RANKS}
    unscored = {d["_id"] async for d in collection.find({"unscored": True}, projection=["_id"])}
    # Their marks go before they are read: a document another process measures meanwhile
    # is read as measured, or keeps its new mark for the next pass (a mark cleared after
    # the reads was lost with it: the document kept the scores of no one).
    for chunk in chunks(sorted(unscored)):
        await keep()
        await collection.update_many({"_id": {"$in": chunk}}, {"$unset": {"unscored": ""}})
    wanted: dict[str, Doc] = {}
    if since is None or any(len(since.get(c, ())) != len(cuts[c]) for c in cuts):
        scope: Doc | None = {}  # every document
    else:
        moved_cuts = [
            _between(column, *sorted((was, cut)))
            for column in cuts
            for was, cut in zip(since[column], cuts[column], strict=True)
            if was != cut
        ]
        scope = {"$or": moved_cuts} if moved_cuts else None
    if scope is not None:
        async for doc in collection.find(scope, projection=[*_FIELDS, *RANKS]):
            wanted[doc["_id"]] = doc
    for chunk in chunks(sorted(unscored - wanted.keys())):
        async for doc in collection.find({"_id": {"$in": chunk}}, projection=[*_FIELDS, *RANKS]):
            wanted[doc["_id"]] = doc
    moved: set[str] = set()
    writes = []
    for member, doc in wanted.items():
        scores = _scores(doc, cuts)
        changed = {c: s for c, s in scores.items() if doc.get(c) != s}
        if changed:
            moved.add(member)
            writes.append(UpdateOne({"_id": member}, {"$set": changed}))
    for page in chunks(writes):
        await keep()
        await collection.bulk_write(page, ordered=False)
    everyone = not same_rules or scope == {}
    await _resegment(collection, rules, None if everyone else moved | unscored, keep)
    return cuts


async def _resegment(
    collection: Any, rules: SegmentRules, members: set[str] | None, keep: Keep
) -> None:
    """Segments found again for ``members`` (None: everyone), writing only differences."""
    conditions = segment_filters(rules)
    scopes: list[Doc] = (
        [{}] if members is None else [{"_id": {"$in": list(c)}} for c in chunks(sorted(members))]
    )
    if members is None:  # segments the rules no longer have
        await keep()
        await collection.update_many({}, {"$pull": {"segments": {"$nin": list(conditions)}}})
    for scope in scopes:
        for segment, condition in conditions.items():
            await keep()
            await collection.update_many(
                {"$and": [scope, condition, {"segments": {"$ne": segment}}]},
                {"$addToSet": {"segments": segment}},
            )
            await collection.update_many(
                {"$and": [scope, {"$nor": [condition]}, {"segments": segment}]},
                {"$pull": {"segments": segment}},
            )

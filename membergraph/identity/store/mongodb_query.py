"""A :class:`MemberQuery` and the segments' conditions as MongoDB filters over the
``member_metrics`` documents (the same conditions as ``metrics_port.segment_rules``), and a
:class:`ConflictQuery` as stages over the identity events."""

from __future__ import annotations

from typing import Any

from membergraph.identity.store.conflict_state import REOPENED, RESOLVED, ConflictState
from membergraph.identity.store.metrics_port import ConflictQuery, MemberQuery, Range, SegmentRules

__all__ = ["conflict_filter", "conflict_states", "member_filter", "segment_filters"]

Doc = dict[str, Any]


def _range(bounds: Range | None) -> Doc | None:
    if bounds is None:
        return None
    found: Doc = {}
    if bounds.low is not None:
        found["$gte"] = bounds.low
    if bounds.high is not None:
        found["$lte"] = bounds.high
    return found or None


def member_filter(query: MemberQuery) -> Doc:
    found: Doc = {}
    for field, value in (
        ("segments", query.segment),
        ("tier", query.tier),
        ("sources", query.source),
        ("consented", query.consented),
        ("reachable", query.reachable),
    ):
        if value is not None:
            found[field] = value
    for field, bounds in (
        ("lifetime_spend_cents", query.lifetime_spend_cents),
        ("monetary_cents", query.monetary_cents),
        ("points_balance", query.points_balance),
    ):
        condition = _range(bounds)
        if condition is not None:
            found[field] = condition
    if query.last_purchase_at is not None:
        found["last_purchase_at"] = {"$gt": 0, **(_range(query.last_purchase_at) or {})}
    return found


def segment_filters(rules: SegmentRules) -> dict[str, Doc]:
    """Each segment's condition over a document's scores, figures and days."""
    recent = {"recency_days": {"$ne": None, "$lt": rules.at_risk_days}}
    high = {"r": {"$gte": 4}, "f": {"$gte": 4}, "m": {"$gte": 4}, "e": {"$gte": 4}}
    return {
        "HYPERACTIVE": {**high, **recent},
        "LOYAL": {"f": {"$gte": 4}, "r": {"$gte": 3}, **recent},
        "NEW": {"first_purchase_days": {"$ne": None, "$lte": rules.new_days}},
        "AT_RISK": {"recency_days": {"$ne": None, "$gte": rules.at_risk_days}, "f": {"$gte": 3}},
        "ZOMBIE": {"last_activity_days": {"$ne": None, "$gte": rules.dormant_days}},
        "FADING_STAR": {"p": {"$gte": 5}, "declining": 1},
    }


def conflict_filter(query: ConflictQuery) -> Doc:
    """The conflict events matching ``query``, whatever their state."""
    found: Doc = {"kind": "conflict"}
    if query.kind is not None:
        found["rule"] = query.kind
    at: Doc = {}
    if query.since is not None:
        at["$gte"] = query.since.isoformat()
    if query.until is not None:
        at["$lt"] = query.until.isoformat()
    if at:
        found["at"] = at
    if query.member_id is not None:
        found["member_id"] = query.member_id
    return found


def conflict_states(state: ConflictState) -> list[Doc]:
    """The stages keeping the conflicts in ``state``: each one's events are looked up down
    the sparse index on ``evidence.conflict_id`` (a link's ``steward`` event names it too),
    and its newest decision says (``conflict_state``): resolved if it closed it. (No
    ``$reduce``, ``$sortArray`` nor ``$lookup`` sub-pipeline: the tests' emulation has none.)"""
    if state == "all":
        return []
    newest = {"$gt" if state == "resolved" else "$lte": [
        {"$ifNull": ["$_closed", 0]}, {"$ifNull": ["$_opened", 0]}
    ]}  # fmt: skip

    def decided(kind: str) -> Doc:
        return {"$filter": {"input": "$_named", "cond": {"$eq": ["$$this.kind", kind]}}}

    return [
        {"$lookup": {"from": "events", "localField": "_id",
                     "foreignField": "evidence.conflict_id", "as": "_named"}},
        {"$addFields": {"_closed": decided(RESOLVED), "_opened": decided(REOPENED)}},
        {"$addFields": {"_closed": {"$max": "$_closed._id"}, "_opened": {"$max": "$_opened._id"}}},
        {"$match": {"$expr": newest}},
        {"$project": {"_named": 0, "_closed": 0, "_opened": 0}},
    ]  # fmt: skip

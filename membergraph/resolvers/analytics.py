"""The analyst's questions over many members: filtered and ordered pages, aggregates, and
the identity conflicts, each answered by the store (``store.metrics()``), never by loading
members into the process.

Cursors are keysets: a page's cursor holds the order (field and direction) and the last
member's value and ID, so the next page starts right after it whatever changed meanwhile,
and a cursor of another order is refused. A conflict's cursor holds the last event's ID, the
order and a digest of the filter it was given under: a conflict decided between pages leaves
the open queue without moving the others, and the same ID means another place in another
list, so a cursor of another order or filter is refused, saying which.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict

import orjson

from membergraph.identity.ids import is_member_id
from membergraph.identity.store.metrics_port import (
    ConflictQuery,
    GroupKey,
    MemberQuery,
    MetricsStore,
    OrderField,
    StatsRow,
)
from membergraph.identity.store.port import IdentityEvent
from membergraph.resolvers.context import RequestContext
from membergraph.resolvers.errors import bad_input
from membergraph.resolvers.members import MemberView, _no_lists_for_one_member
from membergraph.resolvers.paging import Cursors, Page, check_first
from membergraph.resolvers.store_keys import list_cursors

__all__ = ["conflict_page", "member_stats", "ranked_members"]


async def _metrics(ctx: RequestContext) -> MetricsStore:
    """The store's metrics, caught up with the feed (read-your-writes for analysts)."""
    _no_lists_for_one_member(ctx)
    keeper = ctx.gateway.scores
    if keeper is None:
        return ctx.gateway.identity.store.metrics()
    await keeper.catch_up()
    return keeper.metrics


def _keyset(
    order: OrderField, descending: bool, after: str | None, cursors: Cursors
) -> tuple[int | str, str] | None:
    if after is None:
        return None
    try:
        field, down, value, member = orjson.loads(cursors.open(after))
    except (orjson.JSONDecodeError, ValueError, TypeError):
        raise bad_input(f"invalid cursor {after!r}", argument="after") from None
    if (field, down) != (order.value, descending) or not isinstance(member, str):
        raise bad_input(f"cursor {after!r} belongs to another order of this list", argument="after")
    if not _fits(order, value) or not is_member_id(member):
        raise bad_input(f"invalid cursor {after!r}", argument="after")
    return value, member


def _fits(order: OrderField, value: object) -> bool:
    """Whether a cursor's value is one the order's column holds (a member ID, a date's
    text, else a 64-bit integer): a cursor built by hand around anything else is refused,
    never paged on from wherever the store would sort it."""
    if order is OrderField.MEMBER_ID:
        return isinstance(value, str) and is_member_id(value)
    if order is OrderField.MEMBER_SINCE:
        return isinstance(value, str)
    return type(value) is int and -(2**63) <= value < 2**63


async def ranked_members(
    ctx: RequestContext,
    query: MemberQuery,
    order: OrderField,
    descending: bool,
    first: int,
    after: str | None,
) -> Page[MemberView]:
    """``members`` with filters beyond the source, or an order: the store's keyset page."""
    check_first(first, ctx.gateway.settings.max_page_size)
    cursors = await list_cursors(ctx, "ranked", "members")
    keyset = _keyset(order, descending, after, cursors)
    metrics = await _metrics(ctx)
    found = await metrics.page(query, order, descending, keyset, first + 1)
    total = await metrics.count(query)
    items = [
        (
            cursors.make(orjson.dumps([order.value, descending, v, m]).decode()),
            MemberView(m, m),
        )
        for m, v in found[:first]
    ]
    return Page(items, total, len(found) > first, keyset is not None)


async def member_stats(
    ctx: RequestContext, query: MemberQuery, group_by: Sequence[GroupKey]
) -> list[StatsRow]:
    if len(set(group_by)) != len(group_by):
        raise bad_input("groupBy names a dimension twice", argument="groupBy")
    return await (await _metrics(ctx)).stats(query, group_by)


async def conflict_page(
    ctx: RequestContext,
    query: ConflictQuery,
    first: int,
    after: str | None,
    oldest_first: bool = False,
) -> Page[IdentityEvent]:
    """``identityConflicts``: newest first (or oldest), by keyset on the event id."""
    check_first(first, ctx.gateway.settings.max_page_size)
    order = "oldest" if oldest_first else "newest"
    cursors = await list_cursors(ctx, _CONFLICT, "identityConflicts")
    before = None if after is None else _conflict_after(after, order, query, cursors)
    _no_lists_for_one_member(ctx)
    metrics = ctx.gateway.identity.store.metrics()
    found = await metrics.conflicts(query, before, first + 1, oldest_first)
    total = await metrics.count_conflicts(query)
    tag = _filter_tag(query)
    items = [(cursors.make(orjson.dumps([order, tag, e.id]).decode()), e) for e in found[:first]]
    return Page(items, total, len(found) > first, before is not None)


_CONFLICT = "conflict"
_AGAIN = "or start again without `after`"


def _filter_tag(query: ConflictQuery) -> str:
    """A digest of the filter a conflict cursor was given under (moments in UTC already)."""
    return hashlib.blake2b(orjson.dumps(asdict(query)), digest_size=6).hexdigest()


def _conflict_after(after: str, order: str, query: ConflictQuery, cursors: Cursors) -> int:
    """The event ID a conflict cursor reads on after, refused (saying why) when the cursor
    was given under another order or filter: the same ID is another place there."""
    try:
        made_order, tag, event_id = orjson.loads(cursors.open(after))
    except (orjson.JSONDecodeError, ValueError, TypeError):
        made_order = tag = event_id = None
    if not (
        made_order in ("newest", "oldest")
        and isinstance(tag, str)
        and isinstance(event_id, int)
        and not isinstance(event_id, bool)
        and 0 <= event_id < 1 << 63
    ):
        raise bad_input(
            f"invalid cursor {after!r}: pass back an edge's `cursor` or the `endCursor` of "
            "`identityConflicts` as it came",
            argument="after",
        )
    if made_order != order:
        raise bad_input(
            f"this cursor reads on the list in orderBy: {made_order.upper()}, not "
            f"{order.upper()}: ask with the orderBy it was given under, {_AGAIN}",
            argument="after",
        )
    if tag != _filter_tag(query):
        raise bad_input(
            "this cursor reads on the list under another filter (kind, since, until, "
            f"memberId or state): ask with the filter it was given under, {_AGAIN}",
            argument="after",
        )
    return event_id

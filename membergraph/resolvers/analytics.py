"""The analyst's questions over many members: filtered and ordered pages, aggregates, and
the identity conflicts, each answered by the store (``store.metrics()``), never by loading
members into the process.

Cursors are keysets: a page's cursor holds the order (field and direction) and the last
member's value and ID, so the next page starts right after it whatever changed meanwhile,
and a cursor of another order is refused.
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

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
from membergraph.resolvers.paging import Page, check_first, decode_cursor, encode_cursor

__all__ = ["conflict_page", "member_stats", "ranked_members"]


async def _metrics(ctx: RequestContext) -> MetricsStore:
    """The store's metrics, caught up with the feed (read-your-writes for analysts)."""
    _no_lists_for_one_member(ctx)
    keeper = ctx.gateway.scores
    if keeper is None:
        return ctx.gateway.identity.store.metrics()
    await keeper.catch_up()
    return keeper.metrics


def _keyset(order: OrderField, descending: bool, after: str | None) -> tuple[int | str, str] | None:
    if after is None:
        return None
    try:
        field, down, value, member = orjson.loads(decode_cursor("ranked", after))
    except (orjson.JSONDecodeError, ValueError, TypeError):
        raise bad_input(f"invalid cursor {after!r}", argument="after") from None
    if (field, down) != (order.value, descending) or not isinstance(member, str):
        raise bad_input(f"cursor {after!r} belongs to another order of this list", argument="after")
    if not isinstance(value, int | str) or isinstance(value, bool):
        raise bad_input(f"invalid cursor {after!r}", argument="after")
    return value, member


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
    keyset = _keyset(order, descending, after)
    metrics = await _metrics(ctx)
    found = await metrics.page(query, order, descending, keyset, first + 1)
    total = await metrics.count(query)
    items = [
        (
            encode_cursor("ranked", orjson.dumps([order.value, descending, v, m]).decode()),
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
    before = None
    if after is not None:
        value = decode_cursor("conflict", after)
        if not (value.isascii() and value.isdigit() and len(value) <= 18):
            raise bad_input(f"invalid cursor {after!r}", argument="after")
        before = int(value)
    _no_lists_for_one_member(ctx)
    metrics = ctx.gateway.identity.store.metrics()
    found = await metrics.conflicts(query, before, first + 1, oldest_first)
    total = await metrics.count_conflicts(query)
    items = [(encode_cursor("conflict", str(e.id)), e) for e in found[:first]]
    return Page(items, total, len(found) > first, before is not None)

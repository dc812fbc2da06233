"""Member resolvers: a member by ID, pages of members, and a member's records, identifiers,
lines and identity history. They return domain objects and reach backends only through
loaders; a member by identifier is :mod:`~membergraph.resolvers.member_lookup`."""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from membergraph.auth import caller_of
from membergraph.connectors.base import ConnectorError
from membergraph.connectors.models import (
    CallInteraction,
    SourceName,
    Transaction,
    WebEvent,
)
from membergraph.identity.ids import is_member_id
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.placeholders import CONTACT_KINDS, Placeholders
from membergraph.identity.records import Identifier, RecordKey
from membergraph.identity.service import FoundMember
from membergraph.identity.steward_request import Moves
from membergraph.identity.store.port import StoredLink
from membergraph.resolvers.context import RequestContext, load_many
from membergraph.resolvers.errors import CodedError, bad_input, source_failed
from membergraph.resolvers.paging import Cursors, Page, Window, check_first, page_by_key
from membergraph.resolvers.store_keys import list_cursors

__all__ = [
    "MemberView",
    "bound_member",
    "call_interactions",
    "check_window",
    "get_member",
    "hold_parts",
    "identifiers",
    "lines_of",
    "placeholders",
    "page_members",
    "records",
    "say_if_erased",
    "transactions",
    "web_activity",
]


@dataclass(frozen=True, slots=True)
class MemberView:
    """A live member, and the ID it was asked by (an ID merged away redirects here); in a
    steward change's answer, with its :class:`Moves` (a dry run's: a member as the change
    would leave it)."""

    id: str
    requested_id: str
    moves: Moves | None = field(default=None, compare=False)

    @property
    def redirected_from(self) -> str | None:
        return self.requested_id if self.requested_id != self.id else None

    @property
    def shown(self) -> tuple[str, ...]:
        """The members whose personal data its fields show (the access log's): itself, or
        for a steward change's member the members before it whose records it holds, and
        itself unless a dry run would make it."""
        return (self.id,) if self.moves is None else self.moves.shown


async def bound_member(ctx: RequestContext) -> str | None:
    """The live member a frontend app's token is bound to (None: not bound). The token names
    the member it was issued for; once that ID is merged away, its member is the survivor
    the ID redirects to (the same person, now with more records), not nobody."""
    own = caller_of(ctx.request).member_id
    if own is None:
        return None
    return await ctx.gateway.identity.store.resolve_member_id(own) or own


async def _own_member_only(ctx: RequestContext, member_id: str | None) -> None:
    """A frontend app's member-scoped token reads its own member and nobody else."""
    own = await bound_member(ctx)
    if own is not None and member_id is not None and member_id != own:
        raise CodedError("this token may read only its own member", "FORBIDDEN")


def _no_lists_for_one_member(ctx: RequestContext) -> None:
    if caller_of(ctx.request).member_id is not None:
        raise CodedError("this token may read only its own member", "FORBIDDEN")


async def get_member(ctx: RequestContext, member_id: str) -> MemberView | None:
    """``member(id:)``: follows the redirect of a merged-away ID; unknown is None. Read as
    a lookup by identifier reads its member
    (:func:`~membergraph.resolvers.member_lookup.find_member`): in one trip."""
    found = await ctx.gateway.identity.member_parts_by_id(member_id)
    live = found.member if found else None
    await _own_member_only(ctx, live or member_id)
    if not found:
        ctx.reads.nobody()
        return None
    hold_parts(ctx, found)
    ctx.reads.member(found.member, member_id)
    return MemberView(found.member, member_id)


ERASED_MAY_KNOW = ("identity:write", "privacy:admin")
"""Scopes told that an ID naming no one was erased (a steward, the DPO): they see erasures
in the change feed and the privacy requests already."""


async def say_if_erased(ctx: RequestContext, member_id: str) -> None:
    """``member(id:)`` of an ID that names no live member: ``ERASED`` when it was erased and
    the caller may know it (the member's own token, a steward, the DPO), else nothing, as
    for an ID that never was (null, no error). Whether an ID ever existed is itself personal
    data: a member ID is an unkeyed hash of a record key, which may be an e-mail or a card
    (:mod:`membergraph.identity.store.tombstones`), and "erased" would tell whoever derives
    one that its owner asked to be forgotten. One read of the tombstones, for those callers
    only.

    Raises:
        CodedError: ``ERASED`` as said.
    """
    caller = caller_of(ctx.request)
    may_know = caller.member_id == member_id or any(map(caller.can, ERASED_MAY_KNOW))
    if not may_know or not is_member_id(member_id):
        return
    if member_id in await ctx.gateway.identity.store.taken_member_ids([member_id]):
        said = f"member {member_id} was erased (a privacy erasure): nothing of it is left"
        raise CodedError(said, "ERASED")


def hold_parts(ctx: RequestContext, found: FoundMember) -> None:
    """What was read with a member's lookup, in the same trip, for the request's loaders:
    its parts, whether each of its e-mails and phones is a placeholder (what the profile's
    check would read next), and where the sources share the store's file, its lines."""
    ctx.loaders.member_parts.prime(found.member, found.parts)
    ctx.loaders.placeholder.prime_many(found.placeholders)
    ctx.loaders.hold_beside_lookup(found.beside)


async def page_members(
    ctx: RequestContext, first: int, after: str | None, source: SourceName | None
) -> Page[MemberView]:
    """``members``: ordered by ID, paged by opaque cursor."""
    _no_lists_for_one_member(ctx)
    check_first(first, ctx.gateway.settings.max_page_size)
    ctx.reads.nobody()  # which members a page holds changes with members no entry names
    store = ctx.gateway.identity.store
    cursors = await list_cursors(ctx, "member", "members")
    start = _member_after(after, cursors)
    source_name = source.value if source else None
    ids = await store.page_members(start, first + 1, source_name)
    total = await store.count_members(source_name)
    items = [(cursors.make(m), MemberView(m, m)) for m in ids[:first]]
    return Page(items, total, len(ids) > first, start is not None)


def _member_after(after: str | None, cursors: Cursors) -> str | None:
    """The member ID inside a ``members`` cursor. Only a cursor the gateway made is taken
    (one whose member was merged away or erased since still pages on from its place): one
    built by hand, foreign or broken is BAD_USER_INPUT."""
    if not after:
        return None
    start = cursors.open(after)
    if not is_member_id(start):
        raise bad_input(f"invalid cursor {after!r}", argument="after")
    return start


async def records(ctx: RequestContext, member: MemberView) -> list[RecordKey]:
    return (await ctx.loaders.member_parts.load(member.id)).records


async def identifiers(
    ctx: RequestContext, member: MemberView
) -> list[tuple[RecordKey, Identifier]]:
    return (await ctx.loaders.member_parts.load(member.id)).identifiers


async def placeholders(
    ctx: RequestContext, idents: Sequence[tuple[RecordKey, Identifier]]
) -> Placeholders:
    """Which of a member's identifiers identify no one: the rules' blocklist and the values
    the data reveals as placeholders (one read for a request's members)."""
    values = sorted({(i.kind, i.key) for _, i in idents if i.kind in CONTACT_KINDS})
    flags = await ctx.loaders.placeholder_flags(values)
    revealed = {v for v, flag in zip(values, flags, strict=True) if flag}
    # One more carrier (another member's line) may make a value a placeholder, which this
    # answer leaves out: it is dropped by a change touching the value (identity/value_tags.py).
    # (Not a placeholder's: more carriers keep it one, and a store's is on hundreds.)
    for kind, key in set(values) - revealed:
        ctx.reads.value(kind, key)
    return lambda kind, key: (kind, key) in revealed


def lines_held(
    ctx: RequestContext, refs: Sequence[RecordKey], source: SourceName
) -> list[Any] | None:
    """:func:`_lines` without a wait: the lines of one source that belong to ``refs`` (a
    member's records) when the store read them beside the member's lookup, or when none
    are asked; None: they are to be loaded."""
    wanted = source.value
    keys = [key for src, key in refs if src == wanted]
    if not keys or source not in ctx.loaders.lines:
        return []
    held = ctx.loaders.held_lines(source, keys)
    return None if held is None else [line for group in held for line in group]


async def _lines(ctx: RequestContext, member: MemberView, source: SourceName) -> list[Any]:
    """The lines of one source that belong to the member's records."""
    return await lines_of(ctx, await records(ctx, member), source)


async def lines_of(ctx: RequestContext, refs: Sequence[RecordKey], source: SourceName) -> list[Any]:
    """The lines of one source that belong to ``refs`` (a member's records)."""
    held = lines_held(ctx, refs, source)
    if held is not None:
        return held
    wanted = source.value
    keys = [key for src, key in refs if src == wanted]
    loader = ctx.loaders.lines[source]
    try:
        # A member's records of one source are mostly one (a contact, a card, a visitor):
        # its future alone, not asyncio's gather around it (a future, a task-like
        # callback per key and a result list, on every read of the profile's four sources).
        if len(keys) == 1:
            groups: Sequence[list[BaseModel]] = [await loader.load(keys[0])]
        else:
            groups = await load_many(loader, keys)
    except ConnectorError as exc:
        raise source_failed(exc) from None
    return [line for group in groups for line in group]


async def _transactions(ctx: RequestContext, member: MemberView) -> list[Transaction]:
    lines: list[Transaction] = await _lines(ctx, member, SourceName.TRANSACTIONS)
    return sorted(lines, key=_tx_key, reverse=True)


async def transactions(ctx: RequestContext, member: MemberView, asked: Window) -> Page[Transaction]:
    """The member's transactions, newest first (cursors good for this member's only)."""
    check_window(ctx, asked)
    cursors = await list_cursors(ctx, "tx", "transactions", member.id, member.requested_id)
    return page_by_key(await _transactions(ctx, member), asked, cursors, _tx_key)


def check_window(ctx: RequestContext, asked: Window) -> None:
    """Refuse page sizes over the limit, naming the argument."""
    for size, name in ((asked.first, "first"), (asked.last, "last")):
        if size is not None:
            check_first(size, ctx.gateway.settings.max_page_size, name)


def _tx_key(tx: Transaction) -> tuple[float | str, ...]:
    return (tx.occurred_at.timestamp(), tx.transaction_id)


async def web_activity(ctx: RequestContext, member: MemberView, first: int) -> list[WebEvent]:
    """The member's most recent web events."""
    check_first(first, ctx.gateway.settings.max_page_size)
    events: list[WebEvent] = await _lines(ctx, member, SourceName.WEB_ANALYTICS)
    return sorted(events, key=lambda e: (e.occurred_at, e.event_id), reverse=True)[:first]


async def call_interactions(
    ctx: RequestContext, member: MemberView, first: int
) -> list[CallInteraction]:
    """The member's call-center interactions, newest first."""
    check_first(first, ctx.gateway.settings.max_page_size)
    calls: list[CallInteraction] = await _lines(ctx, member, SourceName.CALL_CENTER)
    return sorted(calls, key=lambda c: (c.started_at, c.interaction_id), reverse=True)[:first]


def group_identifiers(
    pairs: Sequence[tuple[RecordKey, Identifier]],
) -> list[tuple[IdentifierKind, str, list[RecordKey]]]:
    """One entry per identifier value, with the records that carry it."""
    grouped: dict[tuple[IdentifierKind, str], list[RecordKey]] = defaultdict(list)
    for ref, ident in pairs:
        if ref not in grouped[(ident.kind, ident.value)]:
            grouped[(ident.kind, ident.value)].append(ref)
    return [(kind, value, refs) for (kind, value), refs in sorted(grouped.items())]


async def explain(
    ctx: RequestContext, member: MemberView, ref: RecordKey
) -> list[StoredLink] | None:
    """Why a record belongs to the member: the chain of active links from the member's
    anchor (its first CRM contact, else its first record) to the record; None if the
    record is not the member's."""
    refs = await records(ctx, member)
    if ref not in refs:
        return None
    anchor = min((r for r in refs if r[0] == SourceName.CRM.value), default=min(refs))
    links = await ctx.gateway.identity.store.active_links(refs)
    adjacent: dict[RecordKey, list[StoredLink]] = defaultdict(list)
    for link in links:
        adjacent[link.a].append(link)
        adjacent[link.b].append(link)
    came_by: dict[RecordKey, StoredLink | None] = {anchor: None}
    queue = deque([anchor])
    while queue:
        here = queue.popleft()
        for link in adjacent[here]:
            there = link.b if link.a == here else link.a
            if there not in came_by:
                came_by[there] = link
                queue.append(there)
    path: list[StoredLink] = []
    step = ref
    while (back := came_by.get(step)) is not None:
        path.append(back)
        step = back.b if back.a == step else back.a
    return list(reversed(path))

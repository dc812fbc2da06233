"""A member's identity history as a steward reads it, and which of its events ``undo`` no
longer takes.

The store writes an event under one member: a steward's change under the member it acted on
(:mod:`~membergraph.identity.steward_record`). Once two members part (a split, an undone
link), the change that parted them is written under one of them only, yet it is the other's
history too, as a rejection of two members' contacts is both members': each member's
history lists the steward changes of the records it holds, wherever they are written."""

from __future__ import annotations

from collections.abc import Sequence

from membergraph.auth import caller_of
from membergraph.identity.history import merge_twins, one_per_merge, with_twins
from membergraph.identity.records import RecordKey
from membergraph.identity.steward_record import (
    STEWARD,
    deciding_members,
    merge_sides,
    parted_merges,
    undone_events,
)
from membergraph.identity.store.port import IdentityEvent
from membergraph.resolvers.context import RequestContext, load_many
from membergraph.resolvers.member_cursors import event_ids
from membergraph.resolvers.members import MemberView, identifiers, records
from membergraph.resolvers.own_member import own_history

__all__ = ["identity_history", "taken_back"]

# What a member's history tells of the changes written under another member: the steward
# changes, and a rejection's decision written with its steward event.
_TOLD = frozenset((STEWARD, "suggestion_rejected"))


async def identity_history(
    ctx: RequestContext, member: MemberView, own: bool = False
) -> list[IdentityEvent]:
    """The member's identity history, oldest first: the events of its ID and of every ID
    merged into it since (through any chain of redirects), each merge once, and the steward
    changes of its records written under another member (see the module). ``own``: without
    other members' records and values (a copy for its person: an access export), as a token
    bound to the member always reads it."""
    history = await ctx.loaders.member_events.load(member.id)
    events = one_per_merge(history, merge_twins(history, member.id))
    held = await records(ctx, member)
    events = sorted([*events, *await _told_elsewhere(ctx, member, history, held)], key=_by_id)
    if not own and caller_of(ctx.request).member_id is None:
        return events
    # Without other members' records; the IDs merged into its member are its member's own.
    # A member-bound token reads the events its evidence names sealed, as its events' own
    # IDs (the store's numbering counts every member's changes).
    pairs = await identifiers(ctx, member)
    own_ids = {member.id, member.requested_id, *(e.member_id for e in history)}
    return own_history(events, held, pairs, own_ids, await event_ids(ctx))


def _by_id(event: IdentityEvent) -> int:
    return event.id or 0


async def _told_elsewhere(
    ctx: RequestContext,
    member: MemberView,
    history: Sequence[IdentityEvent],
    held: Sequence[RecordKey],
) -> list[IdentityEvent]:
    """The steward changes naming a record the member holds, written under the other members
    its history names (those now holding the records its events name: the split that parted
    it from another member, written under that one, and what undid it) or holding a record a
    cannot-link kept apart from its own (a rejection of the pair written under the other
    member, with its decision, and what undid it)."""
    named: set[RecordKey] = set()
    for event in history:
        named.update(event.records)
        if event.kind == "merged":
            for side in merge_sides(event):
                named.update(side)
    for apart in await load_many(ctx.loaders.kept_apart, held):
        named.update(apart)
    mine = set(held)
    named -= mine  # the records its events name that another member holds now (if any)
    if not named:
        return []
    held_by = await _Assigned(ctx, member, held).assignments(sorted(named))
    others = set(held_by.values()) - {member.id}
    if not others:
        return []
    ctx.reads.member(*others)  # a change written there changes this answer
    seen = {e.id for e in history}
    return [
        event
        for found in await load_many(ctx.loaders.member_events, sorted(others))
        for event in found
        if event.kind in _TOLD and event.id not in seen and mine.intersection(event.records)
    ]


class _Assigned:
    """The member each record belongs to, read through the request's loader: a history and
    what it says undone ask of the same records (those its events name) once, and the
    member's own records are known to be its own without a read."""

    def __init__(self, ctx: RequestContext, member: MemberView, held: Sequence[RecordKey]) -> None:
        self.loader = ctx.loaders.record_member
        for ref in held:
            self.loader.prime(ref, member.id)

    async def assignments(self, refs: Sequence[RecordKey]) -> dict[RecordKey, str]:
        found = await load_many(self.loader, refs)
        return {ref: m for ref, m in zip(refs, found, strict=True) if m is not None}


async def taken_back(
    ctx: RequestContext, member: MemberView, events: Sequence[IdentityEvent]
) -> dict[int, int | None]:
    """The events of the member's history (``events``, as :func:`identity_history` shows
    them) that ``undo`` no longer takes: each undone one with the undo that took it back,
    and the merges whose sides it no longer joins (None: parted since by a split or an undo
    of the change that caused them). Read from the whole history (the loader holds it), so
    an undo of a merge's row left out counts for the row shown."""
    history = await ctx.loaders.member_events.load(member.id)
    held = await records(ctx, member)
    parted: dict[int, int | None] = dict.fromkeys(parted_merges(history, held))
    both = {e.id: e for found in (history, events) for e in found}
    undone = undone_events(both[k] for k in sorted(k for k in both if k is not None))
    standing = [e for e in both.values() if e.kind == STEWARD and e.id not in undone]
    if standing:
        # Their undos may be written elsewhere (undone while merged away): read where
        # ``undo`` looks, so the two agree.
        asked = await deciding_members(_Assigned(ctx, member, held), standing)
        for found in await load_many(ctx.loaders.member_events, asked):
            both.update((e.id, e) for e in found)
        undone = undone_events(both[k] for k in sorted(k for k in both if k is not None))
    taken = with_twins({**parted, **undone}, merge_twins(history, member.id))
    shown = {e.id for e in events}
    return {event_id: by for event_id, by in taken.items() if event_id in shown}

"""One scope of records resolved, and what changed written to the store.

A *scope* is the records a change may move: everything for a batch, an ingest's closure,
a steward's records and their closure. :func:`apply_scope` runs the engine on it, turns the
resolution into a :class:`~membergraph.identity.store.port.Change` (IDs kept, retired and
new; links; events; the feed's entries) and writes it, or only answers it (a dry run).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import chain, repeat
from typing import Any

from membergraph.identity.changes import (
    diff_links,
    feed_entries,
    member_changes,
    open_conflicts,
    record_events,
    undone_change,
)
from membergraph.identity.early_links import EarlyLinks, settle
from membergraph.identity.engine import Resolution, ValueKey, resolve
from membergraph.identity.events import MemberChange
from membergraph.identity.ids import IdAssignment, assign_member_ids
from membergraph.identity.records import RecordData, RecordKey, sorted_refs
from membergraph.identity.rules import Rules
from membergraph.identity.steward_record import steward_event
from membergraph.identity.store.port import Change, IdentityEvent, IdentityStore, ScopeState

__all__ = ["Adjustments", "ApplyResult", "Guard", "MembersUse", "apply_scope"]

_INLINE_SCOPE = 64  # records a resolution runs on the event loop's thread, at most
_UNDOES = frozenset(("undo", "undo_merge"))  # the steward actions that are an undo (undo.py)


@dataclass(slots=True)
class ApplyResult:
    """The outcome of resolving one scope."""

    members: int
    changes: list[MemberChange] = field(default_factory=list)
    assignments: dict[RecordKey, str] = field(default_factory=dict)
    member_of: dict[RecordKey, str] = field(default_factory=dict)
    before: Mapping[RecordKey, str] = field(default_factory=dict)
    """Each stored record of the scope and its member before the change."""
    scope: Mapping[RecordKey, RecordData] = field(default_factory=dict)
    """The records resolved: the change moves none outside them."""
    unattributed: Mapping[RecordKey, str] = field(default_factory=dict)
    """The records of the scope that identify no one, each with why: in no member."""


Pair = tuple[RecordKey, RecordKey]
MembersUse = Callable[[ApplyResult], Awaitable[object]]
Guard = Callable[[ApplyResult], None]


@dataclass(slots=True)
class Adjustments:
    """A steward's changes to the constraints, applied with the resolution they cause."""

    manual_add: list[tuple[RecordKey, RecordKey, dict[str, Any]]] = field(default_factory=list)
    manual_drop: set[frozenset[RecordKey]] = field(default_factory=set)
    cannot_add: list[Pair] = field(default_factory=list)
    cannot_lift: set[frozenset[RecordKey]] = field(default_factory=set)
    cannot_take: list[Pair] = field(default_factory=list)
    """Cannot-links held already that the change takes over as its own (a rejection of a
    pair a split keeps apart): nothing is written but its event, which lists them."""
    cannot_release: list[Pair] = field(default_factory=list)
    """Cannot-links a change took over, given back as they were (its undo): they stay."""
    reason: str | None = None
    events: list[IdentityEvent] = field(default_factory=list)
    action: str | None = None
    """The steward's action (link, split, ...): its constraints are kept as a ``steward``
    event (:mod:`~membergraph.identity.steward_record`), which ``undo`` reverses."""
    said: dict[str, Any] = field(default_factory=dict)  # more for that event's evidence
    anchor: RecordKey | None = None  # the event goes to this record's member's history
    versions: dict[str, int] = field(default_factory=dict)
    """Versions read before the steward's change was decided on (a conflict's owner, read
    before its decisions: :mod:`~membergraph.identity.steward_conflicts`): checked, and
    moved on, with the change."""
    home: str | None = None
    """The member whose history gets the event when the change leaves it live, before the
    anchor's: an undo goes beside the change it undoes."""
    closes: list[IdentityEvent] = field(default_factory=list)
    """Open conflicts this change closes (an undo, those its change raised; their decisions
    are in ``events``): recorded afresh if the resolution still refuses the same link."""
    closes_if_joined: bool = False
    """Close only those of ``closes`` whose records the change leaves in one member (a
    steward's link that moves records may part what it joins): the others stay open and
    their decisions in ``events`` are not written."""


async def apply_scope(
    store: IdentityStore,
    rules: Rules,
    scope: dict[RecordKey, RecordData],
    changed: set[RecordKey],
    hubs: frozenset[ValueKey],
    actor: str,
    whole: bool = False,
    adjust: Adjustments | None = None,
    while_storing: MembersUse | None = None,
    state: ScopeState | None = None,
    guard: Guard | None = None,
    dry_run: bool = False,
) -> ApplyResult:
    """Resolve ``scope`` and store what changed (``state``: the store's state of the scope,
    if it was read already).

    ``guard`` sees the outcome before anything is written and may refuse it by raising.
    With ``dry_run`` the outcome is worked out exactly as for the real change (the same
    IDs, moves and events) and nothing is written: a steward's preview.
    """
    assert not (whole and dry_run), "a whole-store resolution writes as it goes"
    adjust = adjust or Adjustments()
    if state is None:  # the whole store reads tables, not millions of keys
        state = await store.scope_state(None if whole else scope)
    manual = [
        (link.a, link.b, link.evidence)
        for link in state.active
        if link.rule == "manual" and frozenset((link.a, link.b)) not in adjust.manual_drop
    ] + adjust.manual_add
    cannot = [
        pair for pair in state.cannot if frozenset(pair) not in adjust.cannot_lift
    ] + adjust.cannot_add
    now = datetime.now(UTC)  # one time for the whole change
    # A whole-store resolution hands the store its links while the engine goes on.
    early = EarlyLinks(store, actor, now) if whole else None
    if early is not None:
        # A whole-store resolution: the store may start writing the records while the
        # engine runs on another thread (SQLite does, outside Python's lock), and the
        # links in runs as the engine makes them.
        # In key order, sorted once: the engine walks them so, the store writes them so.
        order = sorted_refs(scope)
        if len(changed) == len(scope):  # a first load: all of them, mapped in C
            records = list(map(scope.__getitem__, order))
        else:
            records = [scope[ref] for ref in order if ref in changed]
        # With links active already, the engine's first links are not all new: no early.
        on_links = None if state.active else early.hand_over()
        outcome = await asyncio.gather(
            asyncio.to_thread(resolve, scope, rules, manual, cannot, hubs, order, on_links),
            store.stage(records),
            return_exceptions=True,
        )
    else:
        records = [scope[ref] for ref in sorted(changed)]
        if len(scope) > _INLINE_SCOPE:
            # A large closure takes the engine milliseconds or more: on a thread, so the
            # event loop answers reads meanwhile (the lock keeps writers in order).
            found = await asyncio.to_thread(resolve, scope, rules, manual, cannot, hubs)
        else:  # most ingests: a handful of records, cheaper than a thread hop
            found = resolve(scope, rules, manual, cannot, hubs)
        outcome = (found, None)
    try:
        for failed in outcome:
            if isinstance(failed, BaseException):
                raise failed
        resolution = outcome[0]
        assert isinstance(resolution, Resolution)
        change, result = await _change(
            store, scope, changed, records, resolution, state, adjust, actor, now, early
        )
        result.before, result.scope = state.assignments, scope
        if guard is not None:
            guard(result)
    except BaseException:
        with contextlib.suppress(Exception):  # the failure raised is the first one
            await settle(early.take() if early is not None else [])
        await store.unstage()
        raise
    if dry_run:
        return result
    if while_storing is None:
        await store.apply(change)
    else:
        done = await asyncio.gather(
            store.apply(change), while_storing(result), return_exceptions=True
        )
        for outcome_of in done:
            if isinstance(outcome_of, BaseException):
                raise outcome_of
    return result


def closed_by(
    adjust: Adjustments, member_of: Mapping[RecordKey, str]
) -> tuple[list[IdentityEvent], list[IdentityEvent]]:
    """The conflicts the change closes, and the events it writes with them."""
    if not adjust.closes_if_joined:
        return adjust.closes, adjust.events
    parted = {
        c.id
        for c in adjust.closes
        if None in (held := {member_of.get(r) for r in c.records}) or len(held) != 1
    }
    return (
        [c for c in adjust.closes if c.id not in parted],
        [e for e in adjust.events if e.evidence.get("conflict_id") not in parted],
    )


async def _change(
    store: IdentityStore,
    scope: Mapping[RecordKey, RecordData],
    changed: set[RecordKey],
    records: list[RecordData],
    resolution: Resolution,
    state: ScopeState,
    adjust: Adjustments,
    actor: str,
    now: datetime,
    early: EarlyLinks | None = None,
) -> tuple[Change, ApplyResult]:
    """What a resolution changes in the store: IDs kept, retired and new, links, events.

    For a whole-store resolution the store may write what is known while the rest is
    worked out here (SQLite does, on its own thread, in order): the links at once, the
    records with their members once the IDs are known.
    """
    current = state.assignments
    # (A version read before the state wins: moved since means the decision is stale.)
    expected = {**state.versions, **adjust.versions}
    change = Change(actor=actor, at=now, reason=adjust.reason, expected_versions=expected)
    change.touched = list(adjust.versions)
    change.cannot_added = adjust.cannot_add
    change.cannot_lifted = [tuple(sorted(pair)) for pair in adjust.cannot_lift]  # type: ignore[misc]
    change.records = records
    change.days_read = state.days_read
    if len(state.active) > _INLINE_SCOPE:
        # Tens of thousands of links (a push's closure) take the event loop a second to
        # compare: on a thread, as a large resolution is (the lock keeps writers in order).
        await asyncio.to_thread(diff_links, change, resolution, state.active)
    else:
        diff_links(change, resolution, state.active)
    staging: list[asyncio.Task[None]] = []

    async def stage(step: Coroutine[Any, Any, None]) -> None:
        if early is not None:
            staging.append(asyncio.create_task(step))
            await asyncio.sleep(0)  # let it reach the store before this thread gets busy
        else:
            step.close()

    try:
        if early is None or not early.done:
            # The links the engine handed over early are the first ones, all new (no
            # links were active); the store got them before these, in order.
            later = change.links_added[early.count :] if early is not None else []
            await stage(store.stage_links(later, actor, now))
        ids = await _ids(store, resolution, state)
        components = resolution.components  # each record with its component's ID, in C
        member_of = dict(
            zip(
                chain.from_iterable(components),
                chain.from_iterable(map(repeat, ids.ids, map(len, components))),
                strict=True,
            )
        )
        change.assignments = (
            {r: m for r, m in member_of.items() if current.get(r) != m}
            if current
            else dict(member_of)  # a first load: every record gets its member
        )
        change.redirects = ids.redirects
        change.new_members = ids.new_members
        unattributed = resolution.unattributed
        if current and unattributed:
            change.unassigned = [ref for ref in unattributed if ref in current]
            kept = set(ids.ids) | ids.redirects.keys()
            change.retired = sorted({current[ref] for ref in change.unassigned} - kept)
        await stage(store.stage_members(change.assignments, ids.new_members, now))
        moved = changed | change.assignments.keys() | set(change.unassigned)
        still_open = await open_conflicts(store, resolution, member_of, current, moved)
        closes, events = closed_by(adjust, member_of)
        still_open -= {(c.rule or "", frozenset(c.records)) for c in closes}
        record_events(change, resolution, member_of, current, moved, now, actor, still_open)
        change.events.extend(events)
        if adjust.action is not None:
            marker = steward_event(
                adjust.action,
                adjust.manual_add,
                adjust.manual_drop,
                adjust.cannot_add,
                adjust.cannot_lift,
                state,
                member_of,
                actor,
                now,
                adjust.reason,
                adjust.said,
                adjust.anchor,
                adjust.home,
                taken=(adjust.cannot_take, adjust.cannot_release),
            )
            change.events.extend([marker] if marker is not None else [])
        result = ApplyResult(members=len(resolution.components), assignments=change.assignments)
        result.unattributed = unattributed
        result.changes = member_changes(change, current, member_of, actor, adjust.reason)
        if adjust.action in _UNDOES:
            touched = chain(
                chain.from_iterable((a, b) for a, b, _ in adjust.manual_add),
                chain.from_iterable(adjust.manual_drop),
                chain.from_iterable(adjust.cannot_add),
                chain.from_iterable(adjust.cannot_lift),
                chain.from_iterable(adjust.cannot_take),
                chain.from_iterable(adjust.cannot_release),
            )
            at = change.at or now
            undone = undone_change(result.changes, touched, member_of, actor, adjust.reason, at)
            result.changes.append(undone)
        result.member_of = member_of
        decided = adjust.action is not None
        change.feed = feed_entries(change, result.changes, scope, current, member_of, decided)
    finally:
        # Each awaited, whatever happened, and the first failure raised.
        await settle([*(early.take() if early is not None else []), *staging])
    return change, result


async def _ids(store: IdentityStore, resolution: Resolution, state: ScopeState) -> IdAssignment:
    """The members' IDs: kept, retired, and fresh ones never used before."""
    origins, taken = state.origins, set(state.taken)

    def assign() -> IdAssignment:
        return assign_member_ids(
            resolution.components,
            state.assignments,
            origins,
            taken,
            state.live_elsewhere,
            state.previous,
        )

    ids = assign()
    # A fresh ID derived from a record key may have been used before (a member merged
    # away long ago): check only the fresh ones, and derive again past any clash.
    for _ in range(16):
        fresh = set(ids.new_members) - set(origins.values())
        if not fresh:
            break  # most changes make no new member: no read
        clashes = await store.taken_member_ids(fresh) - taken
        if not clashes:
            break
        taken |= clashes
        ids = assign()
    return ids

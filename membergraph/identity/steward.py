"""Stewards' operations: link two records, split a member, undo a merge.

Each is one atomic change of the store (the constraint and the resolution it causes are
written together) and each can be retried: a split already made, or a merge already undone,
answers the members as they are instead of failing.

A steward's link merges. It may give a shared device (a web visitor logged in as two
members, in no member: :data:`~membergraph.identity.values.SHARED_DEVICE`) to the member of
the other record it names; a purchase record that identifies no one (keyed by a placeholder:
many people's) is refused. It never takes a profile record (a card, a CRM contact, an online
account) away from another member silently. When the resolution it causes would part the
profile records of a member, the link is refused with ``WOULD_MOVE_RECORDS`` naming that
member and the records that would leave it, unless the steward says ``move``.

Each takes a :class:`Preview`: given one, the change is worked out exactly as it would be
made (the same member IDs, the same moves) and nothing is written.

A split retracts every steward's link crossing the cut and adds a cannot-link between every
record on one side and every record on the other, so no rule joins them again, whatever data
arrives later; a later manual link between the two sides lifts those cannot-links.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import product
from typing import Any

from membergraph.identity.closure import Closure
from membergraph.identity.history import merge_twins, with_twins
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.service import Adjustments, ApplyResult, IdentityService
from membergraph.identity.steward_record import merge_sides, undone_events
from membergraph.identity.store.port import IdentityEvent, ScopeState
from membergraph.identity.values import SHARED_DEVICE, stored_nobodys_reason

__all__ = [
    "Preview",
    "StewardError",
    "already_undone",
    "link_records",
    "split_member",
    "undo_merge",
]

MAX_SPLIT_RECORDS = 1000


class StewardError(ValueError):
    """A steward's request that cannot be carried out; ``code`` says why."""

    def __init__(
        self,
        message: str,
        code: str = "BAD_USER_INPUT",
        members: Sequence[str] = (),
        records: Sequence[str] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.members = list(members)  # the members concerned (e.g. the one a link would strip)
        self.records = list(records)  # ``source:key`` of the records concerned


def already_undone(event: IdentityEvent, by: int) -> StewardError:
    """The refusal of an undo of an event undone since (by event ``by``)."""
    return StewardError(
        f"event {event.id} ({event.kind} by {event.actor}) was undone by event {by}; "
        f"to make the change again, undo event {by}",
        "ALREADY_UNDONE",
    )


@dataclass(slots=True)
class Preview:
    """What a steward's change would do, filled in by a dry run (nothing is written).

    ``members`` are the members the change answers, as they would be: each ID with its
    records. ``moved`` lists every record whose member would change: its member now (None: a
    record new to the store) and its member after.
    """

    members: dict[str, list[RecordData]] = field(default_factory=dict)
    moved: list[tuple[RecordKey, str | None, str]] = field(default_factory=list)

    def fill(self, result: ApplyResult, ids: Sequence[str]) -> None:
        held: dict[str, list[RecordData]] = defaultdict(list)
        for ref, member in sorted(result.member_of.items()):
            if member in ids:
                held[member].append(result.scope[ref])
        self.members = {m: held[m] for m in ids}
        self.moved = [
            (ref, result.before.get(ref), member)
            for ref, member in sorted(result.member_of.items())
            if result.before.get(ref) != member
        ]


def stripped(result: ApplyResult) -> dict[str, list[RecordKey]]:
    """Members whose profile records the change would part, with the records that leave.

    A merge only joins: every two profile records that share a member before still share
    one after. A member whose profile records would end up in two or more members is being
    stripped; the records that leave are those no longer in the member holding its ID
    (all of them when its ID would be retired).
    """
    groups: dict[str, list[RecordKey]] = defaultdict(list)
    for ref, member in result.before.items():
        record = result.scope.get(ref)
        if record is not None and record.role == "profile" and ref in result.member_of:
            groups[member].append(ref)
    found: dict[str, list[RecordKey]] = {}
    for member, refs in sorted(groups.items()):
        if len({result.member_of[r] for r in refs}) > 1:
            found[member] = sorted(r for r in refs if result.member_of[r] != member)
    return found


def _refuse_strip(result: ApplyResult) -> None:
    found = stripped(result)
    if found:
        parts = [
            f"{member} would lose {', '.join(f'{s}:{k}' for s, k in refs)}"
            for member, refs in found.items()
        ]
        raise StewardError(
            f"the link would move records away from another member ({'; '.join(parts)}); "
            "pass move: true to move them",
            "WOULD_MOVE_RECORDS",
            members=sorted(found),
            records=[f"{s}:{k}" for refs in found.values() for s, k in refs],
        )


def _pair(a: RecordKey, b: RecordKey) -> frozenset[RecordKey]:
    return frozenset((a, b))


async def _members_of(
    service: IdentityService, refs: Sequence[RecordKey], devices: bool = False
) -> dict[RecordKey, str]:
    """Each record's member. With ``devices``, a shared device (in no member) may be one of
    them, left out of the answer, when another record has a member: a steward's link gives
    it to that member."""
    found = await service.store.assignments(refs)
    missing = [(s, k) for s, k in refs if (s, k) not in found]
    if not missing:
        return found
    nobodys = await service.store.load_records(missing)
    if devices and found and all(_shared_device(service, nobodys.get(r)) for r in missing):
        return found
    # A stored record with no member identifies no one (a purchase keyed by a value the
    # data shows to be a placeholder, a shared device): say so rather than "unknown".
    said = [f"{s}:{k}" + _why_in_no_member(service, nobodys.get((s, k))) for s, k in missing]
    raise StewardError(f"unknown record(s): {', '.join(said)}", "NOT_FOUND")


def _shared_device(service: IdentityService, record: RecordData | None) -> bool:
    return record is not None and stored_nobodys_reason(record, service.rules) == SHARED_DEVICE


def _why_in_no_member(service: IdentityService, record: RecordData | None) -> str:
    if record is None:
        return ""
    if _shared_device(service, record):
        return " (in no member: a shared device; link it to a record of the member it is given to)"
    return " (in no member: it identifies no one)"


async def scope_of(
    service: IdentityService, refs: Sequence[RecordKey]
) -> tuple[Closure, ScopeState]:
    records = await service.store.load_records(refs)
    return await service.closure(records)


async def link_records(
    service: IdentityService,
    a: RecordKey,
    b: RecordKey,
    reason: str,
    actor: str,
    move: bool = False,
    preview: Preview | None = None,
    action: str = "link",
) -> list[str]:
    """A steward's merge: the members of ``a`` and ``b`` become one. Returns its ID.

    When the rules cannot hold the two together (a card linked to a second CRM contact),
    the link moves records instead and the answer has both members: refused with
    ``WOULD_MOVE_RECORDS`` unless ``move``. With ``preview``, nothing is written.
    """
    if a == b:
        raise StewardError("a record cannot be linked to itself")
    require_reason(reason)
    async with service.lock:

        async def attempt() -> ApplyResult:
            # A shared device (in no member) may be given to the other record's member.
            members = await _members_of(service, [a, b], devices=True)
            held = iter(
                await service.store.member_records([members[r] for r in (a, b) if r in members])
            )
            # A shared device (in no member) is a side of its own: a split may have kept it
            # apart from the other member's records, which the link lifts as any other.
            sides = [next(held) if r in members else [r] for r in (a, b)]
            lift = {_pair(x, y) for x, y in product(*sides) if x != y}
            (scope, hubs), state = await scope_of(service, [a, b])
            # A pair a steward linked already keeps its link (and its reason): linking it
            # again answers the member as it is, as a retried split does.
            linked = any(
                link.rule == "manual" and _pair(link.a, link.b) == _pair(a, b)
                for link in state.active
            )
            adjust = Adjustments(
                manual_add=[] if linked else [(a, b, {"reason": reason})],
                cannot_lift=lift,
                reason=reason,
                action=action,
                anchor=a,
            )
            return await service.apply_scope(
                scope,
                set(),
                hubs,
                actor,
                adjust=adjust,
                state=state,
                guard=None if move else _refuse_strip,
                dry_run=preview is not None,
            )

        result = await service.retrying(attempt)
    # Every member the two members' records end up in: one after a merge, two after a move.
    was = {result.before.get(a), result.before.get(b)} - {None}
    ids = sorted(
        {result.member_of[a], result.member_of[b]}
        | {m for r, m in result.member_of.items() if result.before.get(r) in was}
    )
    if preview is not None:
        preview.fill(result, ids)
    return ids


async def split_member(
    service: IdentityService,
    member_id: str,
    refs: Sequence[RecordKey],
    reason: str,
    actor: str,
    preview: Preview | None = None,
) -> list[str]:
    """The listed records leave the member and form their own. Returns both members' IDs.

    With ``preview``, nothing is written."""
    require_reason(reason)
    leaving = sorted(set(refs))
    if not leaving:
        raise StewardError("name at least one record to split off")
    if len(leaving) > MAX_SPLIT_RECORDS:
        raise StewardError(f"at most {MAX_SPLIT_RECORDS} records per split")
    async with service.lock:
        live = await service.store.resolve_member_id(member_id)
        if live is None:
            raise StewardError(f"unknown member {member_id}", "NOT_FOUND")
        [records] = await service.store.member_records([live])
        members = await _members_of(service, leaving)
        outside = [r for r in leaving if members[r] != live]
        if outside:
            held = {members[r] for r in outside}
            already = await service.store.cannot_links(leaving)
            if len(held) == 1 and already and all(members[r] in held for r in leaving):
                ids = sorted({live, *held})  # a retry of a split already made
                if preview is not None:
                    preview.fill(await as_is(service, ids), ids)
                return ids
            names = ", ".join(f"{s}:{k}" for s, k in outside)
            raise StewardError(f"record(s) not in member {live}: {names}")
        staying = [r for r in records if r not in set(leaving)]
        if not staying:
            raise StewardError("a split must leave at least one record in the member")
        followers = await _followers(service, leaving, staying)
        leaving = sorted({*leaving, *followers})
        staying = [r for r in staying if r not in followers]
        return await _cut(service, leaving, staying, reason, actor, [], preview=preview)


async def _followers(
    service: IdentityService, leaving: Sequence[RecordKey], staying: Sequence[RecordKey]
) -> set[RecordKey]:
    """Staying records that hang only on the leaving side: they go with it.

    A split cuts the member's link graph; what is left may fall apart. A piece with no CRM
    contact held to the leaving records by the rules' own links (the loyalty card or online
    account of the contact being split off) goes with them instead of being stranded alone.
    Pieces with a CRM contact stay; if every piece would go, all stay.
    """
    kept = set(staying)
    adjacent: dict[RecordKey, set[RecordKey]] = {r: set() for r in staying}
    attached: set[RecordKey] = set()
    for link in await service.store.active_links(staying):
        if link.a in kept and link.b in kept:
            adjacent[link.a].add(link.b)
            adjacent[link.b].add(link.a)
        elif link.rule != "manual" and (link.a in kept or link.b in kept):
            # A steward's link across the cut is what the split undoes: it holds nothing.
            attached.add(link.a if link.a in kept else link.b)
    pieces: list[set[RecordKey]] = []
    seen: set[RecordKey] = set()
    for start in staying:
        if start in seen:
            continue
        piece, todo = {start}, [start]
        while todo:
            for there in adjacent[todo.pop()] - piece:
                piece.add(there)
                todo.append(there)
        seen |= piece
        pieces.append(piece)
    going = [p for p in pieces if p & attached and not any(source == "crm" for source, _ in p)]
    if not going or len(going) == len(pieces):
        return set()
    # Only profile records need taking along: the cut forbids them the other side. Leaves
    # (visitors, calls) are forbidden nothing and follow their own evidence afterwards.
    candidates = await service.store.load_records(set().union(*going))
    return {ref for ref, record in candidates.items() if record.role == "profile"}


async def undo_merge(
    service: IdentityService,
    event_id: int,
    reason: str,
    actor: str,
    preview: Preview | None = None,
) -> list[str]:
    """Undo one merge of ``identityHistory``: both sides get their records back.

    With ``preview``, nothing is written."""
    require_reason(reason)
    async with service.lock:
        event = await service.store.event(event_id)
        if event is None or event.kind != "merged":
            raise StewardError(f"event {event_id} is not a merge", "NOT_FOUND")
        [history] = await service.store.member_events([event.member_id])
        # Its other row (under the other side's ID, merged in since) may be the one undone.
        undone: dict[int, int | None] = dict(undone_events(history))
        undone_by = with_twins(undone, merge_twins(history, event.member_id)).get(event_id)
        if undone_by is not None:
            raise already_undone(event, undone_by)
        merged, into = merge_sides(event)
        members = await service.store.assignments([*merged, *into])
        merged = [r for r in merged if r in members]
        into = [r for r in into if r in members]
        now_together = {members[r] for r in merged} & {members[r] for r in into}
        if not merged or not into or not now_together:
            raise StewardError(
                f"event {event_id} (merged by {event.actor}): its two sides are apart already "
                "(split or undone since), so there is nothing to undo",
                "ALREADY_UNDONE",
            )
        marker = IdentityEvent(
            event.member_id,
            "unmerged",
            datetime.now(UTC),
            actor,
            rule=str(event_id),
            reason=reason,
            evidence={"event_id": event_id, "merged_id": event.evidence.get("merged_id")},
        )
        return await _cut(
            service,
            merged,
            into,
            reason,
            actor,
            [marker],
            free_leaves=True,
            preview=preview,
            action="undo_merge",
            said={"undoes": event_id},
        )


async def _cut(
    service: IdentityService,
    side: Sequence[RecordKey],
    other: Sequence[RecordKey],
    reason: str,
    actor: str,
    events: list[IdentityEvent],
    free_leaves: bool = False,
    preview: Preview | None = None,
    action: str = "split",
    said: dict[str, Any] | None = None,
) -> list[str]:
    """Keep ``side`` and ``other`` apart: drop the stewards' links between them and forbid
    every pair that could join them again.

    Leaves (visitors, calls) never join two members, so a pair needs a profile record on
    the ``other`` side; with ``free_leaves`` (undo) the ``side``'s leaves are free too and
    follow their evidence, exactly as before the merge.
    """
    crossing = {_pair(x, y) for x, y in product(side, other)}

    async def attempt() -> ApplyResult:
        (scope, hubs), state = await scope_of(service, [*side, *other])
        profile = {ref for ref, record in scope.items() if record.role == "profile"}
        cannot = [
            (x, y)
            for x, y in product(side, other)
            if y in profile and (x in profile or not free_leaves)
        ]
        adjust = Adjustments(
            manual_drop=crossing,
            cannot_add=cannot,
            reason=reason,
            events=list(events),
            action=action,
            said=said or {},
            anchor=other[0] if other else None,
        )
        return await service.apply_scope(
            scope, set(), hubs, actor, adjust=adjust, state=state, dry_run=preview is not None
        )

    result = await service.retrying(attempt)
    # A record alone that identifies no one (a placeholder) is in no member.
    ids = sorted({result.member_of[r] for r in [*side, *other] if r in result.member_of})
    if preview is not None:
        preview.fill(result, ids)
    return ids


async def as_is(service: IdentityService, ids: Sequence[str]) -> ApplyResult:
    """Members as they are, for the preview of a change already made (nothing moves)."""
    held = await service.store.member_records(ids)
    member_of = {ref: m for m, refs in zip(ids, held, strict=True) for ref in refs}
    scope = await service.store.load_records(list(member_of))
    return ApplyResult(members=len(ids), member_of=member_of, before=member_of, scope=scope)


MAX_REASON_CHARS = 2000
"""The longest reason a steward may give: it is kept in the member's history, every link's
evidence and the change feed, and sent to every subscriber (a page pasted by mistake was
taken whole: 500,000 characters)."""


def require_reason(reason: str) -> None:
    if not reason.strip():
        raise StewardError("a reason is required: it goes into the member's history")
    if len(reason) > MAX_REASON_CHARS:
        raise StewardError(
            f"a reason is at most {MAX_REASON_CHARS:,} characters (it is kept in the member's"
            f" history and sent to every subscriber); this one has {len(reason):,}"
        )

"""A steward's cut: split a member, or undo a merge.

A split retracts every steward's link crossing the cut and adds a cannot-link between every
record on one side and every record on the other, so no rule joins them again, whatever data
arrives later; a later manual link between the two sides lifts those cannot-links. An undo
of a merge cuts the same way between the merge's two sides. Each can be retried: a split
already made, or a merge already undone, answers the members as they are instead of failing.
A split is sent again when its records left the member (they are elsewhere, kept apart), or
stayed with its ID and the member's last event is that split's (its ``steward`` event, written
under the member split, says what was asked: ``split_of`` and ``picked``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from itertools import product
from typing import Any

from membergraph.identity.history import merge_twins, with_twins
from membergraph.identity.records import RecordKey
from membergraph.identity.service import Adjustments, ApplyResult, IdentityService
from membergraph.identity.steward_record import STEWARD, merge_sides, undone_events
from membergraph.identity.steward_request import (
    Preview,
    StewardError,
    already_undone,
    as_is,
    dry,
    members_of,
    missing,
    pair,
    require_reason,
    scope_of,
)
from membergraph.identity.store.port import IdentityEvent

__all__ = ["MAX_SPLIT_RECORDS", "split_member", "undo_merge"]

MAX_SPLIT_RECORDS = 1000


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
        members = await members_of(service, leaving)
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
        made = await _made_already(service, live, leaving)
        if made is not None:  # a resend of the split that left the member as it is
            if preview is not None:
                preview.fill(await as_is(service, made), made)
            return made
        staying = [r for r in records if r not in set(leaving)]
        if not staying:
            raise StewardError("a split must leave at least one record in the member")
        followers = await _followers(service, live, leaving, staying)
        asked = {"split_of": live, "picked": [list(r) for r in leaving]}
        leaving = sorted({*leaving, *followers})
        staying = [r for r in staying if r not in followers]
        return await _cut(
            service, leaving, staying, reason, actor, [], preview=preview, said=asked, home=live
        )


async def _made_already(
    service: IdentityService, live: str, picked: Sequence[RecordKey]
) -> list[str] | None:
    """The members a split made, as they are, when the split asked is that split sent again:
    the last event of member ``live`` is the ``steward`` event of a split of the same records
    off it (written under it, with what was asked), so nothing changed it since. None: a new
    split, made as asked.

    The picked records that keep the member's ID (the side with its CRM contact) are still
    in it after the split, so a resend would split what is left again (the contact's own card
    off it) and forbid the contact its card; a split of them after any later change of the
    member (a link, a merge, an undo: each an event on it) is a new request."""
    [history] = await service.store.member_events([live])
    last = history[-1] if history else None
    if last is None or last.kind != STEWARD or last.rule != "split":
        return None
    said = last.evidence
    if said.get("split_of") != live or [tuple(r) for r in said.get("picked", [])] != picked:
        return None
    ids = {live}
    for member in said.get("members", []):
        now = await service.store.resolve_member_id(member)  # merged or erased since
        ids.update([now] if now is not None else [])
    return sorted(ids)


async def _followers(
    service: IdentityService,
    member: str,
    leaving: Sequence[RecordKey],
    staying: Sequence[RecordKey],
) -> set[RecordKey]:
    """Staying records that hang only on the leaving side: they go with it.

    A split cuts the member's link graph; what is left may fall apart. A piece with no CRM
    contact held to the leaving records by the rules' own links (the loyalty card or online
    account of the contact being split off) goes with them instead of being stranded alone.
    Pieces with a CRM contact stay. If every piece would go (the member's only contact is
    leaving), all stay: as one member when one piece holds cards or accounts; when several
    do, each would become a member of its own, so the split is refused
    ``WOULD_STRAND_RECORDS`` naming them.
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
    if not going:
        return set()
    # Only profile records need taking along: the cut forbids them the other side. Leaves
    # (visitors, calls) are forbidden nothing and follow their own evidence afterwards.
    candidates = await service.store.load_records(set().union(*going))
    profiles = {ref for ref, record in candidates.items() if record.role == "profile"}
    if len(going) < len(pieces):
        return profiles
    stranded = [sorted(p & profiles) for p in going if p & profiles]
    if len(stranded) > 1:
        names = ", ".join(f"{s}:{k}" for piece in stranded for s, k in piece)
        raise StewardError(
            f"splitting off {', '.join(f'{s}:{k}' for s, k in leaving)} would leave {names} "
            f"in {len(stranded)} members of their own: only the records leaving held them "
            "together in the member. To keep them one member, link them to each other first "
            "(linkRecords) and split again; picking them to leave instead makes each a member "
            "of its own too",
            "WOULD_STRAND_RECORDS",
            members=[member],
            records=[f"{s}:{k}" for piece in stranded for s, k in piece],
        )
    return set()


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
        if event is None:
            raise missing(event_id, await service.store.event_gone(event_id))
        if event.kind != "merged":
            raise StewardError(
                f"event {event_id} ({event.kind}, rule {event.rule}, by {event.actor}) is not "
                "a merge: undoMerge takes a `merged` event; undo takes it if it is a steward's "
                "change (see its `undoable`)",
                "NOT_A_MERGE",
            )
        merged, into = await _sides_together(service, event)
        also = await _undone_with(service, event, merged, into)
        marker = IdentityEvent(
            event.member_id,
            "unmerged",
            datetime.now(UTC),
            actor,
            rule=str(event_id),
            reason=reason,
            evidence={"event_id": event_id, "merged_id": event.evidence.get("merged_id")},
        )

        async def still_together() -> dict[str, int]:
            # Checked again in each attempt, against versions read first: a steward who
            # undid the merge meanwhile is seen, or moved them and this write conflicts.
            members = await service.store.assignments([*merged, *into])
            versions = await service.store.member_versions(sorted(set(members.values())))
            await _sides_together(service, event)
            return versions

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
            said={"undoes": event_id, **({"undoes_also": also} if also else {})},
            before=still_together,
        )


async def _sides_together(
    service: IdentityService, event: IdentityEvent
) -> tuple[list[RecordKey], list[RecordKey]]:
    """A merge's two sides as the store holds them, refused ``ALREADY_UNDONE`` when the
    merge was undone or its sides are apart already."""
    undone_by = await _undone_by(service, event)
    if undone_by is not None:
        raise already_undone(event, undone_by)
    merged, into = merge_sides(event)
    members = await service.store.assignments([*merged, *into])
    merged = [r for r in merged if r in members]
    into = [r for r in into if r in members]
    now_together = {members[r] for r in merged} & {members[r] for r in into}
    if not merged or not into or not now_together:
        # Apart: an undo committed between the two reads (another steward's, at the same
        # instant) names itself on a second look
        undone_by = await _undone_by(service, event)
        if undone_by is not None:
            raise already_undone(event, undone_by)
        raise StewardError(
            f"event {event.id} (merged by {event.actor}): its two sides are apart already "
            "(split or undone since), so there is nothing to undo",
            "ALREADY_UNDONE",
        )
    return merged, into


async def _undone_with(
    service: IdentityService,
    event: IdentityEvent,
    merged: Sequence[RecordKey],
    into: Sequence[RecordKey],
) -> list[int]:
    """What undoing merge ``event`` takes back with it: its other row (written under the
    other side's ID) and the steward change that made it, when every link that change added
    joins the two sides (an accepted suggestion, a link), so the undo drops them all. Each
    then reads undone by the undo, and ``undo`` of it answers ``ALREADY_UNDONE``."""
    [history] = await service.store.member_events([event.member_id])
    twins = merge_twins(history, event.member_id)
    found = {a for a, b in twins.items() if b == event.id} | {
        b for a, b in twins.items() if a == event.id
    }
    crossing = {pair(x, y) for x, y in product(merged, into)}
    for other in history:
        added = other.evidence.get("manual_added") or []
        if (
            other.kind == STEWARD
            and other.id is not None
            and other.at == event.at
            and other.actor == event.actor
            and added
            and all(pair(tuple(a), tuple(b)) in crossing for a, b, _ in added)
        ):
            found.add(other.id)
    return sorted(found)


async def _undone_by(service: IdentityService, event: IdentityEvent) -> int | None:
    """The event that undid merge ``event``, as the store holds it now (None: not undone)."""
    assert event.id is not None
    [history] = await service.store.member_events([event.member_id])
    # Its other row (under the other side's ID, merged in since) may be the one undone.
    undone: dict[int, int | None] = dict(undone_events(history))
    return with_twins(undone, merge_twins(history, event.member_id)).get(event.id)


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
    before: Callable[[], Awaitable[dict[str, int]]] | None = None,
    home: str | None = None,
) -> list[str]:
    """Keep ``side`` and ``other`` apart: drop the stewards' links between them and forbid
    every pair that could join them again.

    Leaves (visitors, calls) never join two members, so a pair needs a profile record on
    the ``other`` side; with ``free_leaves`` (undo) the ``side``'s leaves are free too and
    follow their evidence, exactly as before the merge. ``before`` runs first in each
    attempt (it may refuse) and answers versions the cut is checked against and moves on.
    ``home``: the member whose history gets the ``steward`` event (a split's: the member
    split), else ``other``'s first record's member's.
    """
    crossing = {pair(x, y) for x, y in product(side, other)}

    async def attempt() -> ApplyResult:
        versions = {} if before is None else await before()
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
            versions=versions,
            home=home,
        )
        return await service.apply_scope(
            scope, set(), hubs, actor, adjust=adjust, state=state, dry_run=dry(preview)
        )

    result = await service.retrying(attempt)
    # A record alone that identifies no one (a placeholder) is in no member.
    ids = sorted({result.member_of[r] for r in [*side, *other] if r in result.member_of})
    if preview is not None:
        preview.fill(result, ids)
    return ids

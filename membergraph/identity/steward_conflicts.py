"""A steward's decision on an identity conflict: make the link the engine refused, or
dismiss the conflict (the engine was right). Either closes it; both can be undone.

- **link**: a steward's ordinary link (:func:`~membergraph.identity.steward_link.
  link_records`, with its guardrails: ``WOULD_MOVE_RECORDS`` unless ``move``), written as a
  ``steward`` event (rule ``resolve_conflict``) that ``undo`` reverses (the resolution that
  undo causes records the conflict afresh if the rules still refuse). A conflict of two
  records (``limit``, ``cannot_link``) links them. A conflict over a call or a web visitor
  (``call_mismatch``, ``ambiguous``, ``shared_device``) gives that record to the member of
  the record the steward names (``target``; by default the only one it is not on now): it
  leaves its member alone, kept apart from the records it leaves by cannot-links, and the
  two people stay two.
- **dismiss**: only the decision is written (and a ``CONFLICT_DECIDED`` feed entry); undoing
  it opens the conflict again.

The decision is an event beside the conflict (:mod:`~membergraph.identity.store.
conflict_state`): the conflict itself stays in the history as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.records import RecordKey
from membergraph.identity.service import IdentityService, retrying
from membergraph.identity.steward_link import JOINED, link_records
from membergraph.identity.steward_record import STEWARD
from membergraph.identity.steward_request import (
    Preview,
    StewardError,
    already_undone,
    as_is,
    dry,
    require_reason,
)
from membergraph.identity.store.conflict_state import REOPENED, RESOLVED, latest_decisions
from membergraph.identity.store.metrics_port import ConflictQuery
from membergraph.identity.store.port import Change, IdentityEvent

__all__ = ["Decision", "raised_by", "resolve_conflict", "undo_decision"]

LEAVES = frozenset({"call_center", "web_analytics"})  # records that join a member, never two
ACTION = "resolve_conflict"  # the rule of the ``steward`` event of a link decided so
UNDONE = "undone"  # the rule of a decision closing a conflict whose change was undone
_RAISED_AT_ONCE = 10_000  # conflicts one change may raise, read at most


class Decision(StrEnum):
    """What a steward decides about a conflict."""

    LINK = "link"
    DISMISS = "dismiss"


async def resolve_conflict(
    service: IdentityService,
    event_id: int,
    decision: Decision,
    reason: str,
    actor: str,
    target: RecordKey | None = None,
    move: bool = False,
    preview: Preview | None = None,
) -> list[str]:
    """Decide conflict ``event_id``; returns the members it concerns, as they are after.

    Raises:
        StewardError: ``NOT_FOUND`` (no such conflict), ``ALREADY_RESOLVED`` (decided and not
            undone), ``BAD_USER_INPUT`` (a ``target`` that is not one of its records, or none
            given where two would do), and every refusal of a link.
    """
    require_reason(reason)
    conflict = await service.store.event(event_id)
    if conflict is None or conflict.kind != "conflict":
        raise StewardError(f"event {event_id} is not an identity conflict", "NOT_FOUND")

    async def undecided() -> tuple[str | None, dict[str, int]]:
        # Read in each attempt: a decision another steward writes meanwhile is seen, or
        # moves the version read first and makes this one's write conflict (then seen).
        owner, versions = await _owner_version(service, conflict.member_id)
        decisions = await service.store.metrics().conflict_decisions([event_id])
        latest = latest_decisions(decisions).get(event_id)
        if latest is not None and latest.kind == RESOLVED:
            undone = await _undone_by(service, conflict, latest)
            raise StewardError(
                f"conflict {event_id} was resolved by event {latest.id} ({latest.rule} by "
                f"{latest.actor}); {undone} to decide again",
                "ALREADY_RESOLVED",
            )
        return owner, versions

    said: dict[str, Any] = {"conflict_id": event_id, "conflict_kind": conflict.rule}
    if decision is Decision.DISMISS:

        async def dismiss() -> list[str]:
            owner, versions = await undecided()
            await _refuse_if_joined(service, conflict)
            marker = _marker(owner or conflict.member_id, RESOLVED, "dismiss", actor, reason, said)
            return await _write(service, _held(marker, conflict.records), owner, preview, versions)

        return await retrying(dismiss)
    owner, _ = await undecided()
    a, b, detach = await _link_pair(service, conflict, target)
    said["beside"] = STEWARD
    marker = _held(_marker(owner or conflict.member_id, RESOLVED, "link", actor, reason, said),
                   conflict.records)  # fmt: skip

    async def still_undecided() -> dict[str, int]:
        return (await undecided())[1]

    return await link_records(
        service,
        a,
        b,
        reason,
        actor,
        move,
        preview,
        action=ACTION,
        detach=detach,
        said={"conflict_id": event_id},
        events=[marker],
        before=still_undecided,
        advice="link them with linkRecords and liftRejection: true to lift the rejection",
    )


async def raised_by(
    service: IdentityService, change: IdentityEvent, actor: str, reason: str
) -> tuple[list[IdentityEvent], list[IdentityEvent]]:
    """The conflicts a steward's ``change`` raised that are still open, and the decisions
    (rule ``undone``) that close them beside its undo: the state they describe goes with the
    change (a card moved to another contact refused its links to her old records). Raised
    by it: written in its change, at its time by its actor, under whichever member.
    Recorded afresh if the rules still refuse the same link once it is undone."""
    at = change.at
    query = ConflictQuery(since=at, until=at + timedelta(microseconds=1), state="open")
    found = await service.store.metrics().conflicts(query, None, _RAISED_AT_ONCE, True)
    conflicts = [event for event in found if event.actor == change.actor]
    decisions = [
        _held(
            _marker(
                conflict.member_id,
                RESOLVED,
                UNDONE,
                actor,
                reason,
                {
                    "conflict_id": conflict.id,
                    "conflict_kind": conflict.rule,
                    "beside": STEWARD,
                    "raised_by": change.id,
                },
            ),
            conflict.records,
        )
        for conflict in conflicts
    ]
    return conflicts, decisions


async def _undone_by(
    service: IdentityService, conflict: IdentityEvent, decision: IdentityEvent
) -> str:
    """How a steward takes ``decision`` back: itself (a dismissal), or the ``steward`` event
    of the link written with it, which ``undo`` takes (the decision is refused there)."""
    if decision.rule == JOINED:
        return (
            f"it closed when a steward's link by {decision.actor} joined its records: undo "
            "that link"
        )
    if decision.rule == UNDONE:
        return (
            f"it closed when the change that raised it (event "
            f"{decision.evidence.get('raised_by')}) was undone: undo that undo"
        )
    if not decision.evidence.get("beside"):
        return f"undo event {decision.id}"
    held = set((await service.store.assignments(conflict.records)).values())
    found = [
        event.id
        for history in await service.store.member_events(sorted(held | {decision.member_id}))
        for event in history
        if event.kind == STEWARD
        and event.rule == ACTION
        and event.evidence.get("conflict_id") == conflict.id
        and event.id is not None
    ]
    if not found:  # (its members erased since)
        return f"undo the `steward` event (rule {ACTION}) written with it"
    return f"undo event {max(found)} (the link it made)"


async def _refuse_if_joined(service: IdentityService, conflict: IdentityEvent) -> None:
    """``RECORDS_JOINED``: the conflict's records are one member now (a steward's link, or
    the rules since), so the engine's refusal it describes no longer holds: saying "the
    engine was right" of them would be said of records that are one person's."""
    records = list(conflict.records)
    members = await service.store.assignments(records)
    held = {members[r] for r in records if r in members}
    if len(records) < 2 or len(held) != 1 or len(members) != len(records):
        return
    [member] = held
    raise StewardError(
        f"conflict {conflict.id}: its records ({', '.join(f'{s}:{k}' for s, k in records)}) "
        f"are one member now ({member}), joined since it was raised: the link it describes "
        "is made, so there is no refusal left to dismiss (split the member to part them)",
        "RECORDS_JOINED",
        members=[member],
    )


async def _owner_version(
    service: IdentityService, member_id: str
) -> tuple[str | None, dict[str, int]]:
    """The live member ``member_id`` names now, and its version: a decision about its
    conflict moves it (``Change.touched``), so two decisions computed at once conflict."""
    owner = await service.store.resolve_member_id(member_id)
    return owner, ({} if owner is None else await service.store.member_versions([owner]))


async def _link_pair(
    service: IdentityService, conflict: IdentityEvent, target: RecordKey | None
) -> tuple[RecordKey, RecordKey, list[RecordKey]]:
    """The two records a link decision joins, and the records the first one leaves."""
    records = list(conflict.records)
    names = ", ".join(f"{s}:{k}" for s, k in records)
    if target is not None and target not in records:
        raise StewardError(f"target {target[0]}:{target[1]} is not one of the records of "
                           f"conflict {conflict.id} ({names})")  # fmt: skip
    leaf = next((r for r in records if r[0] in LEAVES), None)
    if leaf is None:
        if len(records) != 2:
            raise StewardError(f"conflict {conflict.id} names no pair to link ({names})")
        return records[0], records[1], []
    others = [r for r in records if r != leaf]
    members = await service.store.assignments(records)
    if target is None:
        away = [r for r in others if members.get(r) != members.get(leaf)]
        if len(away) != 1:
            raise StewardError(
                f"conflict {conflict.id}: name the record the {leaf[0]} record {leaf[1]} "
                f"belongs with (target), one of {', '.join(f'{s}:{k}' for s, k in others)}"
            )
        target = away[0]
    if target == leaf:
        raise StewardError(f"target {leaf[0]}:{leaf[1]} is the record that moves: name another")
    # It leaves its member (the profile records there, which may hold it by its evidence) and
    # every other member its evidence names.
    here = members.get(leaf)
    leaving = set(others) - {target}
    if here is not None and here != members.get(target):
        [held] = await service.store.member_records([here])
        stored = await service.store.load_records(held)
        leaving |= {ref for ref, r in stored.items() if r.role == "profile"}
    return leaf, target, sorted(leaving)


async def undo_decision(
    service: IdentityService,
    event: IdentityEvent,
    reason: str,
    actor: str,
    preview: Preview | None = None,
) -> list[str]:
    """Take back a dismissal (the conflict opens again) or the opening of one (it is
    dismissed again). A decision written beside a link is undone through that link's
    ``steward`` event."""
    if event.evidence.get("beside"):
        raise StewardError(
            f"event {event.id} ({event.kind} by {event.actor}) records a steward's decision; "
            f"the change it made is the `steward` event (rule {ACTION} or undo) written with "
            "it: undo that one",
            "NOT_UNDOABLE",
        )
    conflict = event.evidence["conflict_id"]

    async def undo() -> list[str]:
        owner, versions = await _owner_version(service, event.member_id)
        decisions = await service.store.metrics().conflict_decisions([conflict])
        latest = latest_decisions(decisions)[conflict]
        if latest.id != event.id:
            if latest.evidence.get("undoes") == event.id and latest.id is not None:
                raise already_undone(event, latest.id)
            raise StewardError(
                f"conflict {conflict} was decided again since, by event {latest.id}: undo "
                "that first",
                "LATER_CHANGES_DEPEND",
            )
        kind, rule = (REOPENED, "undo") if event.kind == RESOLVED else (RESOLVED, "dismiss")
        said = {**event.evidence, "undoes": event.id}
        marker = _held(
            _marker(owner or event.member_id, kind, rule, actor, reason, said), event.records
        )
        return await _write(service, marker, owner, preview, versions)

    return await retrying(undo)


def _marker(
    member: str, kind: str, rule: str, actor: str, reason: str, said: dict[str, Any]
) -> IdentityEvent:
    return IdentityEvent(
        member, kind, datetime.now(UTC), actor, rule=rule, reason=reason, evidence=said
    )


def _held(event: IdentityEvent, records: Sequence[RecordKey]) -> IdentityEvent:
    return replace(event, records=tuple(records))


async def _write(
    service: IdentityService,
    marker: IdentityEvent,
    owner: str | None,
    preview: Preview | None,
    versions: dict[str, int],
) -> list[str]:
    """Write a decision that moves no record: the event and a feed entry, in one change,
    checked against the owner's ``versions`` read before the decisions, and moving them."""
    members = await service.store.assignments(marker.records)
    ids = sorted(set(members.values()) | ({owner} if owner else set()))
    if preview is not None:  # it moves no record: as they are, before and after
        preview.fill(await as_is(service, ids), ids)
    if dry(preview):
        return ids
    entry = FeedEntry(
        ChangeKind.CONFLICT_DECIDED, tuple(ids), marker.at, marker.actor, marker.reason
    )
    change = Change(
        events=[marker], actor=marker.actor, reason=marker.reason, at=marker.at, feed=[entry],
        expected_versions=versions, touched=list(versions),
    )  # fmt: skip
    async with service.lock:
        await service.store.apply(change)
    if service.on_written is not None:
        service.on_written()
    return ids

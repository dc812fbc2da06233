"""``undo(eventId)``: reverse any steward change exactly, from its ``steward`` event.

A steward change is a change of constraints (manual links added or dropped, cannot-links
added or lifted, or taken over as held: a rejection of a pair a split keeps apart, whose
undo gives the cannot-link back to the split as it was) and the resolution it causes.
Undoing it applies the inverse constraints and resolves again: the partition is the one the
constraints had before, whatever the change was (a link, a move, a split, an undone merge,
an accepted or rejected suggestion, an undo). A later steward change touching the same
records may rest on it: the undo is then refused with ``LATER_CHANGES_DEPEND`` naming those
events (undo them first, newest first), read wherever they were written
(:func:`~membergraph.identity.steward_record.steward_changes`).
An undo answers only when it reverses the change exactly: what the change made must be as it
left it (else ``LATER_CHANGES_DEPEND`` too, and nothing is written).
An event undone stays undone (:func:`undone_events`): undoing it again is refused with
``ALREADY_UNDONE`` naming the undo, which is itself a change that can be undone (a redo).

Only those two kinds are changes a person can take back (:func:`undoable`), and a
steward's dismissal of a conflict (:mod:`~membergraph.identity.steward_conflicts`). The rules' own
decisions (``linked``, ``unlinked``, ``conflict``, ...) are not: a split parts what the rules
joined. A steward's decision recorded beside its change (``suggestion_rejected``,
``unmerged``) is undone through that change's ``steward`` event, which the refusal names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from membergraph.identity.records import RecordKey
from membergraph.identity.service import Adjustments, ApplyResult, IdentityService
from membergraph.identity.steward_conflicts import raised_by, undo_decision
from membergraph.identity.steward_record import (
    STEWARD,
    deciding_members,
    records_of,
    standing,
    steward_changes,
    undone_events,
)
from membergraph.identity.steward_request import (
    Preview,
    StewardError,
    already_undone,
    dry,
    missing,
    pair,
    require_reason,
    scope_of,
)
from membergraph.identity.steward_split import undo_merge
from membergraph.identity.store.conflict_state import DECISIONS
from membergraph.identity.store.port import IdentityEvent

__all__ = ["undo_event", "undoable"]

UNDOABLE = frozenset({STEWARD, "merged"})
# Decisions written beside the ``steward`` event of their change: the rule that event carries.
_BESIDE = {"suggestion_rejected": "reject", "unmerged": "undo_merge"}


def undoable(event: IdentityEvent) -> bool:
    """Whether ``undo`` takes this event: a steward's change, a merge, or a steward's
    decision on a conflict that made no change of its own (a dismissal, its undo)."""
    if event.kind in DECISIONS:
        return not event.evidence.get("beside")
    return event.kind in UNDOABLE


def _refusal(event_id: int, event: IdentityEvent | None, gone: bool | None) -> StewardError:
    """Why ``undo`` does not take this event, saying what would undo it."""
    if event is None:
        return missing(event_id, gone)
    said = f"event {event_id} ({event.kind} by {event.actor})"
    if event.kind in _BESIDE:
        return StewardError(
            f"{said} records a steward's decision; the change it made is the `steward` event "
            f"(rule {_BESIDE[event.kind]}) written with it: undo that one",
            "NOT_UNDOABLE",
        )
    return StewardError(
        f"{said} is not a steward's change: undo takes a `steward` or `merged` event "
        "(to part records the rules joined, split the member)",
        "NOT_UNDOABLE",
    )


def _ref(item: list[Any]) -> RecordKey:
    return (item[0], item[1])


def _inverse(event: IdentityEvent, reason: str) -> Adjustments:
    said = event.evidence
    return Adjustments(
        manual_add=[(_ref(a), _ref(b), ev) for a, b, ev in said.get("manual_dropped", [])],
        manual_drop={frozenset((_ref(a), _ref(b))) for a, b, _ in said.get("manual_added", [])},
        cannot_add=[(_ref(a), _ref(b)) for a, b in said.get("cannot_lifted", [])],
        cannot_lift={frozenset((_ref(a), _ref(b))) for a, b in said.get("cannot_added", [])},
        # A cannot-link taken over stays as it was held before (a split's): given back.
        cannot_take=[(_ref(a), _ref(b)) for a, b in said.get("cannot_released", [])],
        cannot_release=[(_ref(a), _ref(b)) for a, b in said.get("cannot_taken", [])],
        reason=reason,
        action="undo",
        said={"undoes": event.id, "anchor": said.get("anchor")},
        anchor=_ref(said["anchor"]) if said.get("anchor") else None,
        home=event.member_id,
    )


async def _versions(service: IdentityService, refs: list[RecordKey]) -> dict[str, int]:
    """The versions of the members holding ``refs``: the undo moves them on."""
    members = set((await service.store.assignments(refs)).values())
    return await service.store.member_versions(sorted(members))


async def _refuse_if_later(
    service: IdentityService, event: IdentityEvent, refs: list[RecordKey]
) -> None:
    """``ALREADY_UNDONE`` or ``LATER_CHANGES_DEPEND`` when a later steward change says so."""
    assert event.id is not None
    members = await deciding_members(service.store, [event])
    later = await steward_changes(service.store, refs, members, after=event.id)
    undone_by = undone_events(later[k] for k in sorted(later)).get(event.id)
    if undone_by is not None:
        raise already_undone(event, undone_by)
    rest = standing(later, but=event.id)
    if rest:
        names = ", ".join(f"{e.id} ({e.rule})" for e in rest)
        raise StewardError(
            f"later steward changes touch the same records: {names}; undo them first",
            "LATER_CHANGES_DEPEND",
        )


async def _refuse_if_changed(service: IdentityService, event: IdentityEvent) -> None:
    """``LATER_CHANGES_DEPEND`` when the links and cannot-links ``event`` changed are not as
    it left them: whatever changed them since, its inverse would not be its exact reverse
    (an undo that changed nothing would answer ok and record nothing)."""
    said, store = event.evidence, service.store
    refs = records_of(said)
    manual = {pair(link.a, link.b) for link in await store.manual_links(refs)}
    held = {pair(a, b) for a, b in await store.cannot_links(refs)}
    # (its list, the link kind, whether it holds now as the event left it)
    expected: list[tuple[str, str, Callable[[frozenset[RecordKey]], bool]]] = [
        ("manual_added", "link", lambda p: p in manual),
        ("manual_dropped", "link", lambda p: p not in manual),
        ("cannot_added", "cannot-link", lambda p: p in held),
        ("cannot_lifted", "cannot-link", lambda p: p not in held),
        ("cannot_taken", "cannot-link", lambda p: p in held),
        ("cannot_released", "cannot-link", lambda p: p in held),
    ]
    moved = [
        (kind, item[0], item[1])
        for name, kind, as_left in expected
        for item in said.get(name, [])
        if not as_left(_pair(item[0], item[1]))
    ]
    if moved:
        names = ", ".join(f"{kind} {a[0]}:{a[1]}-{b[0]}:{b[1]}" for kind, a, b in moved)
        raise StewardError(
            f"event {event.id} ({event.rule}) cannot be reversed exactly: what it changed was "
            f"changed since ({names}); nothing was undone",
            "LATER_CHANGES_DEPEND",
        )


def _pair(a: list[Any], b: list[Any]) -> frozenset[RecordKey]:
    return pair(_ref(a), _ref(b))


async def undo_event(
    service: IdentityService,
    event_id: int,
    reason: str,
    actor: str,
    preview: Preview | None = None,
) -> list[str]:
    """Reverse the steward change of event ``event_id`` (a ``steward`` event; a ``merged``
    event is undone as ``undoMerge`` does). Returns the members it leaves.

    Raises:
        StewardError: ``NOT_FOUND`` (no such event), ``NOT_UNDOABLE`` (an event of another
            kind, see :func:`undoable`), ``ALREADY_UNDONE`` (undone since, and not made
            again), ``LATER_CHANGES_DEPEND`` (a later steward change touches the same records).
    """
    require_reason(reason)
    event = await service.store.event(event_id)
    if event is not None and event.kind == "merged":
        return await undo_merge(service, event_id, reason, actor, preview=preview)
    if event is not None and event.kind in DECISIONS:
        return await undo_decision(service, event, reason, actor, preview=preview)
    if event is None or event.kind != STEWARD:
        gone = await service.store.event_gone(event_id) if event is None else None
        raise _refusal(event_id, event, gone)
    refs = records_of(event.evidence)
    async with service.lock:

        async def attempt() -> ApplyResult:
            # Checked in each attempt, against versions read first: another steward's undo
            # written meanwhile is seen, or moves them and makes this write conflict (then
            # seen), so two undos at once are one undo and one ALREADY_UNDONE.
            versions = await _versions(service, refs)
            await _refuse_if_later(service, event, refs)
            try:
                await _refuse_if_changed(service, event)
            except StewardError:
                # Another steward's change may have landed between the two reads (its undo
                # of this very event, written with the links it changed): the histories as
                # they are now say so first (``ALREADY_UNDONE``, not a change since).
                await _refuse_if_later(service, event, refs)
                raise
            (scope, hubs), state = await scope_of(service, refs)
            adjust = _inverse(event, reason)
            adjust.versions = versions
            adjust.closes, adjust.events = await raised_by(service, event, actor, reason)
            return await service.apply_scope(
                scope, set(), hubs, actor, adjust=adjust, state=state, dry_run=dry(preview)
            )

        result = await service.retrying(attempt)
    ids = sorted({result.member_of[r] for r in refs if r in result.member_of})
    if preview is not None:
        preview.fill(result, ids)
    return ids

"""What a steward's change did to the constraints, kept as an event so it can be undone.

Every steward change (a link, a move, a split, an undone merge, an accepted or rejected
suggestion, an undo) writes one ``steward`` event to the history of the member it leaves
first, with ``rule`` the action and in ``evidence`` exactly what it changed: the manual links
it added and dropped (with their evidence) and the cannot-links it added and lifted, or took
over as they were (a rejection of a pair a split keeps apart). Undoing it applies the
inverse (:mod:`~membergraph.identity.undo`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from membergraph.identity.records import RecordKey
from membergraph.identity.store.conflict_state import DECISIONS
from membergraph.identity.store.port import IdentityEvent, IdentityStore, ScopeState

__all__ = [
    "STEWARD",
    "Assignments",
    "Constraints",
    "deciding_members",
    "merge_sides",
    "parted_merges",
    "records_of",
    "standing",
    "steward_changes",
    "steward_event",
    "undone_events",
]

STEWARD = "steward"
Pair = tuple[RecordKey, RecordKey]
Constraints = dict[str, list[list[Any]]]
_TAKEN = ("cannot_taken", "cannot_released")  # held cannot-links a change claims, gives back


def _pairs(pairs: Iterable[Pair]) -> list[list[Any]]:
    return sorted([list(a), list(b)] for a, b in (tuple(sorted(p)) for p in pairs))


def steward_event(
    action: str,
    manual_added: Sequence[tuple[RecordKey, RecordKey, dict[str, Any]]],
    manual_drop: set[frozenset[RecordKey]],
    cannot_added: Sequence[Pair],
    cannot_lift: set[frozenset[RecordKey]],
    state: ScopeState,
    member_of: Mapping[RecordKey, str],
    actor: str,
    at: datetime,
    reason: str | None,
    extra: Mapping[str, Any],
    anchor: RecordKey | None = None,
    home: str | None = None,
    taken: tuple[Sequence[Pair], Sequence[Pair]] = ((), ()),
) -> IdentityEvent | None:
    """The ``steward`` event of a change, from what it asked and what the store held: only
    the links and cannot-links it really dropped or lifted are listed (None: no member). It
    goes to the history of ``home`` when the change leaves that member live (an undo, beside
    the change it undoes), else of ``anchor``'s member (the member a steward acted on).

    ``taken``: the cannot-links held that it takes over as its own and that it gives back
    (``cannot_taken``, ``cannot_released``, listed only when held and only when there are
    any): a rejection of a pair a split keeps apart changes no constraint, yet it is a
    decision of its own, which a later link must not lift unsaid and ``undo`` takes back,
    leaving the split's cannot-link as it was."""
    dropped = [
        [list(link.a), list(link.b), link.evidence]
        for link in state.active
        if link.rule == "manual" and frozenset((link.a, link.b)) in manual_drop
    ]
    held = {frozenset(pair) for pair in state.cannot}
    evidence: Constraints = {
        "manual_added": [[list(a), list(b), ev] for a, b, ev in manual_added],
        "manual_dropped": sorted(dropped, key=lambda d: (d[0], d[1])),
        "cannot_added": _pairs(p for p in cannot_added if frozenset(p) not in held),
        "cannot_lifted": _pairs(tuple(p) for p in cannot_lift if p in held),  # type: ignore[misc]
    }
    for name, pairs in zip(_TAKEN, taken, strict=True):
        if any(frozenset(p) in held for p in pairs):
            evidence[name] = _pairs(p for p in pairs if frozenset(p) in held)
    refs = records_of(evidence)
    members = sorted({member_of[r] for r in refs if r in member_of})
    if not members:
        return None
    if home is None or home not in members:
        home = member_of.get(anchor, members[0]) if anchor is not None else members[0]
    return IdentityEvent(
        home,
        STEWARD,
        at,
        actor,
        rule=action,
        reason=reason,
        evidence={
            **evidence,
            "members": members,
            "anchor": list(anchor) if anchor is not None else None,
            **extra,
        },
        records=tuple(refs),
    )


def records_of(evidence: Mapping[str, Any]) -> list[RecordKey]:
    """Every record a steward event's constraints name, sorted."""
    found: set[RecordKey] = set()
    for name in ("manual_added", "manual_dropped", "cannot_added", "cannot_lifted", *_TAKEN):
        for item in evidence.get(name, []):
            found.update(((item[0][0], item[0][1]), (item[1][0], item[1][1])))
    return sorted(found)


def undone_events(events: Iterable[IdentityEvent]) -> dict[int, int]:
    """The events among ``events`` (a history) an undo took back and that stay undone: each
    with the id of that undo. An undo undone in turn gives its change back, which may then be
    undone again. A merge's undo is its ``unmerged`` marker (with the ``steward`` event
    written beside it, which says so in ``undoes``)."""
    undoes: dict[int, list[int]] = {}  # an undo → the events it took back
    marked: dict[int, int] = {}  # a merge → its unmerged marker
    for event in events:
        # A steward's change, or a decision on a conflict undone without one (a dismissal).
        taking = event.kind == STEWARD or event.kind in DECISIONS
        target = event.evidence.get("undoes") if taking else None
        if event.kind == "unmerged":
            target = event.evidence.get("event_id")
            if isinstance(target, int) and event.id is not None:
                marked.setdefault(target, event.id)
        elif isinstance(target, int) and event.id is not None:
            # An undone merge takes back its other row and the change that made it too.
            also = event.evidence.get("undoes_also") or []
            undoes[event.id] = [target, *(t for t in also if isinstance(t, int))]
    undone: dict[int, int] = {}
    for undo_id in sorted(undoes, reverse=True):  # newest first: an undo undone counts not
        if undo_id not in undone:
            for target in undoes[undo_id]:
                undone.setdefault(target, undo_id)
    # A merge undone before its undo said `undoes` (older stores): the marker alone.
    taken_back = {t for targets in undoes.values() for t in targets}
    undone.update({m: u for m, u in marked.items() if m not in taken_back})
    return undone


class Assignments(Protocol):
    """What :func:`deciding_members` reads: a store, or a request's reads of one."""

    async def assignments(self, refs: Sequence[RecordKey]) -> Mapping[RecordKey, str]: ...


async def deciding_members(store: Assignments, events: Iterable[IdentityEvent]) -> list[str]:
    """The members whose histories hold the later steward changes of ``events``' records,
    their undos among them: the members holding those records now, and the ones each event
    named. An undo goes beside its change only while that change's member lives: undone
    while merged away, it is written under the member it was merged into, which a split
    may part from it since (``undo`` and ``identityHistory`` both read these)."""
    events = list(events)
    refs = sorted({ref for event in events for ref in records_of(event.evidence)})
    members = set((await store.assignments(refs)).values()) if refs else set()
    for event in events:
        members.update(event.evidence.get("members", []))
    return sorted(members)


async def steward_changes(
    store: IdentityStore, refs: Iterable[RecordKey], members: Iterable[str], after: int = 0
) -> dict[int, IdentityEvent]:
    """The ``steward`` events after event ``after`` naming any of ``refs``, and the changes
    their undos took back, wherever each was written, by id.

    A change is written under one member, and its undo beside it only while that member
    lives (:func:`steward_event`): a split written under the member a moved card went back
    to, undone under the member the undo joined, is in neither history alone. So the
    histories read start with ``members`` and grow with what is found (the members each
    found change names, was written under, or holds its records now) until none is new, and
    an undo's change is read by its id wherever it is."""
    touched = set(refs)
    found: dict[int, IdentityEvent] = {}
    asked, read = set(members), set[str]()
    while asked - read:
        batch = sorted(asked - read)
        read.update(batch)
        for history in await store.member_events(batch):
            for event in history:
                if event.kind != STEWARD or event.id is None or event.id <= after:
                    continue
                if touched.intersection(records_of(event.evidence)):
                    found[event.id] = event
        targets = {event.evidence.get("undoes") for event in found.values()}
        for target in sorted(t for t in targets if isinstance(t, int)):
            if target > after and target not in found:
                taken_back = await store.event(target)
                if taken_back is not None and taken_back.kind == STEWARD:
                    found[target] = taken_back
        asked.update(await deciding_members(store, found.values()))
        asked.update(event.member_id for event in found.values())
    return found


def standing(events: Mapping[int, IdentityEvent], but: int | None = None) -> list[IdentityEvent]:
    """The changes among ``events`` still in effect, oldest first: a change undone cancels
    out with its undo, and an undo undone in turn (a redo) with its own undo, which leaves
    the change standing. The undo of event ``but`` (not among them) is left in."""
    cancelled: set[int] = set()
    for target, undo in undone_events(events[k] for k in sorted(events)).items():
        if target != but:
            cancelled.update((target, undo))
    return [events[k] for k in sorted(events) if k not in cancelled]


def merge_sides(event: IdentityEvent) -> tuple[list[RecordKey], list[RecordKey]]:
    """A ``merged`` event's two sides: the records merged away and those merged into."""
    merged, into = (
        [(r[0], r[1]) for r in event.evidence.get(side, [])]
        for side in ("merged_records", "into_records")
    )
    return merged, into


def parted_merges(events: Iterable[IdentityEvent], held: Iterable[RecordKey]) -> set[int]:
    """The merges among ``events`` (a member's history) whose two sides that member, holding
    ``held``, no longer joins: split or undone since, by whatever change. Nothing is left
    for an undo of them to part."""
    records = set(held)
    return {
        event.id
        for event in events
        if event.kind == "merged"
        and event.id is not None
        and not all(records.intersection(side) for side in merge_sides(event))
    }

"""A steward's link: two records' members become one.

A steward's link merges. It may give a shared device (a web visitor logged in as two
members, in no member: :data:`~membergraph.identity.values.SHARED_DEVICE`) to the member of
the other record it names; a purchase record that identifies no one (keyed by a placeholder:
many people's) is refused. It never takes a profile record (a card, a CRM contact, an online
account) away from another member silently. When the resolution it causes would part the
profile records of a member, the link is refused with ``WOULD_MOVE_RECORDS`` naming that
member and the records that would leave it, unless the steward says ``move``.

A later manual link between the two sides of a split lifts the split's cannot-links (the
steward's later word on the same records; its event lists them, and its undo puts them
back). A link that would lift a steward's rejection (``rejectSuggestion``: two contacts
said to be two people) through other records of their members is refused with
``WOULD_LIFT_REJECTION`` naming them and the rejection, unless the steward says
``lift_rejection``; a link of the two rejected contacts themselves names them, and lifts it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from itertools import product
from typing import Any

from membergraph.identity.records import RecordKey
from membergraph.identity.service import Adjustments, ApplyResult, IdentityService
from membergraph.identity.steward_record import standing, steward_changes
from membergraph.identity.steward_request import (
    Preview,
    StewardError,
    dry,
    members_of,
    pair,
    require_reason,
    scope_of,
)
from membergraph.identity.store.conflict_state import RESOLVED, latest_decisions
from membergraph.identity.store.port import IdentityEvent

__all__ = ["JOINED", "link_records", "rejections", "stripped"]

JOINED = "joined"  # the rule of a decision closing a conflict whose records a link joined


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


async def rejections(
    service: IdentityService, pairs: set[frozenset[RecordKey]], members: Sequence[str]
) -> dict[frozenset[RecordKey], IdentityEvent]:
    """The cannot-links among ``pairs`` (held now) that a steward's rejection added or took
    over and no later change lifted: each with that rejection's ``steward`` event (rule
    ``reject``). Read from the histories of ``members`` and of the members the changes found
    name."""
    refs = sorted({ref for p in pairs for ref in p})
    found: dict[frozenset[RecordKey], IdentityEvent] = {}
    for event in standing(await steward_changes(service.store, refs, members)):
        # Added, or taken over (a split's cannot-link, held when the pair was rejected).
        said = event.evidence
        added = {_pair(i) for i in [*said.get("cannot_added", []), *said.get("cannot_taken", [])]}
        if event.rule == "reject":
            found.update(dict.fromkeys(added & pairs, event))
        # lifted since (a link that said so): held now, it is another change's
        for item in event.evidence.get("cannot_lifted", []):
            found.pop(_pair(item), None)
    return found


def _pair(item: list[Any]) -> frozenset[RecordKey]:
    return pair((item[0][0], item[0][1]), (item[1][0], item[1][1]))


_LINK_ADVICE = "link those two themselves, or link with liftRejection: true to lift the rejection"


def _refuse_lift(
    found: dict[frozenset[RecordKey], IdentityEvent], members: list[str], advice: str
) -> None:
    if not found:
        return
    said = "; ".join(
        f"{' and '.join(f'{s}:{k}' for s, k in sorted(p))} (event {event.id}, by "
        f"{event.actor}, {event.at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC)"
        for p, event in sorted(found.items(), key=lambda item: sorted(item[0]))
    )
    raise StewardError(
        f"the link would join records a steward rejected as two people: {said}; {advice}",
        "WOULD_LIFT_REJECTION",
        members=members,
        records=sorted({f"{s}:{k}" for p in found for s, k in p}),
        events=sorted({e.id for e in found.values() if e.id is not None}),
    )


async def _joined_conflicts(
    service: IdentityService,
    members: Sequence[str],
    sides: Sequence[Sequence[RecordKey]],
    actor: str,
    reason: str,
    deciding: object = None,
) -> tuple[list[IdentityEvent], list[IdentityEvent]]:
    """The open conflicts in the two members' histories whose records the link joins (some
    on each side, none elsewhere: a limit or a cannot-link between them, a call naming
    both), and the decisions (rule ``joined``) that close them beside its ``steward`` event:
    the link the engine refused is made. ``deciding``: the conflict a ``resolveConflict``
    decides itself (its own decision is written)."""
    one, other = set(sides[0]), set(sides[1])
    found = {
        event.id: event
        for history in await service.store.member_events(sorted(set(members)))
        for event in history
        if event.kind == "conflict"
        and event.id is not None
        and event.id != deciding
        and set(event.records) <= one | other
        and one.intersection(event.records)
        and other.intersection(event.records)
    }
    if not found:
        return [], []
    latest = latest_decisions(await service.store.metrics().conflict_decisions(list(found)))
    still_open = [
        c for i, c in sorted(found.items()) if i not in latest or latest[i].kind != RESOLVED
    ]
    now = datetime.now(UTC)
    decisions = [
        IdentityEvent(
            members[0],
            RESOLVED,
            now,
            actor,
            rule=JOINED,
            reason=reason,
            evidence={
                "conflict_id": c.id,
                "conflict_kind": c.rule,
                "beside": "steward",
            },
            records=c.records,
        )
        for c in still_open
    ]
    return still_open, decisions


async def link_records(
    service: IdentityService,
    a: RecordKey,
    b: RecordKey,
    reason: str,
    actor: str,
    move: bool = False,
    preview: Preview | None = None,
    action: str = "link",
    lift_rejection: bool = False,
    detach: Sequence[RecordKey] = (),
    pair_lifts: bool = True,
    advice: str = _LINK_ADVICE,
    said: dict[str, Any] | None = None,
    events: Sequence[IdentityEvent] = (),
    before: Callable[[], Awaitable[dict[str, int]]] | None = None,
) -> list[str]:
    """A steward's merge: the members of ``a`` and ``b`` become one. Returns its ID.

    When the rules cannot hold the two together (a card linked to a second CRM contact),
    the link moves records instead and the answer has both members: refused with
    ``WOULD_MOVE_RECORDS`` unless ``move``. A cannot-link of a steward's rejection between
    two other records of the two members is lifted only with ``lift_rejection``
    (``WOULD_LIFT_REJECTION``). With ``preview``, nothing is written.

    With ``detach``, ``a`` (a call or a web visitor the rules put on another member) joins
    ``b``'s member alone instead, kept apart from the ``detach`` records by cannot-links: its
    member and ``b``'s stay two. ``said`` goes into the steward event's evidence and
    ``events`` are written with it (a conflict's decision); ``before`` runs first in each
    attempt (it may refuse) and answers versions the link is checked against and moves on
    (:attr:`Adjustments.versions`).

    ``pair_lifts``: a rejection of ``a`` and ``b`` themselves is lifted by naming them (a
    ``linkRecords``); False (an accepted suggestion, which a steward may have read before
    another rejected it) refuses it as any other. ``advice`` ends a refusal: what the caller
    passes to go on, in the words of its own mutation.
    """
    if a == b:
        raise StewardError("a record cannot be linked to itself")
    require_reason(reason)
    async with service.lock:

        async def attempt() -> ApplyResult:
            versions = {} if before is None else await before()
            # A shared device (in no member) may be given to the other record's member.
            members = await members_of(service, [a, b], devices=True)
            held = iter(
                await service.store.member_records([members[r] for r in (a, b) if r in members])
            )
            # A shared device (in no member) is a side of its own: a split may have kept it
            # apart from the other member's records, which the link lifts as any other.
            sides = [next(held) if r in members else [r] for r in (a, b)]
            if detach:  # it leaves its member alone: nothing of that member is linked
                sides[0] = [a]
            lift = {pair(x, y) for x, y in product(*sides) if x != y}
            (scope, hubs), state = await scope_of(service, [a, b, *detach])
            # A pair a steward linked already keeps its link (and its reason): linking it
            # again answers the member as it is, as a retried split does.
            kept_apart = {pair(x, y) for x, y in state.cannot}
            if not lift_rejection:
                # Read with the versions the write is checked against: a rejection landing
                # after this read moves both members' versions, so the write conflicts and
                # the attempt made again reads (and refuses) it.
                apart = lift & kept_apart
                if pair_lifts:
                    apart -= {pair(a, b)}
                named = sorted({members[r] for r in (a, b) if r in members})
                found = await rejections(service, apart, named) if apart else {}
                _refuse_lift(found, named, advice)
            linked = any(
                link.rule == "manual" and pair(link.a, link.b) == pair(a, b)
                for link in state.active
            )
            # The conflicts the link decides (its records joined): closed with it, as a
            # resolveConflict LINK closes its own (a move, those it leaves in one member).
            apart_now = len({members.get(a), members.get(b)} - {None}) == 2
            closes, decided = (
                await _joined_conflicts(
                    service,
                    [members[a], members[b]],
                    sides,
                    actor,
                    reason,
                    deciding=(said or {}).get("conflict_id"),
                )
                if apart_now and not detach
                else ([], [])
            )
            adjust = Adjustments(
                manual_add=[] if linked else [(a, b, {"reason": reason})],
                cannot_add=[(a, r) for r in detach if pair(a, r) not in kept_apart],
                cannot_lift=lift,
                reason=reason,
                events=[*events, *decided],
                closes=closes,
                closes_if_joined=move,
                action=action,
                said=dict(said or {}),
                anchor=a,
                versions=versions,
            )
            return await service.apply_scope(
                scope,
                set(),
                hubs,
                actor,
                adjust=adjust,
                state=state,
                guard=None if move else _refuse_strip,
                dry_run=dry(preview),
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

"""What every steward's request shares: its reason, its refusals and its dry run.

A steward names records and gives a reason; a request that cannot be carried out is
refused with a :class:`StewardError` whose ``code`` says why. Each operation takes a
:class:`Preview`: given one, the change is worked out exactly as it would be made (the same
member IDs, the same moves) and nothing is written.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from membergraph.identity.closure import Closure
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.service import ApplyResult, IdentityService
from membergraph.identity.store.port import IdentityEvent, ScopeState
from membergraph.identity.values import SHARED_DEVICE, stored_nobodys_reason

__all__ = [
    "MAX_REASON_CHARS",
    "Moves",
    "Preview",
    "StewardError",
    "already_undone",
    "dry",
    "missing",
    "as_is",
    "members_of",
    "pair",
    "require_reason",
    "scope_of",
]


class StewardError(ValueError):
    """A steward's request that cannot be carried out; ``code`` says why."""

    def __init__(
        self,
        message: str,
        code: str = "BAD_USER_INPUT",
        members: Sequence[str] = (),
        records: Sequence[str] = (),
        events: Sequence[int] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.members = list(members)  # the members concerned (e.g. the one a link would strip)
        self.records = list(records)  # ``source:key`` of the records concerned
        self.events = list(events)  # the events concerned (e.g. the rejection a link lifts)


def missing(event_id: int, gone: bool | None) -> StewardError:
    """The refusal of an event id no event has: erased (``gone``, as the store tells from the
    ids it gave) or never given."""
    if gone:
        return StewardError(
            f"event {event_id} was erased (a privacy erasure deletes the history of the member "
            "it erases): there is nothing left to undo",
            "NOT_FOUND",
        )
    return StewardError(f"event {event_id} does not exist", "NOT_FOUND")


def already_undone(event: IdentityEvent, by: int) -> StewardError:
    """The refusal of an undo of an event undone since (by event ``by``)."""
    return StewardError(
        f"event {event.id} ({event.kind} by {event.actor}) was undone by event {by}; "
        f"to make the change again, undo event {by}",
        "ALREADY_UNDONE",
    )


@dataclass(frozen=True, slots=True)
class Moves:
    """What a change does (or, in a dry run, would do) to one member it answers: the
    members before it whose records it holds, the records that join it and leave it, and
    its records before (none: no member held its ID, a split's new side). ``done``: the
    change was made."""

    member: str
    members_now: tuple[str, ...]
    joining: tuple[RecordKey, ...]
    leaving: tuple[RecordKey, ...]
    now: tuple[RecordData, ...]
    done: bool = False

    @property
    def shown(self) -> tuple[str, ...]:
        """The members whose records an answer of this member shows: those it is made of as
        they were, and itself when it held records before or the change made it (never an
        ID a dry run would give: it does not exist)."""
        held = self.now or self.done
        return tuple(sorted(set(self.members_now) | ({self.member} if held else set())))


@dataclass(slots=True)
class Preview:
    """What a steward's change does, filled in as it is worked out: in a dry run (``dry``)
    nothing is written; else it is what the change written did, the same for the same
    change (a client tells its user what moved without asking twice).

    ``members`` are the members the change answers, as it leaves them: each ID with its
    records. ``moved`` lists every record whose member changes: its member before (None: a
    record new to the store) and its member after. ``now``: each answered ID's records
    before the change (none for an ID no member held).
    """

    members: dict[str, list[RecordData]] = field(default_factory=dict)
    moved: list[tuple[RecordKey, str | None, str]] = field(default_factory=list)
    now: dict[str, list[RecordData]] = field(default_factory=dict)
    dry: bool = True

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
        # The scope holds the whole of every member the change touches (the closure walks
        # members whole), so its records' members before are those members as they are.
        was: dict[str, list[RecordData]] = defaultdict(list)
        for ref, member in sorted(result.before.items()):
            if member in ids and ref in result.scope:
                was[member].append(result.scope[ref])
        self.now = {m: was[m] for m in ids if was[m]}

    def moves(self, member: str) -> Moves:
        """What the change does to ``member``, one of :attr:`members`."""
        before = {ref: was for ref, was, _ in self.moved}
        after = [r.ref for r in self.members.get(member, [])]
        now = self.now.get(member, [])
        held = {r.ref for r in now}
        made_of = {before.get(ref, member) for ref in after}
        return Moves(
            member=member,
            members_now=tuple(sorted(m for m in made_of if m is not None)),
            joining=tuple(ref for ref in after if ref not in held),
            leaving=tuple(sorted(held - set(after))),
            now=tuple(now),
            done=not self.dry,
        )


def dry(preview: Preview | None) -> bool:
    """Whether nothing is to be written: a dry run's preview."""
    return preview is not None and preview.dry


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


def pair(a: RecordKey, b: RecordKey) -> frozenset[RecordKey]:
    return frozenset((a, b))


async def members_of(
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


async def as_is(service: IdentityService, ids: Sequence[str]) -> ApplyResult:
    """Members as they are, for the preview of a change already made (nothing moves)."""
    held = await service.store.member_records(ids)
    member_of = {ref: m for m, refs in zip(ids, held, strict=True) for ref in refs}
    scope = await service.store.load_records(list(member_of))
    return ApplyResult(members=len(ids), member_of=member_of, before=member_of, scope=scope)

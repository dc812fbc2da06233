"""What the identity store's port speaks in: its changes, events, links and errors.

Errors a driver raises are converted at the adapter's boundary into :class:`StoreError`
(``raise StoreError(...) from exc``), so callers never see an aiosqlite or PyMongo type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, NamedTuple

from membergraph.identity.engine import Conflict, Link, ValueKey
from membergraph.identity.feed import FeedEntry
from membergraph.identity.records import Identifier, RecordData, RecordKey

__all__ = [
    "Change",
    "ClosureStep",
    "ConcurrentChange",
    "DaysRead",
    "IdentityEvent",
    "MemberColumn",
    "MemberParts",
    "ScopeState",
    "StepPlan",
    "StoreError",
    "StoreBusy",
    "StoreUnwritable",
    "StoredLink",
    "TransientStoreError",
    "event_from",
    "linked_members",
    "plan_step",
    "renamed_refs",
]


MemberColumn = Literal["member_id", "origin_member_id", "previous_member_id"]
DaysRead = tuple[dict[str, frozenset[str]] | None, dict[str, frozenset[str]] | None]
"""A record's ``days`` and ``email_days`` as read (``Change.days_read``)."""


class MemberParts(NamedTuple):
    """What a member's fields read first: its records (in key order) and its identifiers
    with the record carrying each (by kind, value and record)."""

    records: list[RecordKey]
    identifiers: list[tuple[RecordKey, Identifier]]


class StoreError(RuntimeError):
    """The identity store could not be reached or refused an operation."""


class StoreBusy(StoreError):
    """Another connection held the store's write lock for as long as the write could wait
    (a request's: what was left of its time budget): nothing of the write was written, and
    the same write sent again may pass once the lock is let go."""


class StoreUnwritable(StoreError):
    """The store's file cannot be written (its disk is full, or failing): reads still
    answer, every write fails until an operator frees room; readiness says so."""


@dataclass(frozen=True, slots=True)
class IdentityEvent:
    """Something that happened to a member: linked, merged, conflict, blocked value, ..."""

    member_id: str
    kind: str
    at: datetime
    actor: str
    rule: str | None = None
    reason: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    records: tuple[RecordKey, ...] = ()
    id: int | None = None


def event_from(fields: Any, evidence: Any, records: Any) -> IdentityEvent:
    """An event from a stored row or document (anything indexed by column name), with its
    ``evidence`` and ``records`` already decoded."""
    return IdentityEvent(
        id=fields["id"],
        member_id=fields["member_id"],
        kind=fields["kind"],
        at=datetime.fromisoformat(fields["at"]),
        actor=fields["actor"],
        rule=fields["rule"],
        reason=fields["reason"],
        evidence=evidence or {},
        records=tuple((r[0], r[1]) for r in records or ()),
    )


@dataclass(frozen=True, slots=True)
class StoredLink:
    """A link as the store keeps it, with provenance."""

    id: int
    a: RecordKey
    b: RecordKey
    rule: str
    evidence: dict[str, Any]
    actor: str
    created_at: datetime


@dataclass(slots=True)
class Change:
    """One atomic change of the identity graph: all of it is written, or none."""

    records: list[RecordData] = field(default_factory=list)
    assignments: dict[RecordKey, str] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    new_members: list[str] = field(default_factory=list)
    # Records that leave every member (they identify no one: a purchase keyed by a value
    # the data shows to be a placeholder), and the members that had only those: retired
    # with no successor, so no redirect.
    unassigned: list[RecordKey] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    links_added: list[Link] = field(default_factory=list)
    # The member each added link belongs to after the change: the store records link i as a
    # "linked" event of link_members[i] (the link's rule and evidence, the change's actor,
    # reason and time, records (a, b)), before ``events``. A list of IDs, not events: a
    # first load adds some 170,000 links, and the store can write these rows without them.
    link_members: list[str] = field(default_factory=list)
    links_retracted: list[tuple[RecordKey, RecordKey, str]] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    events: list[IdentityEvent] = field(default_factory=list)
    cannot_added: list[tuple[RecordKey, RecordKey]] = field(default_factory=list)
    cannot_lifted: list[tuple[RecordKey, RecordKey]] = field(default_factory=list)
    # Optimistic concurrency: the versions the change was computed from. A member whose
    # version moved since means another writer got there first: nothing is written. A store
    # may add versions of its own guards here (MongoDB's value guards, keyed "value:...").
    expected_versions: dict[str, int] = field(default_factory=dict)
    actor: str = "engine"
    reason: str | None = None
    at: datetime | None = None
    # What the change says to the feed's followers, written in the same transaction.
    feed: list[FeedEntry] = field(default_factory=list)
    # Records keyed anew by this release (``membergraph reresolve``, identity/rekey.py):
    # each old record is deleted, and the links, cannot-links and stewards' events naming
    # it name its new key instead (the new record is among ``records``). ``gone``: records
    # deleted outright (the change's own lists retract their links and lift their
    # cannot-links first). With ``replace_identifiers`` the identifiers of ``records``
    # replace those stored (otherwise identifiers are only ever added).
    renamed: dict[RecordKey, RecordKey] = field(default_factory=dict)
    gone: list[RecordKey] = field(default_factory=list)
    replace_identifiers: bool = False
    # Records of ``records`` whose purchases by day, and a card's e-mails by day, the change
    # was computed from (:data:`DaysRead`), where no member version guards them (an ingest
    # keeping a card's new day, ``IdentityService``): another writer kept other days in
    # them since, and writing these would lose those (ConcurrentChange: computed again).
    days_read: dict[RecordKey, DaysRead] = field(default_factory=dict)
    # Members whose version moves though no record of theirs does (a steward's decision about
    # a conflict of theirs): another decision computed from them before conflicts with this
    # one. Each is also in ``expected_versions``.
    touched: list[str] = field(default_factory=list)
    # Lines keyed anew whose consent facts (the privacy store's, by record and line) follow
    # them: ``(source, line id, old record key, new record key)``.
    facts_moved: list[tuple[str, str, str, str]] = field(default_factory=list)


def linked_members(change: Change) -> list[tuple[Link, str]]:
    """Each added link with the member its "linked" event goes to (see ``link_members``)."""
    if not change.link_members:
        return []
    return list(zip(change.links_added, change.link_members, strict=True))


@dataclass(slots=True)
class ScopeState:
    """What a resolution reads about the records in its scope, before it computes a change."""

    assignments: dict[RecordKey, str]
    versions: dict[str, int]
    active: list[StoredLink]
    cannot: list[tuple[RecordKey, RecordKey]]
    origins: dict[RecordKey, str]
    previous: dict[RecordKey, str]
    # IDs the scope's records had before but no longer hold: which of them were ever used
    # (never given to a new member), and which are live members elsewhere (never revived).
    taken: set[str] = field(default_factory=set)
    live_elsewhere: set[str] = field(default_factory=set)
    # The days of the scope's stored purchase records as the resolution read them, where no
    # member version guards them (``Change.days_read``): a whole-store resolution writing a
    # card the data set gave a day must not drop one another process kept since it read.
    days_read: dict[RecordKey, DaysRead] = field(default_factory=dict)

    def foreign_ids(self) -> set[str]:
        """IDs the records had first or before, that none of them holds now."""
        held = set(self.assignments.values())
        return (set(self.origins.values()) | set(self.previous.values())) - held


@dataclass(slots=True)
class ClosureStep:
    """One step of an ingest's closure: what the frontier reaches through values and members."""

    hubs: set[ValueKey]  # values on more records than the cap: their carriers not visited
    members: set[str]  # members of the frontier not seen before
    records: dict[RecordKey, RecordData]  # the records reached, not known before
    carried: dict[ValueKey, list[RecordKey]] = field(default_factory=dict)
    """Who carries each value that is not a hub (the walk may yet find it one by people)."""
    joined: set[RecordKey] = field(default_factory=set)  # the records of the new members
    peeked: dict[ValueKey, dict[RecordKey, RecordData] | None] = field(default_factory=dict)
    """The CRM contacts carrying each value the walk asked to peek at, every one, loaded;
    never visited."""
    crowded: dict[ValueKey, dict[RecordKey, RecordData]] = field(default_factory=dict)
    """Devices the walk knew crowded whose witnesses all still carry them, each with those
    witnesses loaded (those not known already): their other carriers are not visited, the
    walk judges the device again on its witnesses (``closure_walk``'s ``crowded``)."""


@dataclass(slots=True)
class StepPlan:
    """What a closure step reaches before any record is loaded (:func:`plan_step`)."""

    hubs: set[ValueKey]
    carried: dict[ValueKey, list[RecordKey]]
    joined: set[RecordKey]
    peek: dict[ValueKey, list[RecordKey] | None]  # each peeked value's CRM carriers
    crowded: dict[ValueKey, AbstractSet[RecordKey]] = field(default_factory=dict)

    def to_load(self, known: AbstractSet[RecordKey]) -> set[RecordKey]:
        """The records to load: those reached not in ``known``, and the peeked ones."""
        reached = {ref for refs in self.carried.values() for ref in refs} | self.joined
        peeked = {ref for refs in self.peek.values() if refs for ref in refs}
        witnesses = {ref for refs in self.crowded.values() for ref in refs}
        return (reached - known) | peeked | (witnesses - known)

    def step(
        self,
        members: set[str],
        loaded: Mapping[RecordKey, RecordData],
        known: AbstractSet[RecordKey],
    ) -> ClosureStep:
        """The step, from the records :meth:`to_load` named, loaded."""
        reached = {ref for refs in self.carried.values() for ref in refs} | self.joined
        records = {ref: loaded[ref] for ref in reached - known if ref in loaded}
        peeked = {
            value: None if refs is None else {ref: loaded[ref] for ref in refs if ref in loaded}
            for value, refs in self.peek.items()
        }
        crowded = {
            value: {ref: loaded[ref] for ref in refs if ref in loaded}
            for value, refs in self.crowded.items()
        }
        return ClosureStep(self.hubs, members, records, self.carried, self.joined, peeked, crowded)


def plan_step(
    found: Mapping[ValueKey, list[RecordKey]],
    values: Iterable[ValueKey],
    limit: int,
    member_refs: Iterable[list[RecordKey]],
    peek: Iterable[ValueKey],
    crowded: Mapping[ValueKey, AbstractSet[RecordKey]] | None = None,
) -> StepPlan:
    """What a closure step reaches, from who carries each of ``values`` and ``peek``
    (``found``): the values on more than ``limit`` records are hubs, the others' carriers
    are reached, and so are the records of the new members; of each value peeked at, every
    CRM contact (``found`` names them all, however many records carry the value). Of a
    device ``crowded`` names with witnesses that all still carry it, only the witnesses
    are loaded (the walk judges it on them), its carriers not reached."""
    hubs: set[ValueKey] = set()
    carried: dict[ValueKey, list[RecordKey]] = {}
    still: dict[ValueKey, AbstractSet[RecordKey]] = {}
    for value in values:
        carriers = found.get(value)
        if carriers is None:
            continue
        carrying = set(carriers)
        if len(carrying) > limit:
            hubs.add(value)
        elif crowded and value in crowded and crowded[value] <= carrying:
            still[value] = crowded[value]
        else:
            carried[value] = carriers
    joined = {ref for member in member_refs for ref in member}
    crm: dict[ValueKey, list[RecordKey] | None] = {}
    for value in peek:
        # Every one, however many records carry the value: whose a card's purchases are
        # depends on all of its contacts (a card on more than ``limit`` records too).
        crm[value] = [r for r in found.get(value, []) if r[0] == "crm"]
    return StepPlan(hubs, carried, joined, crm, still)


class TransientStoreError(StoreError):
    """The store failed in a way a new attempt may not (a failover, a write conflict):
    read again, compute again, write again."""


class ConcurrentChange(TransientStoreError):
    """A member changed between reading it and writing a change computed from it."""


def renamed_refs(value: Any, renamed: Mapping[RecordKey, RecordKey]) -> tuple[Any, bool]:
    """``value`` (a steward event's evidence or records, as JSON) with every record it names
    that was keyed anew (``Change.renamed``) named by its new key, and whether any was: the
    decision follows its record, and ``undo`` finds it."""
    if isinstance(value, list | tuple):
        if len(value) == 2 and all(isinstance(v, str) for v in value):
            new = renamed.get((value[0], value[1]))
            if new is not None:
                return [new[0], new[1]], True
        items = [renamed_refs(v, renamed) for v in value]
        return [v for v, _ in items], any(hit for _, hit in items)
    if isinstance(value, dict):
        pairs = {k: renamed_refs(v, renamed) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, any(hit for _, hit in pairs.values())
    return value, False

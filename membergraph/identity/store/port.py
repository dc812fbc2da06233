"""The identity store port: the domain operations every adapter provides.

The types it speaks in (changes, events, errors) are in :mod:`.types`; errors a driver
raises become :class:`StoreError` at the adapter's boundary.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence, Set
from datetime import datetime
from typing import NamedTuple, Self

from membergraph.identity.closure import Closure, Walk, run_walk_async
from membergraph.identity.engine import Link, ValueKey
from membergraph.identity.feed import FeedEntry
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordData, RecordKey
from membergraph.identity.store.format import StoreMark
from membergraph.identity.store.metrics_port import MetricsStore
from membergraph.identity.store.types import (
    Change,
    ClosureStep,
    ConcurrentChange,
    IdentityEvent,
    MemberColumn,
    MemberParts,
    ScopeState,
    StoredLink,
    StoreError,
    StoreUnwritable,
    TransientStoreError,
    event_from,
    linked_members,
    plan_step,
)

__all__ = [
    "Change",
    "ClosureStep",
    "ConcurrentChange",
    "IdentityEvent",
    "IdentityStore",
    "MemberCarried",
    "MemberColumn",
    "MemberParts",
    "ScopeState",
    "StoreError",
    "StoreUnwritable",
    "StoredLink",
    "TransientStoreError",
    "contact_values",
    "event_from",
    "linked_members",
    "plan_step",
]


class IdentityStore(abc.ABC):
    """Where records, links, members and identity events live.

    Methods taking ``refs`` read only what touches those records; ``refs=None`` means every
    record (batch resolution reads whole tables instead of millions of keys).
    """

    url: str
    """The URL the store was opened from (what a message tells a user to pass)."""

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and create what is missing (tables, indexes)."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release the connection."""

    @abc.abstractmethod
    async def ping(self) -> dict[str, int]:
        """Check the store answers; return counts of records, members and links."""

    @abc.abstractmethod
    async def apply(self, change: Change) -> None:
        """Write a change atomically."""

    @abc.abstractmethod
    async def mark(self) -> StoreMark | None:
        """What made the store (:mod:`.format`): None when no resolution has marked it (a
        new store, or one from before marks)."""

    @abc.abstractmethod
    async def set_mark(self, mark: StoreMark) -> None:
        """Record what made the store, after a whole-store resolution under it."""

    @abc.abstractmethod
    async def sources_resolved(self) -> str | None:
        """The version of the listed sources the store was last resolved from at a start
        (:attr:`SourceSet.version <membergraph.source_set.SourceSet.version>`); None when
        no start recorded one."""

    @abc.abstractmethod
    async def set_sources_resolved(self, version: str) -> None:
        """Record that a start resolved the listed sources at ``version``."""

    async def holds_records(self) -> bool:
        """Whether the store holds any record (one with none is new, whatever its mark)."""
        return (await self.ping())["records"] > 0

    async def stage(self, records: Sequence[RecordData]) -> None:
        """Begin the change that will write ``records`` (all of a whole-store resolution)
        while the engine computes the rest of it; :meth:`apply` then completes it and
        :meth:`unstage` abandons it. Nothing is visible to others before :meth:`apply`.

        A store may do nothing here (the default): :meth:`apply` writes everything.
        """
        return None

    async def stage_links(
        self, links: Sequence[Link], actor: str, at: datetime, more: bool = False
    ) -> None:
        """Go on with what :meth:`stage` began: links the change adds, after those of earlier
        calls (``more``: others follow). A whole-store resolution hands them over in runs
        while the engine goes on: those among profiles, the leaves' every few thousand,
        then the last run (not ``more``, perhaps empty), after which a store may build what
        needs them all. Otherwise they come in one call once the engine is done."""
        return None

    async def stage_members(
        self, assignments: Mapping[RecordKey, str], new_members: Sequence[str], at: datetime
    ) -> None:
        """Go on with what :meth:`stage` began, now that each record's member and the new
        members are known (the change's events are still being worked out)."""
        return None

    async def unstage(self) -> None:
        """Abandon what :meth:`stage` began (the change failed before :meth:`apply`)."""
        return None

    async def closure_step(
        self,
        values: Iterable[ValueKey],
        frontier: Sequence[RecordKey],
        seen_members: set[str],
        known: Set[RecordKey],
        limit: int,
        peek: Sequence[ValueKey] = (),
    ) -> ClosureStep:
        """From a frontier: the carriers of ``values`` (a value on more than ``limit``
        records is a hub, not followed), the frontier's members not in ``seen_members``,
        their records, and every record so reached not in ``known``, loaded; and the CRM
        contacts carrying each of ``peek``, loaded (not followed)."""
        values, peek = list(values), list(peek)
        found = await self.carriers([*values, *peek])
        members = set((await self.assignments(frontier)).values()) - seen_members
        plan = plan_step(found, values, limit, await self.member_records(sorted(members)), peek)
        return plan.step(members, await self.load_records(plan.to_load(known)), known)

    async def closure_state(self, walk: Walk) -> tuple[Closure, ScopeState]:
        """Run an ingest's closure walk (:func:`~membergraph.identity.closure.closure_walk`)
        to its end, and read the :meth:`scope_state` of the records it found. By default
        one :meth:`closure_step` per step the walk asks for, then the state; a store may
        answer it all in one round trip, from one snapshot."""
        closure = await run_walk_async(walk, self.closure_step)
        return closure, await self.scope_state(closure[0])

    @abc.abstractmethod
    async def load_records(self, refs: Iterable[RecordKey] | None) -> dict[RecordKey, RecordData]:
        """The stored records among ``refs``."""

    @abc.abstractmethod
    async def carriers(self, values: Iterable[ValueKey]) -> dict[ValueKey, list[RecordKey]]:
        """Which records carry each value (for incremental resolution)."""

    @abc.abstractmethod
    async def record_members(
        self, column: MemberColumn, refs: Iterable[RecordKey] | None
    ) -> dict[RecordKey, str]:
        """One of a record's members (``member_id``, ``origin_member_id`` or
        ``previous_member_id``) for each of ``refs`` that has one."""

    async def assignments(self, refs: Iterable[RecordKey] | None) -> dict[RecordKey, str]:
        """The member each record belongs to now."""
        return await self.record_members("member_id", refs)

    async def origins(self, refs: Iterable[RecordKey] | None) -> dict[RecordKey, str]:
        """The first member each record was given (a split hands it back)."""
        return await self.record_members("origin_member_id", refs)

    async def previous(self, refs: Iterable[RecordKey] | None) -> dict[RecordKey, str]:
        """The member each record had before its current one (a split hands it back)."""
        return await self.record_members("previous_member_id", refs)

    async def all_assignments(self) -> dict[RecordKey, str]:
        """Every record's member (for batch resolution and ``membergraph resolve``)."""
        return await self.record_members("member_id", None)

    @abc.abstractmethod
    async def active_links(self, refs: Iterable[RecordKey] | None) -> list[StoredLink]:
        """Active links touching any of ``refs``."""

    @abc.abstractmethod
    async def manual_links(self, refs: Iterable[RecordKey] | None) -> list[StoredLink]:
        """Active stewards' links touching any of ``refs``."""

    @abc.abstractmethod
    async def cannot_links(
        self, refs: Iterable[RecordKey] | None
    ) -> list[tuple[RecordKey, RecordKey]]:
        """Cannot-link pairs touching any of ``refs``."""

    async def scope_state(self, refs: Iterable[RecordKey] | None) -> ScopeState:
        """Everything a resolution reads about ``refs`` (None: the whole store); an adapter
        may read it in one go."""
        refs = None if refs is None else list(refs)
        current = await self.assignments(refs)
        state = ScopeState(
            assignments=current,
            versions=await self.member_versions(set(current.values())),
            active=await self.active_links(refs),
            cannot=await self.cannot_links(refs),
            origins=await self.origins(refs),
            previous=await self.previous(refs),
        )
        state.taken = await self.taken_member_ids(state.foreign_ids())
        state.live_elsewhere = {m for m in state.taken if await self.resolve_member_id(m) == m}
        return state

    @abc.abstractmethod
    async def resolve_member_id(self, member_id: str) -> str | None:
        """The live member an ID names, following redirects; None if unknown."""

    @abc.abstractmethod
    async def member_records(self, member_ids: Sequence[str]) -> list[list[RecordKey]]:
        """Each member's records, in the order of ``member_ids``."""

    @abc.abstractmethod
    async def member_identifiers(
        self, member_ids: Sequence[str]
    ) -> list[list[tuple[RecordKey, Identifier]]]:
        """Each member's identifiers with the record carrying them."""

    async def member_parts(self, member_ids: Sequence[str]) -> list[MemberParts]:
        """Each member's records and identifiers: what a query's member fields read first,
        in one read where the adapter can (a request's loaders ask this, not the two)."""
        records = await self.member_records(member_ids)
        identifiers = await self.member_identifiers(member_ids)
        return [MemberParts(r, i) for r, i in zip(records, identifiers, strict=True)]

    @abc.abstractmethod
    async def find_members(self, kind: IdentifierKind, key: str) -> list[str]:
        """Members carrying an identifier (by matching key), oldest first."""

    async def find_member_parts(
        self, kind: IdentifierKind, key: str
    ) -> tuple[str, MemberParts] | None:
        """The first of :meth:`find_members` with its :meth:`member_parts` (None: nobody),
        in one read where the adapter can: a lookup by e-mail reads both at once."""
        found = await self.find_members(kind, key)
        if not found:
            return None
        [parts] = await self.member_parts(found[:1])
        return found[0], parts

    async def find_member_carried(
        self, kind: IdentifierKind, key: str, floor: int, max_records: int
    ) -> MemberCarried | None:
        """:meth:`find_member_parts` with what tells whether the member's e-mails and phones
        are placeholders (``placeholders.weigh_placeholders``): the records carrying each
        (at most ``max_records`` + 1), and the records of the values carried more than
        ``floor`` times and no more than ``max_records``; in one read where the adapter
        can. A profile weighs those values: read with the lookup, they cost no read of
        their own."""
        found = await self.find_member_parts(kind, key)
        if found is None:
            return None
        member, parts = found
        return await self._carried(member, parts, floor, max_records)

    async def member_carried(
        self, member_id: str, floor: int, max_records: int
    ) -> MemberCarried | None:
        """What :meth:`find_member_carried` reads, for the live member an ID names
        (:meth:`resolve_member_id`; None: unknown): ``member(id:)``'s lookup, in one read
        where the adapter can."""
        member = await self.resolve_member_id(member_id)
        if member is None:
            return None
        [parts] = await self.member_parts([member])
        return await self._carried(member, parts, floor, max_records)

    async def _carried(
        self, member: str, parts: MemberParts, floor: int, max_records: int
    ) -> MemberCarried:
        carried = {
            v: refs[: max_records + 1]
            for v, refs in (await self.carriers(contact_values(parts))).items()
        }
        weighed = {r for refs in carried.values() if floor < len(refs) <= max_records for r in refs}
        records = await self.load_records(weighed) if weighed else {}
        return MemberCarried(member, parts, carried, records)

    @abc.abstractmethod
    async def page_members(
        self, after: str | None, limit: int, source: str | None = None
    ) -> list[str]:
        """Member IDs in ID order after ``after``, optionally only those with a source."""

    @abc.abstractmethod
    async def count_members(self, source: str | None = None) -> int:
        """How many live members (with a record from ``source``, if given)."""

    @abc.abstractmethod
    async def member_events(self, member_ids: Sequence[str]) -> list[list[IdentityEvent]]:
        """Each member's identity history, oldest first: the events written under its ID and
        under every ID that redirects to it (through chains of redirects), each once. An ID
        given back by a split redirects no more, so its events are its own again."""

    @abc.abstractmethod
    async def list_conflicts(self, limit: int, offset: int = 0) -> list[IdentityEvent]:
        """Conflicts recorded for stewards, newest first."""

    async def whole_store_versions(self) -> dict[str, int]:
        """What a whole-store resolution reads before it reads the store, and must find
        unchanged when it writes (in ``Change.expected_versions``): another process's
        whole-store resolution written meanwhile moves it, so the second one conflicts and
        computes again instead of writing over the first. None by default (a store whose
        writers exclude each other)."""
        return {}

    @abc.abstractmethod
    async def member_versions(self, member_ids: Iterable[str]) -> dict[str, int]:
        """The version of each live member (bumped by every change that touches it)."""

    @abc.abstractmethod
    async def member_created(self, member_ids: Iterable[str]) -> dict[str, datetime]:
        """When each live member was created (as its ID; a merge keeps the survivor's)."""

    @abc.abstractmethod
    async def event(self, event_id: int) -> IdentityEvent | None:
        """One identity event by its id."""

    @abc.abstractmethod
    async def taken_member_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` were ever used (live, redirected, or erased: an erasure leaves
        a tombstone of each ID it removes, :mod:`.tombstones`)."""

    def metrics(self) -> MetricsStore:
        """The per-member metrics this store keeps (``metrics_port``)."""
        raise StoreError(f"{type(self).__name__} keeps no member metrics")

    # -- the change feed (identity/feed.py) ----------------------------------------------

    @abc.abstractmethod
    async def append_feed(self, entries: Sequence[FeedEntry]) -> list[int]:
        """Append fact entries (identity entries go with their :class:`Change`); their
        cursors, in order."""

    @abc.abstractmethod
    async def feed_after(
        self, cursor: int, limit: int, member_id: str | None = None
    ) -> list[FeedEntry]:
        """Entries with a cursor above ``cursor``, oldest first, at most ``limit``; only
        those naming ``member_id`` if given.

        Raises:
            FeedExpired: entries after ``cursor`` were pruned already.
        """

    @abc.abstractmethod
    async def fed_lines(self, source: str, line_ids: Sequence[str], after: int = 0) -> set[str]:
        """Which of a source's ``line_ids`` have a fact entry in the feed after cursor
        ``after`` (a line sent again after a failure half-way gets its entry then, and only
        then)."""

    @abc.abstractmethod
    async def feed_head(self) -> int:
        """The newest cursor (0 for an empty feed)."""

    @abc.abstractmethod
    async def prune_feed(self, before: datetime) -> int:
        """Drop entries older than ``before``; how many were dropped."""


def contact_values(parts: MemberParts) -> list[ValueKey]:
    """A member's e-mails and phones, by matching key (the values a placeholder can be)."""
    kinds = (IdentifierKind.EMAIL, IdentifierKind.PHONE)
    return sorted({(i.kind, i.key) for _, i in parts.identifiers if i.kind in kinds})


class MemberCarried(NamedTuple):
    """A member found by an identifier, with what weighs its e-mails and phones
    (:meth:`IdentityStore.find_member_carried`)."""

    member: str
    parts: MemberParts
    carried: dict[ValueKey, list[RecordKey]]
    records: dict[RecordKey, RecordData]
    beside: object = None
    """What the adapter's read beside the lookup found (``SqliteStore.beside_lookup``: the
    member's source lines in the same file), for the caller that asked it; None: nothing."""

"""The identity store port as resolution uses it: the closure walk over the stored records,
the state a change is computed from (members, links, cannot-links, versions), and the
atomic write of the change.

Part of :class:`~membergraph.identity.store.port.IdentityStore`, which every adapter is.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping, Sequence, Set

from membergraph.identity.closure import Closure, Walk, run_walk_async
from membergraph.identity.engine import ValueKey
from membergraph.identity.records import RecordKey
from membergraph.identity.store.port_reads import MemberReads
from membergraph.identity.store.types import (
    Change,
    ClosureStep,
    MemberColumn,
    ScopeState,
    StoredLink,
    plan_step,
)

__all__ = ["ResolutionStore"]


class ResolutionStore(MemberReads):
    """What a resolution (an ingest's, a steward's, a whole store's) reads and writes."""

    @abc.abstractmethod
    async def apply(self, change: Change) -> None:
        """Write a change atomically."""

    async def closure_step(
        self,
        values: Iterable[ValueKey],
        frontier: Sequence[RecordKey],
        seen_members: set[str],
        known: Set[RecordKey],
        limit: int,
        peek: Sequence[ValueKey] = (),
        crowded: Mapping[ValueKey, Set[RecordKey]] | None = None,
    ) -> ClosureStep:
        """From a frontier: the carriers of ``values`` (a value on more than ``limit``
        records is a hub, not followed; a device ``crowded`` names is not either while its
        witnesses carry it), the frontier's members not in ``seen_members``, their
        records, and every record so reached not in ``known``, loaded; and the CRM
        contacts carrying each of ``peek``, loaded (not followed)."""
        values, peek = list(values), list(peek)
        # One carrier more than ``limit`` tells a hub: a store's e-mail typed at the tills
        # has more carriers the more people there are, and this step runs on every ingest.
        found = await self.carriers(values, cap=limit + 1)
        found.update(await self.crm_carriers(peek))
        members = set((await self.assignments(frontier)).values()) - seen_members
        refs = await self.member_records(sorted(members))
        plan = plan_step(found, values, limit, refs, peek, crowded)
        return plan.step(members, await self.load_records(plan.to_load(known)), known)

    async def closure_state(self, walk: Walk) -> tuple[Closure, ScopeState]:
        """Run an ingest's closure walk (:func:`~membergraph.identity.closure.closure_walk`)
        to its end, and read the :meth:`scope_state` of the records it found. By default
        one :meth:`closure_step` per step the walk asks for, then the state; a store may
        answer it all in one round trip, from one snapshot."""
        closure = await run_walk_async(walk, self.closure_step)
        return closure, await self.scope_state(closure[0])

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
        self, refs: Iterable[RecordKey] | None, lifted: bool = False
    ) -> list[tuple[RecordKey, RecordKey]]:
        """Cannot-link pairs touching any of ``refs``; with ``lifted``, those lifted since
        too (a history tells of a rejection undone)."""

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
    async def member_versions(self, member_ids: Iterable[str]) -> dict[str, int]:
        """The version of each live member (bumped by every change that touches it)."""

    @abc.abstractmethod
    async def taken_member_ids(self, ids: Iterable[str]) -> set[str]:
        """Which of ``ids`` were ever used (live, redirected, or erased: an erasure leaves
        a tombstone of each ID it removes, :mod:`.tombstones`)."""

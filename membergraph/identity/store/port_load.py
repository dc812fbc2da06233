"""The identity store port as a whole-store resolution (``load``, ``resolve``, a changed
folder) uses it: the change staged while the engine computes it, the versions it must find
unchanged, and the marks of what made the store.

Part of :class:`~membergraph.identity.store.port.IdentityStore`, which every adapter is;
the change itself is written by
:meth:`~membergraph.identity.store.port_resolution.ResolutionStore.apply`.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from datetime import datetime

from membergraph.identity.engine import Link
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.store.format import StoreMark

__all__ = ["BulkLoad"]


class BulkLoad(abc.ABC):
    """What a whole-store resolution asks beyond a resolution's reads and write."""

    @abc.abstractmethod
    async def mark(self) -> StoreMark | None:
        """What made the store (:mod:`.format`): None when no resolution has marked it (a
        new store, or one from before marks)."""

    @abc.abstractmethod
    async def set_mark(self, mark: StoreMark) -> None:
        """Record what made the store, after a whole-store resolution under it."""

    @abc.abstractmethod
    async def sources_resolved(self) -> str | None:
        """The version of the MongoDB source collections the store was last resolved from
        (:mod:`~membergraph.connectors.mongodb_loads`); None when none was recorded."""

    @abc.abstractmethod
    async def set_sources_resolved(self, version: str) -> None:
        """Record that the store resolved the source collections at ``version`` (a first
        ``membergraph load``, ``membergraph reresolve``)."""

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

    async def whole_store_versions(self) -> dict[str, int]:
        """What a whole-store resolution reads before it reads the store's records, and
        must find unchanged when it writes (in ``Change.expected_versions``): every member's
        version, so another process's write meanwhile (an ingest's merge, a record it
        rewrote) makes it conflict and compute again from the store as it is, instead of
        writing what it computed from the records as they were (the merge undone); and
        whatever a store's whole-store resolutions order themselves by (MongoDB's
        ``WHOLE_STORE`` guard). None by default (a store whose writers exclude each other)."""
        return {}

"""The identity store port: the domain operations every adapter provides.

One class, :class:`IdentityStore`, for the adapters to implement, made of the parts each
audience uses:

- :mod:`.port_reads` (:class:`~.port_reads.MemberReads`): what a request's loaders and
  services read about members;
- :mod:`.port_resolution` (:class:`~.port_resolution.ResolutionStore`): what a resolution
  reads and writes;
- :mod:`.port_load` (:class:`~.port_load.BulkLoad`): what a whole-store resolution asks
  beyond that;
- :mod:`.port_feed` (:class:`~.port_feed.FeedStore`): the change feed;

and the store's own life (open, close, ping). The types it speaks in (changes, events,
errors) are in :mod:`.types`; errors a driver raises become :class:`StoreError` at the
adapter's boundary.
"""

from __future__ import annotations

import abc
from typing import Self

from membergraph.identity.store.format import StoreFormatError, Verdict, apart
from membergraph.identity.store.metrics_port import MetricsStore
from membergraph.identity.store.port_feed import FeedStore
from membergraph.identity.store.port_load import BulkLoad
from membergraph.identity.store.port_reads import MemberCarried, contact_values, tied_at_top
from membergraph.identity.store.port_resolution import ResolutionStore
from membergraph.identity.store.types import (
    Change,
    ClosureStep,
    ConcurrentChange,
    DaysRead,
    IdentityEvent,
    MemberColumn,
    MemberParts,
    ScopeState,
    StoreBusy,
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
    "DaysRead",
    "IdentityEvent",
    "IdentityStore",
    "MemberCarried",
    "MemberColumn",
    "MemberParts",
    "ScopeState",
    "StoreError",
    "StoreBusy",
    "StoreUnwritable",
    "StoredLink",
    "TransientStoreError",
    "contact_values",
    "event_from",
    "linked_members",
    "plan_step",
    "tied_at_top",
]


class IdentityStore(ResolutionStore, BulkLoad, FeedStore):
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
        """Connect and create what is missing (tables, indexes), unless the store is of
        another format (``format.apart``): that is opened as it is, so a start that
        refuses it writes nothing."""

    @abc.abstractmethod
    async def write_schema(self) -> None:
        """Create what this release's store holds and the store lacks (tables, columns,
        indexes): :meth:`open` does for a store of this format; ``membergraph reresolve``
        asks for it to bring one of an older format up."""

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Release the connection."""

    @abc.abstractmethod
    async def ping(self) -> dict[str, int]:
        """Check the store answers; return counts of records, members and links."""

    async def holds_records(self) -> bool:
        """Whether the store holds any record (one with none is new, whatever its mark)."""
        return (await self.ping())["records"] > 0

    async def apart(self) -> Verdict | None:
        """Whether the store is of another format than this release's
        (:func:`~.format.apart`), read as a start reads it (:meth:`mark`,
        :meth:`holds_records`): :meth:`open` asks, before writing anything."""
        try:
            found = await self.mark()
        except StoreFormatError:
            return Verdict.OLDER  # (said by ``mark`` when a start asks)
        return apart(found, await self.holds_records())

    def metrics(self) -> MetricsStore:
        """The per-member metrics this store keeps (``metrics_port``)."""
        raise StoreError(f"{type(self).__name__} keeps no member metrics")

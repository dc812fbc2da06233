"""Member change events and the in-process bus that carries them to subscribers.

Every merge, split, link and undo publishes a :class:`MemberChange`; GraphQL subscriptions
(``memberChanged``) read them from :meth:`MemberChangeBus.subscribe`. The bus is per process:
with several workers, each worker's subscribers hear the changes made by that worker.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["MemberChange", "MemberChangeBus"]


@dataclass(frozen=True, slots=True)
class MemberChange:
    """What one identity change did to members."""

    kind: str  # merged | split | linked | unmerged
    member_ids: tuple[str, ...]
    actor: str
    reason: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


class MemberChangeBus:
    """Fan-out of member changes to any number of subscribers, each with its own queue."""

    def __init__(self, queue_size: int = 1000) -> None:
        self._queues: set[asyncio.Queue[MemberChange]] = set()
        self.queue_size = queue_size
        self.dropped = 0

    def publish(self, change: MemberChange) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(change)
            except asyncio.QueueFull:
                # A subscriber that stopped reading must not block identity changes.
                self.dropped += 1

    async def subscribe(self, member_id: str | None = None) -> AsyncIterator[MemberChange]:
        """Changes from now on, only those naming ``member_id`` if given."""
        queue: asyncio.Queue[MemberChange] = asyncio.Queue(self.queue_size)
        self._queues.add(queue)
        try:
            while True:
                change = await queue.get()
                if member_id is None or member_id in change.member_ids:
                    yield change
        finally:
            self._queues.discard(queue)

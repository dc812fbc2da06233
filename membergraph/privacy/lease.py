"""One erasure of a member at a time, across the processes over one store.

Two processes asked to erase the same member at once must answer one request, and must not
run it twice (each run saves the request as it saw it). The store keeps a lease per member
(:meth:`~membergraph.privacy.port.PrivacyStore.lease`): the process that holds it runs the
request, renewing it at each step; the other waits for it, then answers the request as the
first one left it. A process that dies holding it lets go when it runs out (:data:`LEASE`),
or at once when it ran on this machine: a holder names its process, and a lease whose
process is gone (``kill -9``, a crash; a restarted gateway finds it at start) is taken over
without waiting (a person asked to be forgotten, and her profile would be served meanwhile).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from membergraph.privacy.port import PrivacyStore
from membergraph.processes import alive, this_process

__all__ = ["LEASE", "ErasureLease"]

LEASE = timedelta(minutes=2)
"""How long a claim on a member's erasure lasts unless renewed (at each step of its run)."""


class ErasureLease:
    """This process's leases on members' erasures (one held at a time: its erasure service
    runs one request at a time)."""

    def __init__(self, store: PrivacyStore) -> None:
        self.store = store
        self.holder = f"erasure-{uuid.uuid4().hex}@{this_process()}"
        self._held: str | None = None

    @contextlib.asynccontextmanager
    async def held(self, member_id: str, wait: float) -> AsyncIterator[bool]:
        """The lease on erasing ``member_id``, waited for up to ``wait`` seconds; yields
        whether it is held (then let go when the block ends)."""
        key, loop = f"erase:{member_id}", asyncio.get_running_loop()
        deadline, pause = loop.time() + wait, 0.02
        while not await self._take(key):
            if loop.time() >= deadline:
                yield False
                return
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.5)
        self._held = key
        try:
            yield True
        finally:
            self._held = None
            await self.store.release(key, self.holder)

    async def renew(self) -> bool:
        """Extend the lease held (False: it ran out, and another process took it)."""
        return self._held is None or await self._take(self._held)

    async def _take(self, key: str) -> bool:
        now = datetime.now(UTC)
        if await self.store.lease(key, self.holder, now + LEASE, now):
            return True
        holder = await self.store.lease_holder(key)
        if holder is None or "@" not in holder or alive(holder.partition("@")[2]):
            return False
        # Its process is gone: let go for it (only if it still holds it), and take it.
        await self.store.release(key, holder)
        return await self.store.lease(key, self.holder, now + LEASE, now)

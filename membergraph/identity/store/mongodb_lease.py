"""A lease: one holder at a time, among every process over a MongoDB database.

The holder owns one document, ``{_id: <name>, owner: <id>, at: <last renewed>}``, taken with
one atomic ``find_one_and_update`` (upsert) that matches it only when it is the holder's own
or was not renewed for the lease's length: a process killed while holding it blocks no one
for longer than that. Another live holder's document does not match, and the upsert's insert
then collides with it (``DuplicateKeyError``): refused. The holder renews it as it goes and
deletes it when done.

Two users: the journal of a change too large for one transaction (``mongodb_large``, whose
writer fails at once when another holds it), and the metrics' scoring pass
(``mongodb_metrics``, whose caller waits for the other process's pass to end, as SQLite's
write lock makes a second pass wait).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from membergraph.identity.store.port import TransientStoreError

__all__ = ["Lease", "waiting_for"]

_POLL_S = (0.01, 0.25)  # a waiter's first and longest pause between two tries


class Lease:
    """The lease ``name`` in ``collection``, as one holder (:attr:`owner`) takes it.

    ``lease``: how long it lasts unrenewed. Clocks of the processes must agree to well
    within it (a holder renews once a quarter of it has passed)."""

    def __init__(self, collection: Any, name: str, lease: timedelta) -> None:
        self.collection, self.name, self.lease = collection, name, lease
        self.owner = uuid.uuid4().hex
        self._renewed: datetime | None = None

    async def take(self) -> bool:
        """Take it if free, expired or already ours; whether we hold it now."""
        now = datetime.now(UTC)
        free = {"_id": self.name, "$or": [{"owner": self.owner}, {"at": {"$lt": now - self.lease}}]}
        try:
            await self.collection.find_one_and_update(
                free, {"$set": {"owner": self.owner, "at": now}}, upsert=True
            )
        except DuplicateKeyError:  # a live holder's document: the insert collided with it
            return False
        self._renewed = now
        return True

    async def renew(self) -> bool:
        """Move its time on; whether it was still ours (not taken over as expired)."""
        now = datetime.now(UTC)
        renewed = await self.collection.update_one(
            {"_id": self.name, "owner": self.owner}, {"$set": {"at": now}}
        )
        if renewed.matched_count:
            self._renewed = now
        return bool(renewed.matched_count)

    async def keep(self) -> None:
        """Before a write of the holder's: renewed once a quarter of the lease has passed
        (until then nobody can have taken it over).

        Raises:
            TransientStoreError: it was taken over (not renewed within its length).
        """
        if self._renewed is not None and datetime.now(UTC) - self._renewed < self.lease / 4:
            return
        if not await self.renew():
            raise TransientStoreError(
                f"the {self.name} lease was lost (not renewed within"
                f" {self.lease.total_seconds():g} s): another process took it over"
            )

    async def release(self) -> None:
        await self.collection.delete_one({"_id": self.name, "owner": self.owner})
        self._renewed = None


@contextlib.asynccontextmanager
async def waiting_for(lease: Lease, what: str) -> AsyncIterator[Lease]:
    """``lease`` held for the block, waited for while another process holds it (for as long
    as a lease lasts: a dead holder's has expired by then and is taken over).

    Raises:
        TransientStoreError: another live process held it all that time (``what`` it does).
    """
    deadline = asyncio.get_running_loop().time() + lease.lease.total_seconds()
    pause = _POLL_S[0]
    while not await lease.take():
        if asyncio.get_running_loop().time() >= deadline:
            raise TransientStoreError(
                f"another process is {what} (its lease held {lease.lease.total_seconds():g} s):"
                " try again once it is done"
            )
        await asyncio.sleep(pause)
        pause = min(pause * 2, _POLL_S[1])
    try:
        yield lease
    finally:
        with contextlib.suppress(Exception):  # a lease left behind expires
            await lease.release()

"""The engine's links, handed to the store while the engine goes on (a whole-store
resolution: :meth:`~membergraph.identity.service.IdentityService.resolve_all`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime

from membergraph.identity.engine import Link
from membergraph.identity.store.port import IdentityStore

__all__ = ["EarlyLinks", "settle"]


class EarlyLinks:
    """The engine's links, handed to the store in runs while the engine goes on: those among
    profiles while it attaches the leaves, the leaves' every few thousand (for 1 M lines, all
    168,000 links are written in the store's idle time before the engine is done, instead
    of half of them after it)."""

    def __init__(self, store: IdentityStore, actor: str, at: datetime) -> None:
        self.store, self.actor, self.at = store, actor, at
        self.count = 0  # how many of the resolution's first links the store was given
        self.done = False  # whether they were all of them (the engine said so)
        self.tasks: list[asyncio.Task[None]] = []

    def hand_over(self) -> Callable[[list[Link], bool], None]:
        """What the engine calls, on its thread, with each run of links."""
        loop = asyncio.get_running_loop()

        def handed(links: list[Link], last: bool) -> None:
            # Set before the engine returns: the caller sees them.
            self.count, self.done = self.count + len(links), last
            # Runs on the event loop before the engine's result is delivered there (both
            # are queued from this thread, in order): the store's queue gets these links
            # before any later stage.
            loop.call_soon_threadsafe(self._stage, links, last)

        return handed

    def _stage(self, links: list[Link], last: bool) -> None:
        # After the last run the store may build what needs every link (SQLite: indexes).
        stage = self.store.stage_links(links, self.actor, self.at, more=not last)
        self.tasks.append(asyncio.ensure_future(stage))

    def take(self) -> list[asyncio.Task[None]]:
        """The store's writes of them, to be awaited (once)."""
        tasks, self.tasks = self.tasks, []
        return tasks


async def settle(tasks: Sequence[asyncio.Task[None]]) -> None:
    """Wait for every task; raise the first failure."""
    for outcome in await asyncio.gather(*tasks, return_exceptions=True):
        if isinstance(outcome, BaseException):
            raise outcome

"""The identity store port's change feed (:mod:`membergraph.identity.feed`): the entries
appended with each change, read after a cursor by every follower, pruned by age.

Part of :class:`~membergraph.identity.store.port.IdentityStore`, which every adapter is.
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from datetime import datetime

from membergraph.identity.feed import FeedEntry

__all__ = ["FeedStore"]


class FeedStore(abc.ABC):
    """The store's change feed: one ordered truth that every process follows."""

    @abc.abstractmethod
    async def append_feed(self, entries: Sequence[FeedEntry]) -> list[int]:
        """Append fact entries (identity entries go with their :class:`Change`); their
        cursors, in order."""

    @abc.abstractmethod
    async def redirect_chain(self, member_id: str) -> list[str]:
        """``member_id``, then each member it was merged into, in turn, through the live
        one (``[member_id]`` when it lives; empty when unknown): whom a subscriber of an ID
        merged away hears, and since which merge."""

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

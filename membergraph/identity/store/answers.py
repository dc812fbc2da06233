"""Answers kept in the store: the response cache's second level, shared by every process.

A kept answer is the bytes a query was answered with, under a key its caller made
(:mod:`membergraph.response_cache.stored`), tagged with the members it read and the feed
cursor its reads began after (``since``). It is served only while no feed entry after
``since`` names one of those members: the store checks that itself at each read, against
its own feed, so an answer is never served once a change to a member it read is committed
(on any process, whatever its follower has read), and an answer made from the state before
a change is not kept once the change is in the feed. Followers also drop the answers of the
members each entry names, an erasure deletes those that read her in its own transaction
(:mod:`membergraph.privacy.sqlite_erase`: her bytes leave the store with her), and a
whole-store resolution (``load``, ``reresolve``) drops them all.

Two adapters, :class:`~.sqlite_answers.SqliteAnswers` (the ``answers`` and
``answer_members`` tables) and :class:`~.mongodb_answers.MongoAnswers` (the ``answers``
collection); :func:`answers_of` gives a store's.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

__all__ = [
    "KEPT_PAST_S",
    "NOT_HERE",
    "AnswerToKeep",
    "AnswersStore",
    "Kept",
    "StoredAnswer",
    "answers_of",
]

NOT_HERE: Final = object()
"""What :meth:`AnswersStore.read_here` answers when the read must be awaited."""
KEPT_PAST_S: Final = 300.0
"""How long an answer past its ``expires`` stays in the store, never served, before a write
drops it: the re-maker (:mod:`membergraph.response_cache.remake`) reads those whose moment
came since its last read (one kept after it, a lease handover, a failed read)."""


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    body: bytes
    members: tuple[str, ...]
    expires: float = float("inf")  # Unix time


@dataclass(frozen=True, slots=True)
class AnswerToKeep:
    key: bytes
    body: bytes
    members: tuple[str, ...]
    since: int  # the feed cursor the answer's reads began after
    expires: float  # Unix time: its TTL, or when it stops being true if sooner


@dataclass(frozen=True, slots=True)
class Kept:
    """What one write of answers did, and the bound's figures after it."""

    kept: int
    stale: int  # a member they read changed after their reads began: not kept
    evicted: int
    entries: int
    bytes: int


class AnswersStore(abc.ABC):
    """The answers of one store (SQLite tables or a MongoDB collection)."""

    def read_here(self, key: bytes, now: float) -> StoredAnswer | None | object:
        """The answer kept under ``key`` read on the caller's thread without waiting, or
        :data:`NOT_HERE` when it must be awaited (:meth:`read`)."""
        return NOT_HERE

    @abc.abstractmethod
    async def read(self, key: bytes, now: float) -> StoredAnswer | None:
        """The answer kept under ``key``, unless expired at ``now`` or a member it read
        changed since its reads began."""

    @abc.abstractmethod
    async def keep(
        self, answers: Sequence[AnswerToKeep], max_entries: int, max_bytes: int, now: float
    ) -> Kept:
        """Keep ``answers`` (one under a key replaces the one there), each unless a feed
        entry after its ``since`` names a member it read; then the oldest out until the
        bound holds (expired ones first: those past their ``expires`` by :data:`KEPT_PAST_S`
        at ``now``)."""

    @abc.abstractmethod
    async def drop(
        self, members: Sequence[str], before: int | Mapping[str, int] | None = None
    ) -> int:
        """Drop every answer that read one of ``members`` (``before``: only those whose reads
        began before that feed cursor, or before each member's own; one made after it read
        the change already); how many."""

    @abc.abstractmethod
    async def clear(self) -> None:
        """Drop every answer (a whole-store resolution)."""

    @abc.abstractmethod
    async def figures(self) -> tuple[int, int]:
        """Answers kept and their bytes."""

    @abc.abstractmethod
    async def expiring(
        self, after: float, until: float, limit: int, skip: int = 0
    ) -> list[tuple[float, tuple[str, ...]]]:
        """The answers that expire in ``(after, until]``, soonest first (those expiring
        together in a fixed order), ``limit`` at most after the first ``skip`` of them
        (a next page): when each does and the members (and value tags) it read."""

    @abc.abstractmethod
    async def lead(self, owner: str, now: float, seconds: float) -> bool:
        """Take or renew the lease of the process that re-makes dropped answers
        (:mod:`membergraph.response_cache.remake`) for ``owner`` until ``now + seconds``:
        whether ``owner`` holds it (one holder among every process over the store; one that
        stops renewing it loses it once it runs out)."""


def by_cursor(
    members: Sequence[str], before: int | Mapping[str, int] | None
) -> list[tuple[int | None, list[str]]]:
    """``members`` grouped by the cursor :meth:`AnswersStore.drop`'s ``before`` gives each."""
    if before is None or isinstance(before, int):
        return [(before, list(members))]
    groups: dict[int, list[str]] = {}
    for member in members:
        groups.setdefault(before[member], []).append(member)
    return sorted(groups.items())


def answers_of(store: Any) -> AnswersStore | None:
    """The answers of ``store`` (None: an adapter that keeps none, as tests' fakes)."""
    from membergraph.identity.store.mongodb import MongoStore
    from membergraph.identity.store.mongodb_answers import MongoAnswers
    from membergraph.identity.store.sqlite import SqliteStore
    from membergraph.identity.store.sqlite_answers import SqliteAnswers

    if isinstance(store, SqliteStore):
        return SqliteAnswers(store)
    if isinstance(store, MongoStore):
        return MongoAnswers(store)
    return None

"""The response cache's second level: answers kept in the store, shared by every process.

The first level (:mod:`.store`) is each process's memory, bounded; this one is the store's
(:mod:`membergraph.identity.store.answers`), bounded on disk, so process memory does not grow
with the members answered, and every worker and replica reads the same answers. An answer is
kept here under what it depends on: the document, the variables its operation declares
(others are ignored by GraphQL, and by the key), and what the caller may see (its scopes and
the member a frontend token is bound to); not the media type asked for, which changes only
the ``Content-Type`` of an answer without errors. What may be kept is what the first level
may keep (:func:`.plan`); an answer is written after it is sent (write-behind, batched, off
the request's path) and served while no change to a member it read is in the feed (the
store checks at each read: :mod:`membergraph.identity.store.answers`).

``membergraph warm`` (or the setting ``response_cache_warm``) makes the answers of persisted
queries before they are asked (:mod:`.warm`).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import random
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from membergraph.identity.feed import FeedEntry
from membergraph.identity.store.answers import (
    NOT_HERE,
    AnswersStore,
    AnswerToKeep,
    StoredAnswer,
    answers_of,
)
from membergraph.identity.store.types import StoreError
from membergraph.settings import Settings

__all__ = [
    "LIFETIMES",
    "TTL_SPREAD",
    "StoredFigures",
    "StoredLevel",
    "answers_fingerprint",
    "stored_key",
    "stored_level",
]

logger = logging.getLogger(__name__)

LIFETIMES = (3600, 86_400, 7 * 86_400, 30 * 86_400, 91 * 86_400, 366 * 86_400)
"""Bounds (seconds) of the spans a warm's report counts its answers by: how long after its
request each stops being true (:meth:`StoredLevel.keep_later`'s ``until``)."""
TTL_SPREAD = 0.1
"""A warm's answers (and the re-maker's) live their TTL less up to this share of it, drawn for
each: made together by the ten thousand, they reach it spread over its last tenth, not in the
same minutes, and the re-maker (:mod:`.remake`) makes them again at their moment."""

_BATCH = 200  # answers written in one transaction
_PENDING = 2000  # answers waiting to be written at most (more are not kept: counted)


def stored_key(
    scopes: Iterable[str],
    member_id: str | None,
    query: str,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    declared: Sequence[str],
    made_by: bytes = b"",
) -> bytes:
    """The key of an answer in the store: the caller's scopes and bound member, the document
    and operation, the declared variables' values, and what made it (``made_by``: the
    :func:`answers_fingerprint` of the processes that may share it)."""
    given = variables or {}
    values = {name: given[name] for name in declared if name in given}
    said = [made_by.hex(), sorted(scopes), member_id, operation_name, query, values]
    return hashlib.blake2b(orjson.dumps(said, option=orjson.OPT_SORT_KEYS), digest_size=20).digest()


# The settings an answer's bytes depend on (besides the store, the request and its caller):
# the loyalty program, the region values are read in, the page and cost bounds it states.
_SHAPING = frozenset(
    {
        "default_region",
        "max_page_size",
        "max_query_cost",
        "points_expiry_days",
        "reference_date",
        "segments",
        "tier_qualification_days",
        "tiers",
    }
)


def answers_fingerprint(settings: Settings) -> bytes:
    """What an answer depends on besides the store, the request and its caller: the code
    (every module and rules file of the package), the settings that shape it, the rules file
    and the privacy secret (their bytes, digested). Processes that differ in one (a deploy, a
    restart under another loyalty program) never share an answer in the store; those that
    agree (the workers and replicas of one deployment, its warm) do."""
    digest = hashlib.blake2b(_code_digest(), digest_size=16)
    digest.update(orjson.dumps(settings.model_dump(mode="json", include=set(_SHAPING))))
    if settings.rules is not None:
        digest.update(settings.rules.read_bytes())
    if settings.privacy_secret is not None:
        digest.update(hashlib.sha256(settings.privacy_secret.get_secret_value().encode()).digest())
    return digest.digest()


@functools.cache
def _code_digest() -> bytes:
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.blake2b(digest_size=16)
    for path in sorted(p for p in package.rglob("*") if p.suffix in (".py", ".toml")):
        digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.digest()


class StoredLevel:
    """The store's answers as the HTTP edge uses them: read, kept later, dropped by the feed."""

    def __init__(
        self,
        answers: AnswersStore,
        max_entries: int,
        max_bytes: int,
        ttl_s: float,
        clock: Callable[[], float] = time.time,
        made_by: bytes = b"",
    ) -> None:
        self.answers = answers
        self.made_by = made_by
        """What made this process's answers (:func:`answers_fingerprint`): part of each key."""
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.clock = clock
        self.hits = self.misses = self.kept = self.stale = self.evicted = self.skipped = 0
        self.warmed = 0  # answers a warm asked for
        self.lifetimes: list[int] | None = None
        """Counted by a warm (None: not counted): the answers asked to be kept (before the
        store's check: one it finds stale is counted too), by how long after their
        request they stop being true, a count per bound of :data:`LIFETIMES`, one beyond
        the last, and one for those that never do by the clock."""
        self.entries = self.bytes = 0  # held, as the last write or count found them
        self._pending: list[AnswerToKeep] = []
        self._writer: asyncio.Task[None] | None = None

    def read_here(self, key: bytes) -> StoredAnswer | None | object:
        """The answer under ``key`` read without waiting, or :data:`NOT_HERE`."""
        found = self.answers.read_here(key, self.clock())
        if found is not NOT_HERE:
            self._count(found)
        return found

    async def read(self, key: bytes) -> StoredAnswer | None:
        try:
            found = await self.answers.read(key, self.clock())
        except StoreError as exc:  # the store is down: answered afresh (which says so)
            logger.warning("response cache: kept answers unread: %s", exc)
            found = None
        self._count(found)
        return found

    def _count(self, found: object) -> None:
        if found is None:
            self.misses += 1
        else:
            self.hits += 1

    def keep_later(
        self,
        key: bytes,
        body: bytes,
        members: Iterable[str],
        since: int,
        began: float | None = None,
        until: float | None = None,
        spread: bool = False,
    ) -> None:
        """Keep an answer whose reads began after feed cursor ``since`` (at ``began``, this
        level's clock: now if None) until ``until`` (Unix time: when it stops being true,
        :attr:`Reads.until <membergraph.resolvers.context.Reads.until>`) or a TTL after its
        reads began, whichever is sooner, once the request is answered (a task of this loop
        writes what waits, in batches); ``spread``: a warm's, its TTL less up to
        :data:`TTL_SPREAD` of it."""
        if len(self._pending) >= _PENDING:
            self.skipped += 1
            return
        # A TTL from when its reads began (a slow write never lengthens it), or sooner the
        # moment its figures, as of the request's instant, move with the clock: a purchase
        # leaving the 12-month window, points or an offer expiring.
        start = self.clock() if began is None else began
        expires = start + self.ttl_s
        if spread:
            expires -= TTL_SPREAD * self.ttl_s * random.random()
        if until is not None:
            expires = min(expires, until)
        if self.lifetimes is not None:
            span = None if until is None else until - start
            self.lifetimes[
                len(LIFETIMES) + 1 if span is None else bisect_left(LIFETIMES, span)
            ] += 1
        self._pending.append(AnswerToKeep(key, body, tuple(sorted(members)), since, expires))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._write(), name="answers")

    async def flush(self) -> None:
        """Until every answer waiting is written (a warm's end, tests)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _write(self) -> None:
        while self._pending:
            batch, self._pending = self._pending[:_BATCH], self._pending[_BATCH:]
            try:
                done = await self.answers.keep(
                    batch, self.max_entries, self.max_bytes, self.clock()
                )
            except StoreError as exc:
                logger.warning("response cache: %d answers not kept: %s", len(batch), exc)
                self.skipped += len(batch)
                continue
            self.kept += done.kept
            self.stale += done.stale
            self.evicted += done.evicted
            self.entries, self.bytes = done.entries, done.bytes

    async def follow(self, entries: Sequence[FeedEntry]) -> None:
        """A change-feed listener: drop the answers of the members named (the reads check
        the feed anyway; this keeps an erased person's bytes out of the store), those whose
        reads began before these entries: one made since (re-made by the process that
        re-makes, :mod:`.remake`, before this follower read the feed) read them already.
        Each member's before her own last entry: one made again between it and a later entry
        (to someone else) read her change."""
        last = {t: e.cursor for e in entries for t in (*e.member_ids, *e.value_tags)}
        if last:
            await self.answers.drop(sorted(last), before=last)

    async def count(self) -> None:
        """Read what the store holds (at a start: the figures of ``/metrics``)."""
        self.entries, self.bytes = await self.answers.figures()

    async def aclose(self) -> None:
        """Write what waits (a few seconds at most), then stop."""
        writer = self._writer
        if writer is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(writer), 5)
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer


def stored_level(settings: Settings, store: Any) -> StoredLevel | None:
    """The second level over ``store`` as the settings size it; None when off (no entries,
    a source read over HTTP, or a store that keeps no answers)."""
    if settings.response_cache_stored_entries <= 0 or settings.http_sources:
        return None
    answers = answers_of(store)
    if answers is None:
        return None
    # No longer than the feed keeps the entries each read checks the answer against.
    ttl = min(settings.response_cache_stored_ttl_s, settings.feed_retention_days * 86_400)
    return StoredLevel(
        answers,
        settings.response_cache_stored_entries,
        settings.response_cache_stored_bytes,
        ttl,
        made_by=answers_fingerprint(settings),
    )


class StoredFigures(Collector):
    """The second level's figures for Prometheus (none while it is off)."""

    def __init__(self, holder: Any) -> None:
        self.holder = holder  # (its ``stored``: the level, set once the store is open)

    def collect(self) -> Iterator[Metric]:
        level, name = self.holder.stored, "membergraph_response_cache_stored"
        if level is None:
            return
        for what, text, value in (
            ("hits", "Answers served from the answers kept in the store.", level.hits),
            ("misses", "Requests the answers kept in the store did not hold.", level.misses),
            ("kept", "Answers written to the store.", level.kept),
            ("stale", "Answers not kept: a member they read changed meanwhile.", level.stale),
            ("evictions", "Kept answers dropped to stay within the bound.", level.evicted),
            ("skipped", "Answers not kept: the writes fell behind or failed.", level.skipped),
            ("warmed", "Answers asked for by a warm.", level.warmed),
        ):
            yield CounterMetricFamily(f"{name}_{what}", text, value=value)
        yield GaugeMetricFamily(
            f"{name}_entries", "Answers kept in the store (as last written).", value=level.entries
        )
        yield GaugeMetricFamily(
            f"{name}_bytes", "Bytes of the answers kept in the store.", value=level.bytes
        )

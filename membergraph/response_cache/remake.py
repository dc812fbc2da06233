"""Answers made again once a change dropped them: answers kept ahead stay ahead.

A warm (:mod:`.warm`) makes a persisted query's answer for every member ahead; a change to a
member drops her answers (:mod:`.stored`: a change is never served old bytes), and her next
request would then be a miss that computes the answer while she waits. When the deployment
names its warm queries (``response_cache_warm``), one process over the store asks them
again in the background, as the warm's caller (``response_cache_warm_as``), for the lookup
values of every member a feed entry names, as soon as its follower reads the entry: her next
request is a hit with the new bytes. Each is asked afresh, through the app as a warm's
request (:class:`.warm.Asker`), and kept as any miss is: only while no change to a member it
read came after its reads began (the store checks), so a re-made answer is never older than
the change that dropped the one before.

Answers also stop being true with no change: at the moment their figures move with the
clock (a purchase leaving the 12-month window, points or an offer expiring) or their TTL,
whichever is sooner (the answer's ``expires``). Every :data:`SCAN_S` the re-maker reads which
kept answers expire from its last read to :data:`AHEAD_S` ahead (one whose moment came since
is queued at once), and at each one's moment (not before:
made earlier, it would be as of an instant when the old figures still held) it queues
their members as a change would: their warm queries' answers are asked again then, as of
an instant past it, and her next request is a hit. A member whose answer of another query
expires has her warm queries' answers made again too (the store keeps no word of which
query an answer is: a few more requests, within the same bounds).

One process of a deployment re-makes, not every worker: the holder of the store's re-make
lease (:meth:`~membergraph.identity.store.answers.AnswersStore.lead`), renewed as it goes; a
holder that stops (killed, its store unreachable) is replaced once the lease runs out, and
the changes meanwhile are left to their next request, as without this; one that finds its
lease taken over (it stalled past it) still makes the members waiting, and no more.

Bounded: members waiting at most :data:`QUEUE` (a member named again while she waits is
asked once; one more is counted in ``overflow`` and left to her next request), and
:data:`AT_ONCE` requests in flight: whatever the burst of changes, re-making weighs on its
process as that many more clients asking without pause, never as many as the changes; and
:data:`QUEUE` members waiting for their answer's moment (a read ahead that finds more reads
on while their moment came or there is room; the others are read again at the next). No
rest between requests: under load a request's duration is mostly its wait behind the other
clients, and a rest in proportion to it let re-making fall behind a stream of changes (the
figures: docs/benchmarks-history.md, issue 22, twenty-third round).
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.applications import Starlette

from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.store.answers import AnswersStore
from membergraph.identity.store.types import StoreError
from membergraph.identity.value_tags import TAG_PREFIX
from membergraph.response_cache.stored import StoredLevel
from membergraph.response_cache.warm import Asker, Lookup, WarmError, credentials, lookups
from membergraph.settings import Settings
from membergraph.tasks import stop

__all__ = ["AHEAD_S", "AT_ONCE", "QUEUE", "SCAN_S", "RemakeFigures", "Remaker", "remaker"]

logger = logging.getLogger(__name__)

QUEUE = 10_000
"""Members waiting to have their answers made again, at most."""
AT_ONCE = 4
"""Requests of the re-maker in flight at most."""
LEASE_S = 15.0
"""How long the re-make lease lasts unrenewed (renewed every third of it)."""
_BATCH = 50  # members whose values are read at a time
_SAY_EVERY_S = 60.0  # failures said in the log at most once a minute (counted meanwhile)
SCAN_S = 60.0
"""How often the re-maker reads which kept answers expire soon."""
AHEAD_S = 300.0
"""How far ahead each read looks (a read that fails is made again at the next)."""


class Remaker:
    """Makes again, in the background, the answers of ``asks`` for the members the change
    feed names, while this process holds the store's re-make lease."""

    def __init__(
        self,
        app: Starlette,
        asks: Sequence[Lookup],
        headers: dict[str, str],
        level: StoredLevel,
        limit: int = QUEUE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app, self.asks, self.level = app, list(asks), level
        self.answers: AnswersStore = level.answers
        self.ask = Asker(app, headers)
        self.limit, self.clock = limit, clock
        self.owner = uuid.uuid4().hex
        self.leading = False
        self.queued = self.remade = self.overflow = self.failed = self.expiring = 0
        self._waiting: dict[str, None] = {}  # members, oldest first
        self._due: list[tuple[float, str]] = []  # (when, member) whose answers expire, a heap
        self._scheduled: set[tuple[float, str]] = set()  # read since the last read's start
        self._scan_at = 0.0
        self._read_from: float | None = None  # where the next read starts (None: took over)
        self._idle = asyncio.Event()
        self._idle.set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._unsaid, self._say_at = 0, float("-inf")

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def follow(self, entries: Sequence[FeedEntry]) -> None:
        """A change-feed listener: the members named wait to have their answers made again
        (the holder of the lease only; an erased member's never)."""
        if not self.leading:
            return
        for entry in entries:
            if entry.kind is not ChangeKind.ERASED:
                self._queue(entry.member_ids)
        if self._waiting:
            self._idle.clear()
            self._wake.set()

    def _queue(self, members: Iterable[str]) -> None:
        for member_id in members:
            if member_id in self._waiting:
                continue
            if len(self._waiting) >= self.limit:
                self.overflow += 1
                continue
            self._waiting[member_id] = None
            self.queued += 1

    async def start(self) -> None:
        """Take the lease if it is free (so a lone process re-makes from its start), then
        run in the background."""
        await self._lead()
        self._task = asyncio.create_task(self._run(), name="answers-remake")

    async def settled(self) -> None:
        """Until no member waits and nothing is being made (tests, a shutdown)."""
        await self._idle.wait()

    async def aclose(self) -> None:
        """Stop, and hand the lease back (another process may take it at once)."""
        await stop(self._task)
        self._task = None
        if self.leading:
            self.leading = False
            with contextlib.suppress(StoreError):
                await self.answers.lead(self.owner, self.clock(), 0)

    async def _lead(self) -> None:
        try:
            self.leading = await self.answers.lead(self.owner, self.clock(), LEASE_S)
        except StoreError as exc:
            logger.warning("response cache: re-make lease not renewed: %s", exc)
            self.leading = False
        if not self.leading:
            # Those waiting for their answer's moment are the new holder's to read.
            self._due.clear()
            self._scheduled.clear()
            self._scan_at = 0.0
            self._read_from = None
            if not self._waiting:
                self._idle.set()
        # (A lease lost keeps those waiting: the process that took it over was not leading
        # when it heard of them. Only entries heard from now on are its alone.)

    async def look_ahead(self) -> None:
        """Read which kept answers expire by :data:`AHEAD_S` from now, and queue the members
        whose answer's moment came (the holder does it every :data:`SCAN_S`)."""
        await self._expiring()
        self._expired()

    async def _expiring(self) -> None:
        """Read which kept answers expire by :data:`AHEAD_S` from now, each member to be
        queued at her answer's moment. Read from the last read's instant, not from now: an
        answer kept after it (made again meanwhile, or a miss) may have a moment before
        this read, as may those of a lease handover (:data:`SCAN_S` and :data:`LEASE_S`
        back) or after a read that failed; they are queued at once (the store leaves them
        :data:`~membergraph.identity.store.answers.KEPT_PAST_S` to be read)."""
        now = self.clock()
        self._scan_at = now + SCAN_S
        after = now - SCAN_S - LEASE_S if self._read_from is None else self._read_from
        self._read_from = after  # (until this read succeeds: a failed one is made again)
        # Those read before, still in this read's span, are queued once.
        self._scheduled = {due for due in self._scheduled if due[0] > after}
        skip = 0
        while True:
            try:
                found = await self.answers.expiring(after, now + AHEAD_S, self.limit, skip)
            except StoreError as exc:
                logger.warning("response cache: answers expiring soon unread: %s", exc)
                return
            skip += len(found)
            self._schedule(found, now)
            # A full page may leave some out: read on while they may be queued (their
            # moment came, or there is room to wait for it); the others are read again next.
            if len(found) < self.limit or not found:
                break
            if found[-1][0] > now and len(self._due) >= self.limit:
                break
        self._read_from = now

    def _schedule(self, found: list[tuple[float, tuple[str, ...]]], now: float) -> None:
        """Each member of ``found`` to be queued at her answer's moment: at the next
        :meth:`_expired` if it came, else when it comes, :attr:`limit` waiting for it at
        most (one past it is read again at the next read, and queued then if it came)."""
        for when, members in found:
            for member_id in members:
                due = (when, member_id)
                if member_id.startswith(TAG_PREFIX) or due in self._scheduled:
                    continue
                if when > now and len(self._due) >= self.limit:
                    continue
                self._scheduled.add(due)
                heapq.heappush(self._due, due)

    def _expired(self) -> None:
        """Queue the members whose answers' moment came."""
        now, due = self.clock(), []
        while self._due and self._due[0][0] <= now:
            due.append(heapq.heappop(self._due)[1])
        if due:
            before = self.queued
            self._queue(due)
            self.expiring += self.queued - before
            self._idle.clear()
            self._wake.set()

    async def _run(self) -> None:
        renew_at = self.clock() + LEASE_S / 3
        while True:
            if self.clock() >= renew_at:
                await self._lead()
                renew_at = self.clock() + LEASE_S / 3
            if self.leading and self.clock() >= self._scan_at:
                await self._expiring()
            self._expired()
            if self._waiting:
                await self._remake_some()
                continue
            self._idle.set()
            wake_at = min(renew_at, self._due[0][0]) if self._due else renew_at
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.0, wake_at - self.clock())):
                    await self._wake.wait()
            self._wake.clear()

    async def _remake_some(self) -> None:
        members = list(self._waiting)[:_BATCH]
        for member_id in members:
            del self._waiting[member_id]
        bodies = []
        for lookup in self.asks:
            try:
                store = self.app.state.gateway.identity.store
                values = [value for _, value in await lookup.values(store, members, set())]
            except Exception as exc:  # (a store error, a bug: the next lookup is read)
                self._failed(len(members), exc)
                continue
            bodies += [lookup.body(value) for value in values]
        at_once = asyncio.Semaphore(AT_ONCE)

        async def remake(body: bytes) -> None:
            async with at_once:
                try:
                    await self.ask(body)
                    self.remade += 1
                except Exception as exc:  # (a refusal or a bug of this one: the others are asked)
                    self._failed(1, exc)

        await asyncio.gather(*(remake(body) for body in bodies))
        await self.level.flush()  # (written before the members are said to be done)

    def _failed(self, count: int, exc: Exception) -> None:
        """Count ``count`` answers not made again, and say why at most once a minute: a
        revoked caller or a store outage fails every one (one line, not one per answer); an
        unexpected failure with its traceback."""
        self.failed += count
        self._unsaid += count
        now = time.monotonic()
        if now - self._say_at < _SAY_EVERY_S:
            return
        self._say_at, said, self._unsaid = now, self._unsaid, 0
        logger.warning(
            "response cache: answers not made again, %d since the last said (once a minute"
            " at most): %s",
            said,
            exc,
            exc_info=None if isinstance(exc, WarmError | StoreError) else exc,
        )


async def remaker(app: Starlette, settings: Settings) -> Remaker | None:
    """The re-maker of ``app``'s kept answers, started, when the deployment names warm
    queries and keeps answers in the store; else None. A warm query or caller that cannot
    be asked is said in the log, once, and nothing is re-made."""
    responses = app.state.response_cache
    level = responses.stored
    if level is None or not settings.response_cache_warm:
        return None
    try:
        asks = lookups(responses, settings.response_cache_warm)
        headers = credentials(settings, settings.response_cache_warm_as)
    except WarmError as exc:
        logger.warning("response cache: dropped answers are not made again: %s", exc)
        return None
    made = Remaker(app, asks, headers, level)
    await made.start()
    return made


class RemakeFigures(Collector):
    """The re-maker's figures for Prometheus (none without one)."""

    def __init__(self, holder: Any) -> None:
        self.holder = holder  # (its ``remaker``: set once the store is open)

    def collect(self) -> Iterator[Metric]:
        made, name = getattr(self.holder, "remaker", None), "membergraph_response_cache_remake"
        if made is None:
            return
        for what, text, value in (
            ("queued", "Members whose dropped answers waited to be made again.", made.queued),
            (
                "remade",
                "Answers asked again after a change dropped them, and answered (kept or not:"
                " one with an error or that read no member is not; see _stored_kept).",
                made.remade,
            ),
            ("overflow", "Members not queued to be made again: the queue was full.", made.overflow),
            ("failed", "Answers not made again: the store or the request failed.", made.failed),
            (
                "expiring",
                "Members queued to be made again: a kept answer of theirs stopped being true"
                " (its figures moved with the clock) or reached its TTL.",
                made.expiring,
            ),
        ):
            yield CounterMetricFamily(f"{name}_{what}", text, value=value)
        yield GaugeMetricFamily(f"{name}_waiting", "Members waiting now.", value=made.waiting)
        yield GaugeMetricFamily(
            f"{name}_leading", "1 while this process re-makes for the store.", value=made.leading
        )

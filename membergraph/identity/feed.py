"""The change feed: one ordered truth that every process and subscriber follows.

Every accepted change, identity (a merge, a split, a link, an undo, a new member) or fact (a
purchase, a consent, an offer, a web event, a call), is appended to the store's feed with a
monotonic ``cursor``: identity entries in the same store transaction as the change itself,
fact entries once the line is durable in its source, and a member's tier change in the same
transaction as the figures that moved it (``scores.py``). Processes never tell each other anything:
each runs a :class:`FeedFollower` that tails the feed (SQLite: the feed table; MongoDB: the
feed collection) and hands every entry, in cursor order, to its subscribers (GraphQL
``memberChanged``) and to whatever keeps a cache (scores, file sources' tails). A process
that made a change wakes its own follower at once; others see it within one poll interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from membergraph.logs import Recurring
from membergraph.tasks import stop

if TYPE_CHECKING:
    from membergraph.identity.store.port import IdentityStore

__all__ = [
    "FEED_PAGE",
    "ChangeKind",
    "FeedEntry",
    "FeedExpired",
    "FeedFollower",
    "follows",
    "kind_of",
    "stored_after",
]

logger = logging.getLogger(__name__)
FEED_PAGE = 500  # entries read per poll


class ChangeKind(StrEnum):
    """What one feed entry says happened."""

    MERGED = "merged"
    SPLIT = "split"
    LINKED = "linked"
    MEMBER_CREATED = "member_created"  # a member that did not exist (said instead of LINKED)
    UNDONE = "undone"  # a steward's undo, beside the merge, split or link it made
    PURCHASE_RECORDED = "purchase_recorded"
    PURCHASE_STATUS_CHANGED = "purchase_status_changed"
    PURCHASE_UPDATED = "purchase_updated"
    OFFER_REDEEMED = "offer_redeemed"
    WEB_EVENT = "web_event"
    CALL = "call"
    PROFILE_UPDATED = "profile_updated"
    CONSENT_CHANGED = "consent_changed"
    ERASED = "erased"  # a person was erased (privacy): caches drop what they held of them
    SUPPRESSED = "suppressed"  # identifiers of a member were suppressed or unsuppressed
    DELETION_REQUESTED = "deletion_requested"  # a source not owned here must erase lines
    TIER_CHANGED = "tier_changed"  # the member's loyalty tier moved (the scores' keeper)
    CONFLICT_DECIDED = "conflict_decided"  # a steward dismissed a conflict, or opened it again
    # A steward's decision written into members' history that moved no record (a rejected
    # suggestion, a link of records already one member).
    HISTORY_WRITTEN = "history_written"
    OTHER = "other"  # read only: a kind a newer release wrote (:func:`kind_of`)


def kind_of(stored: str) -> ChangeKind:
    """The kind of a stored entry. One a newer release wrote, over the same store during a
    rolling upgrade, is :attr:`ChangeKind.OTHER`: this process still follows the feed past
    it (and drops what its caches held of the members it names), where refusing it would
    stop every follower and subscriber here at that entry."""
    try:
        return ChangeKind(stored)
    except ValueError:
        return ChangeKind.OTHER


IDENTITY_KINDS = frozenset(
    {
        ChangeKind.MERGED,
        ChangeKind.SPLIT,
        ChangeKind.LINKED,
        ChangeKind.MEMBER_CREATED,
        ChangeKind.UNDONE,
    }
)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One change, as the feed holds it. ``cursor`` is set by the store when appended."""

    kind: ChangeKind
    member_ids: tuple[str, ...]
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    actor: str | None = None
    reason: str | None = None
    source: str | None = None
    line_id: str | None = None
    cursor: int = 0
    value_tags: tuple[str, ...] = ()
    """Digests of the identifier values whose owner the change may have moved
    (:mod:`membergraph.identity.value_tags`): what a cached lookup by one of them is
    dropped by. Never the values themselves; not shown to subscribers."""


class FeedExpired(LookupError):
    """A cursor older than what the feed keeps (its retention): the missed changes are gone."""


Listener = Callable[[Sequence[FeedEntry]], Awaitable[None] | None]


class FeedFollower:
    """Tails the store's feed and fans each entry out, in cursor order, exactly once.

    Subscribers get their own bounded queue; one that stops reading loses its queue (it is
    told by :class:`FeedExpired` on its next read and resumes from its last cursor), so no
    reader can make the follower or the writers wait. Whoever serves a subscriber (a
    socket that stopped taking its changes) may cut it off too: :meth:`fell_behind`
    counts each subscriber so cut once, in ``dropped``.
    """

    def __init__(self, store: IdentityStore, interval: float = 0.2, queue_size: int = 1000) -> None:
        self.store = store
        self.interval = interval
        self.queue_size = queue_size
        self.position = 0
        self.delivered = 0
        """The cursor through which every entry was handed to the listeners (the caches
        dropped what it changed) and the subscribers: what :meth:`reached` waits for."""
        self._moved = asyncio.Event()  # set (and replaced) each time ``delivered`` moves
        self.listeners: list[Listener] = []
        # Each subscriber's queue, and the task that reads it (what fell_behind counts).
        self._queues: dict[asyncio.Queue[FeedEntry | None], object] = {}
        self._behind: weakref.WeakSet[object] = weakref.WeakSet()
        self._wake = asyncio.Event()
        self._reading = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0  # subscribers cut off for not keeping up
        self.reads = 0  # reads of the feed answered: a stalled follower's count stands still
        self._read_at = float("-inf")  # when the feed last answered (monotonic)

    async def start(self) -> None:
        """Follow from the feed's current end (what came before is in the store already)."""
        self.position = self.delivered = await self.store.feed_head()
        self._task = asyncio.create_task(self._run(), name="feed-follower")

    async def aclose(self) -> None:
        await stop(self._task)
        self._task = None

    def reading_within(self, seconds: float) -> bool:
        """Whether the feed answered a read in the last ``seconds``: what a cache kept by
        the feed may trust (a store that stopped answering stops the follower)."""
        return time.monotonic() - self._read_at <= seconds

    def poke(self) -> None:
        """Read the feed now: this process just appended to it."""
        self._wake.set()

    async def catch_up(self) -> None:
        """Read and deliver everything appended so far (tests, and after a local change)."""
        while await self._step():
            pass

    async def _run(self) -> None:
        problem = Recurring(logger, "feed follower")
        while True:
            try:
                while await self._step():
                    pass
                problem.ok()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the store is down: try again, never die
                problem.failed(exc)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()

    async def _step(self) -> bool:
        async with self._reading:  # the poller and a catch_up never deliver twice
            return await self._deliver()

    async def _deliver(self) -> bool:
        entries = await self.store.feed_after(self.position, FEED_PAGE)
        self._read_at = time.monotonic()
        self.reads += 1
        if not entries:
            return False
        self.position = entries[-1].cursor
        for listener in self.listeners:
            try:
                done = listener(entries)
                if done is not None:
                    await done
            except Exception:  # a cache that failed must not stop the feed
                logger.exception("feed listener failed")
        for queue, reader in list(self._queues.items()):
            for entry in entries:
                try:
                    queue.put_nowait(entry)
                except asyncio.QueueFull:
                    self.fell_behind(reader)  # (said with FEED_EXPIRED, or by who ends it)
                    del self._queues[queue]
                    queue.get_nowait()
                    queue.put_nowait(None)  # the reader learns it was cut off
                    break
        self.delivered = self.position
        moved, self._moved = self._moved, asyncio.Event()
        moved.set()
        return len(entries) == FEED_PAGE

    async def reached(self, position: int, within: float) -> bool:
        """Whether this process has followed the feed through ``position`` (a write's, from
        any process): its caches dropped what the changes up to it changed. Reads the feed
        now rather than at the next poll, and waits at most ``within`` seconds."""
        try:
            async with asyncio.timeout(within):
                while self.delivered < position:
                    moved = self._moved
                    self.poke()
                    await moved.wait()
        except TimeoutError:
            return False
        return True

    def fell_behind(self, reader: object, why: str | None = None) -> None:
        """Counts a subscriber cut off for not keeping up (``reader``: the task that reads
        its changes), once whoever notices it; ``why``, when given, is said in one INFO
        line (without it the subscriber is told, and the log says so, by the
        ``FEED_EXPIRED`` error its next read raises)."""
        if reader is not None and reader not in self._behind:
            self._behind.add(reader)
            self.dropped += 1
        if why is None:
            return
        logger.info(
            "a subscriber fell behind (%s): its subscription ended; it resumes with `after`"
            " its last cursor",
            why,
        )

    async def subscribe(
        self, member_id: str | None = None, after: int | None = None
    ) -> AsyncIterator[FeedEntry]:
        """Entries naming ``member_id`` (all if None) in cursor order: those after ``after``
        from the store first (missed while away), then live ones, each exactly once. Once
        the member is merged into another, the survivor's entries follow (it is the same
        person under the ID the merged-away one redirects to).

        Raises:
            FeedExpired: ``after`` is older than what the feed keeps, or the subscriber fell
                too far behind to be kept.
        """
        queue: asyncio.Queue[FeedEntry | None] = asyncio.Queue(self.queue_size)
        # Before reading the store: nothing falls in between.
        self._queues[queue] = asyncio.current_task()
        following = None if member_id is None else {member_id}
        try:
            if member_id is not None and after is not None:
                following = await self._followed_at(member_id, after)
            last = self.position if after is None else after
            if after is not None:
                while True:
                    # One ID is filtered by the store; after a merge, here.
                    only = next(iter(following)) if following and len(following) == 1 else None
                    missed = await self.store.feed_after(last, FEED_PAGE, only)
                    for entry in missed:
                        last = entry.cursor
                        if following is None or member_id is None:
                            yield entry
                        elif follows(entry, following, member_id):
                            yield entry
                            if only is not None and len(following) > 1:
                                break  # merged: read on from here for the survivor too
                    else:
                        if len(missed) < FEED_PAGE:
                            break
            while True:
                live = await queue.get()
                if live is None:
                    raise FeedExpired("subscriber fell behind; resume with `after` its cursor")
                if live.cursor <= last:
                    continue
                last = live.cursor
                if following is None or member_id is None or follows(live, following, member_id):
                    yield live
        finally:
            self._queues.pop(queue, None)

    async def _followed_at(self, member_id: str, after: int) -> set[str]:
        """The IDs a subscriber of ``member_id`` heard at cursor ``after``: its own and each
        member it had been merged into by then. A subscriber that heard a merge reconnects
        with a later cursor and the ID it follows (the merged-away one): the survivor's
        changes are its person's (a merge after the cursor is heard in order instead)."""
        chain = await self.store.redirect_chain(member_id)
        following = {member_id}
        for merged, into in zip(chain, chain[1:], strict=False):
            if await self._merged_after(merged, after):
                break
            following.add(into)
        return following

    async def _merged_after(self, member_id: str, after: int) -> bool:
        """Whether ``member_id`` was merged into another after cursor ``after``."""
        async for entry in stored_after(self.store, after, member_id):
            if entry.kind is ChangeKind.MERGED and member_id in entry.member_ids[1:]:
                return True
        return False


async def stored_after(
    store: IdentityStore, after: int, member_id: str | None = None
) -> AsyncIterator[FeedEntry]:
    """Every stored entry after cursor ``after`` (naming ``member_id`` if given), read a
    page at a time."""
    while True:
        page = await store.feed_after(after, FEED_PAGE, member_id)
        for entry in page:
            yield entry
        if len(page) < FEED_PAGE:
            return
        after = page[-1].cursor


def follows(entry: FeedEntry, following: set[str], home: str) -> bool:
    """Whether ``entry`` names a member in ``following``, the IDs a subscriber of ``home``
    hears. A merge of one of them into another member adds the survivor (a MERGED entry
    names the survivor, then the IDs merged away), so the subscriber keeps hearing its
    person; a split that hands ``home`` back leaves it alone again (the survivor is
    someone else from then on)."""
    if not following.intersection(entry.member_ids):
        return False
    if entry.kind is ChangeKind.MERGED and following.intersection(entry.member_ids[1:]):
        following.add(entry.member_ids[0])
    elif entry.kind is ChangeKind.SPLIT and home in entry.member_ids:
        following.intersection_update({home})
    return True

"""The cache's entries: answers by key, tagged by member, bounded by entries, bytes and age,
each until the moment it stops being true if sooner."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from membergraph.identity.feed import FeedEntry

__all__ = ["CacheFigures", "Entry", "Key", "ResponseCache", "etag_of"]

Key = tuple[frozenset[str], str | None, bool, str, bytes]
"""Scopes, bound member, GraphQL-over-HTTP media type asked for, method, request bytes."""

_ENTRY_OVERHEAD = 300  # bytes of bookkeeping per entry, beside its key and body
_RECENT = 4096  # invalidations remembered for answers being computed meanwhile
_NEVER = float("inf")


@dataclass(slots=True)
class Entry:
    body: bytes
    media_type: str
    etag: str
    members: frozenset[str]
    expires: float
    size: int
    headers: tuple[tuple[bytes, bytes], ...] = ()
    until: float = _NEVER  # Unix time: when it stops being true (by the wall clock)

    def __post_init__(self) -> None:
        # Made once: a hit sends them as they are (each answer gets its own list of them).
        length = str(len(self.body)).encode()
        self.headers = ((b"content-type", self.media_type.encode()), (b"content-length", length))


class ResponseCache:
    """Answers by key, tagged by member, bounded by entries, bytes and age.

    Example::

        cache = ResponseCache(max_entries=1000, max_bytes=1 << 20, ttl_s=60)
        since = cache.generation
        ...  # compute the answer; it read member m_1
        cache.put(key, body, "application/json", {"m_1"}, since)
        cache.invalidate(["m_1"])  # a feed entry named m_1: the answer is gone
    """

    def __init__(
        self,
        max_entries: int,
        max_bytes: int,
        ttl_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.ttl_s = ttl_s
        self.clock = clock
        self.bytes = 0
        self.hits = self.misses = self.evictions = self.invalidated = 0
        self.lagging = 0  # requests answered around the cache: the feed was not read lately
        self.generation = 0  # one more at each invalidation
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self._by_member: dict[str, set[Key]] = {}
        self._recent: deque[tuple[int, frozenset[str]]] = deque(maxlen=_RECENT)

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key, wall: Callable[[], float] = time.time) -> Entry | None:
        """The answer kept under ``key``, unless its TTL ran out (by :attr:`clock`) or its
        moment came (by ``wall``, the wall clock, read only for an answer that has one)."""
        entry = self._entries.get(key)
        if entry is not None and (
            entry.expires <= self.clock() or (entry.until < _NEVER and entry.until <= wall())
        ):
            self._drop(key)
            entry = None
        if entry is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return entry

    def put(
        self,
        key: Key,
        body: bytes,
        media_type: str,
        members: Iterable[str],
        since: int,
        until: float | None = None,
        wall: Callable[[], float] = time.time,
    ) -> Entry | None:
        """Keep an answer computed from what the store held at generation ``since``,
        unless one of the members it read changed since (then it may hold the old state),
        for the TTL or until ``until`` if sooner (Unix time, by ``wall``, the wall clock:
        when it stops being true, :attr:`Reads.until
        <membergraph.resolvers.context.Reads.until>`). Its age is kept by :attr:`clock`
        (monotonic) and its moment by the wall clock, each checked by :meth:`get`: a wall
        clock stepping ahead (NTP correcting a drifted host, a VM resumed) must not leave
        it served past its moment."""
        tags = frozenset(members)
        size = len(body) + len(key[4]) + _ENTRY_OVERHEAD
        if not tags or size > self.max_bytes or self.max_entries <= 0:
            return None
        if until is None:
            until = _NEVER
        life = min(self.ttl_s, until - wall())
        if life <= 0:
            return None
        if self._changed_since(since, tags):
            return None
        if key in self._entries:
            self._drop(key)
        etag, expires = etag_of(body, media_type), self.clock() + life
        entry = Entry(body, media_type, etag, tags, expires, size, until=until)
        self._entries[key] = entry
        self.bytes += size
        for member in tags:
            self._by_member.setdefault(member, set()).add(key)
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))
            self.evictions += 1
        return entry

    def invalidate(self, members: Iterable[str]) -> int:
        """Drop every answer that read one of ``members`` (member IDs, or the value tags of
        :mod:`membergraph.identity.value_tags`); how many were dropped."""
        changed = frozenset(members)
        if not changed:
            return 0
        self.generation += 1
        self._recent.append((self.generation, changed))
        dropped = 0
        for member in changed:
            for key in list(self._by_member.get(member, ())):
                self._drop(key)
                dropped += 1
        self.invalidated += dropped
        return dropped

    def follow(self, entries: Sequence[FeedEntry]) -> None:
        """A change-feed listener (:attr:`FeedFollower.listeners`)."""
        self.invalidate(t for entry in entries for t in (*entry.member_ids, *entry.value_tags))

    def _changed_since(self, since: int, tags: frozenset[str]) -> bool:
        if since == self.generation:
            return False
        if not self._recent or self._recent[0][0] > since + 1:
            return True  # older than what is remembered: cannot tell, so assume it did
        return any(gen > since and not tags.isdisjoint(m) for gen, m in self._recent)

    def _drop(self, key: Key) -> None:
        entry = self._entries.pop(key)
        self.bytes -= entry.size
        for member in entry.members:
            keys = self._by_member.get(member)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_member[member]


class CacheFigures(Collector):
    """The cache's figures for Prometheus, read as they are at scrape time."""

    def __init__(self, cache: ResponseCache) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
        cache, name = self.cache, "membergraph_response_cache"
        for what, text, value in (
            ("hits", "Answers served from the response cache.", cache.hits),
            ("misses", "Requests the response cache did not hold.", cache.misses),
            ("evictions", "Answers dropped to stay within the bounds.", cache.evictions),
            ("invalidations", "Answers dropped: a member they read changed.", cache.invalidated),
            (
                "lagging",
                "Requests answered without the response cache: the change feed was not read "
                "within its lag bound (the store unreachable), so no kept answer was trusted.",
                cache.lagging,
            ),
        ):
            yield CounterMetricFamily(f"{name}_{what}", text, value=value)
        yield GaugeMetricFamily(f"{name}_entries", "Answers held.", value=len(cache))
        yield GaugeMetricFamily(
            f"{name}_bytes", "Bytes held (bodies, keys, bookkeeping).", value=cache.bytes
        )


def etag_of(body: bytes, media_type: str) -> str:
    """The entity tag of an answer: its bytes and its media type (the same bytes sent as
    ``application/json`` and as ``application/graphql-response+json`` are two
    representations, RFC 9110 8.8.3, and a cache holding one must not answer the other)."""
    digest = hashlib.blake2b(body, digest_size=12)
    digest.update(b"\0" + media_type.encode())
    return '"' + digest.hexdigest() + '"'

"""Small performance helpers shared by the batch paths."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

__all__ = [
    "SERVING_YOUNG_THRESHOLD",
    "OneAtATime",
    "gc_paused",
    "gc_paused_while",
    "give_back_memory",
    "serving_collector",
]


@contextmanager
def gc_paused(freeze: bool = True) -> Iterator[None]:
    """Pause the cyclic garbage collector around a burst of allocations.

    Loading a source or resolving identities allocates millions of small objects and frees
    none until it is done; the collector would scan them again and again for nothing. What
    survives the burst (source lines, records) lives as long as the process: it is moved to
    the permanent generation (``gc.freeze``), so later collections do not walk it either.
    Reference counting still frees whatever is dropped; only cycles among frozen objects wait.

    ``freeze=False`` where nothing made in the burst outlives it (a resolution's work): a
    freeze there would keep whatever cycles the process had made meanwhile (every request's
    leftovers) forever. Never on the request path of a serving process: the pause is
    process-wide, and a freeze per ingest grew a soak's RSS by ~20 KB a request.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()


_pausing = [0, False]  # requests pausing the collector, and whether it was enabled before


@contextmanager
def gc_paused_while() -> Iterator[None]:
    """Pause the cyclic collector while one long piece of work runs beside the requests
    served (a large push: its lines, records and closure, made on the event loop and the
    store's threads), whatever else pauses it meanwhile.

    A collection stops every thread, the event loop's included. A push of 20,000 lines
    keeps hundreds of thousands of objects alive until it answers: the collections its
    allocations triggered walked them all, again and again, for nothing (a full one took
    0.5-0.8 s, young ones 0.1-0.2 s, each collecting nothing; ``docs/benchmarks-history.md``).
    Reference counting still frees whatever is dropped; only garbage cycles wait for the
    end. Counted, on the event loop's thread: the last one out enables the collector again
    (if it was enabled when the first came in), so two pushes at once pause it once.
    """
    if _pausing[0] == 0:
        _pausing[1] = gc.isenabled()
        gc.disable()
    _pausing[0] += 1
    try:
        yield
    finally:
        _pausing[0] -= 1
        if _pausing[0] == 0 and _pausing[1]:
            gc.enable()


SERVING_YOUNG_THRESHOLD = 20_000
"""Net allocations of tracked objects between two young collections while the app serves
(the interpreter's default is 700)."""


@contextmanager
def serving_collector() -> Iterator[None]:
    """The cyclic collector set for serving requests, as it was again at shutdown.

    What a start built (modules, the schema, plans, connectors: most of the tracked objects)
    lives until shutdown, yet every full collection walked it all again, a pause of every
    request in flight. It is frozen (``gc.freeze``): a full collection walks only what was
    made since. Reference counting still frees whatever is dropped; a cycle among the frozen
    objects waits for the shutdown, which unfreezes and collects (nothing stays frozen, so a
    process that starts app after app, as the tests do, keeps no cycle of them).

    A young collection came every 700 net allocations, fewer than one profile miss holds at
    once (its lines, models, futures): under load it ran every few requests, and promoted
    what the requests in flight held for the middle generation to walk again.
    :data:`SERVING_YOUNG_THRESHOLD` is above what the requests in flight hold, so a young
    collection comes when objects truly accumulate. Reference counting frees a request's
    objects either way; only garbage cycles wait longer (a request makes none).
    ``docs/benchmarks-history.md`` (issue 22, ninth round) has the pauses measured.

    Once per start, never per request: a freeze per request would keep every request's
    cycles (see :func:`gc_paused`).
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(SERVING_YOUNG_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()
        # What the serving time kept (cycles among the frozen, up to a threshold's worth of
        # young garbage) is freed now, at shutdown, not in whatever runs next: a socket in a
        # cycle warns when it is collected (a test suite's next test would see it).
        gc.collect()


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


_trim = _malloc_trim()


def give_back_memory() -> bool:
    """Return to the system the free memory the C allocator keeps (``malloc_trim(0)``):
    glibc keeps what a burst freed in its arenas, one per thread that allocated (the
    store's threads each have theirs), and gives back only the top of each heap by itself.
    Answers whether it could (glibc only). Run off the event loop: it walks every arena."""
    if _trim is None:
        return False
    _trim(0)
    return True


GIVE_BACK_AFTER = 1.0
"""Seconds after the last large piece of work ends that its memory is given back: its
answer is sent, its objects freed, by then."""


class OneAtATime:
    """A turn for large pieces of work (a large push): one runs at a time, in arrival
    order, so their objects are never held at once; once the last ends and none waits, the
    memory it freed is given back to the system (:func:`give_back_memory`, on a thread,
    :data:`GIVE_BACK_AFTER` seconds later)."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._waiting = 0
        self._timer: asyncio.TimerHandle | None = None
        self._giving: asyncio.Task[bool] | None = None
        self.ran = 0
        """Pieces of work that had their turn."""

    @property
    def waiting(self) -> int:
        """Pieces of work in or waiting for the turn."""
        return self._waiting

    @asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        self._waiting += 1
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            async with self._lock:
                self.ran += 1
                yield
        finally:
            self._waiting -= 1
            if self._waiting == 0:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(GIVE_BACK_AFTER, self._give_back)

    def _give_back(self) -> None:
        self._timer = None
        if self._giving is None or self._giving.done():
            self._giving = asyncio.ensure_future(asyncio.to_thread(give_back_memory))

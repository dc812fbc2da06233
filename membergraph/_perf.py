"""Small performance helpers shared by the batch paths."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["frozen_while_serving", "gc_paused"]


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


@contextmanager
def frozen_while_serving() -> Iterator[None]:
    """Keep what a start built out of the cyclic collector's walks while the app serves.

    A start leaves ~100,000 tracked objects (modules, the schema, the plans, the connectors)
    that live until shutdown. Every full collection walked them all again, a pause of every
    request in flight; a stream of misses (each keeps a response-cache entry) brings one
    every few thousand requests. Frozen (``gc.freeze``), a full collection walks only what
    was made since. Reference counting still frees whatever is dropped; a cycle among the
    frozen objects waits for the shutdown's ``gc.unfreeze`` (nothing is frozen for good,
    so a process that starts app after app, as the tests do, keeps no cycle of them).
    Once per start, never per request: a freeze per request would keep every request's
    cycles (see :func:`gc_paused`).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()

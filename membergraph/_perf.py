"""Small performance helpers shared by the batch paths."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


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

"""Small performance helpers shared by the batch paths."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["gc_paused"]


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector around a burst of allocations.

    Loading a source or resolving identities allocates millions of small objects and frees
    none until it is done; the collector would scan them again and again for nothing. What
    survives the burst (source lines, records) lives as long as the process: it is moved to
    the permanent generation (``gc.freeze``), so later collections do not walk it either.
    Reference counting still frees whatever is dropped; only cycles among frozen objects wait.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()

"""Caches of the values identity meets (identifiers made, phones parsed, names compared),
large for a whole-store resolution and capped while a gateway serves.

A resolution meets each value many times (a card on every purchase, an e-mail on every
event): a cache that holds them all makes a miss (~33 us) a hit (~5 us). A gateway serving
for months meets new values for ever (each sign-up's e-mail, card and contact ID): the same
caches filled to their size, about 200 MB (``docs/benchmarks.md``, ``small_push.py``),
bounded but held for nothing, as a served push meets most values once. :func:`capped`
caps every cache while a process serves (``membergraph serve``, after its start's load)
and gives them back their size when it stops (a test suite starts app after app).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import lru_cache, update_wrapper
from typing import Any, Generic, ParamSpec, TypeVar

__all__ = ["SERVING_ENTRIES", "ValueCache", "capped", "value_cache"]

P = ParamSpec("P")
R = TypeVar("R")

SERVING_ENTRIES = 4096
"""Entries each cache keeps while a gateway serves: a push's repeated values (one card on
many purchases) still hit."""

_CACHES: list[ValueCache[Any, Any]] = []


class ValueCache(Generic[P, R]):
    """``functools.lru_cache`` of ``function`` whose size :func:`capped` can change."""

    def __init__(self, function: Callable[P, R], largest: int) -> None:
        self.function = function
        self.largest = largest
        self._cached: Callable[P, R] = lru_cache(maxsize=largest)(function)
        update_wrapper(self, function)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        return self._cached(*args, **kwargs)

    def resize(self, entries: int) -> None:
        """Hold at most ``entries`` values from now on (what it held is dropped)."""
        self._cached = lru_cache(maxsize=min(entries, self.largest))(self.function)

    @property
    def size(self) -> int | None:
        """The most values it holds now."""
        return self._cached.cache_info().maxsize  # type: ignore[attr-defined,no-any-return]


def value_cache(largest: int) -> Callable[[Callable[P, R]], ValueCache[P, R]]:
    """Decorate a function of values as ``lru_cache(maxsize=largest)`` would, capped while
    serving (:func:`capped`)."""

    def decorate(function: Callable[P, R]) -> ValueCache[P, R]:
        cache = ValueCache(function, largest)
        _CACHES.append(cache)
        return cache

    return decorate


@contextmanager
def capped(entries: int = SERVING_ENTRIES) -> Iterator[None]:
    """Every value cache holds at most ``entries`` values inside, its full size after.

    >>> from membergraph.identity.records import make_identifier
    >>> with capped(16):
    ...     make_identifier.size
    16
    >>> make_identifier.size
    131072
    """
    for cache in _CACHES:
        cache.resize(entries)
    try:
        yield
    finally:
        for cache in _CACHES:
            cache.resize(cache.largest)

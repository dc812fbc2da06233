"""Figures computed from a query document, kept across requests per key (its text, its
operation, ...) up to a bound: past it, all are dropped at once and computed again."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["Kept"]

V = TypeVar("V")


class Kept(Generic[V]):
    def __init__(self, bound: int = 4096) -> None:
        self.bound = bound
        self._values: dict[Hashable, V] = {}

    def get(self, key: Hashable | None, compute: Callable[[], V]) -> V:
        """The value kept for ``key``, or ``compute()`` kept for it (``key`` None: not kept)."""
        if key is not None and (value := self._values.get(key)) is not None:
            return value
        value = compute()
        if key is not None:
            if len(self._values) >= self.bound:
                self._values.clear()
            self._values[key] = value
        return value

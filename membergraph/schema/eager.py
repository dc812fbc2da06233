"""Coroutines started in the caller's task, as Python 3.12's eager tasks start them.

A plan (``compiled.py``) resolves a field's resolvers as graphql-core does: each awaitable
as a task, started in field order. Most of a profile's resolvers never wait on anything
(their lines were read beside the lookup, their loaders primed), and a task costs a
future, callbacks and two turns of the event loop for nothing. :func:`started` runs each
coroutine in the caller's task until it waits on something not done yet; only then does
the rest of it go on as a task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any

__all__ = ["started"]


def started(
    coroutines: list[Coroutine[Any, Any, Any]], inner: list[Any] | None = None
) -> list[asyncio.Future[Any]]:
    """Runs each coroutine, in order, until it waits on something not done yet, in the
    caller's task; those that wait go on as tasks (returned). Loaders batch the same keys:
    a load waits for a later turn of the loop either way.
    The first one to raise stops them all, as ``gather_with_cancel`` does: the coroutines
    not started are closed (with the ``inner`` awaitables they would have awaited), the
    tasks cancelled, and the exception raised."""
    waiting: list[asyncio.Future[Any]] = []
    for n, coroutine in enumerate(coroutines):
        try:
            awaited = coroutine.send(None)
        except StopIteration:
            continue
        except BaseException:
            for later in [*coroutines[n + 1 :], *(inner or [])[n + 1 :]]:
                close = getattr(later, "close", None)
                if close is not None:  # a coroutine never awaited: no warning, no leak
                    close()
            for task in waiting:
                task.cancel()
            raise
        if getattr(awaited, "_asyncio_future_blocking", None):
            # What a task does with a future its coroutine waits on: another coroutine
            # started here may wait on the same one (a key two fields load), and a future
            # refuses a second ``await`` while the flag is up. The task raises it again.
            awaited._asyncio_future_blocking = False
        waiting.append(asyncio.ensure_future(_Resumed(coroutine, awaited)))
    return waiting


class _Resumed(Coroutine[Any, Any, Any]):
    """The rest of a coroutine that waits on ``awaited`` (what it yielded to the event
    loop), as a task's body: to the task, the coroutine as if it had started in it. A
    cancellation before the task's first step reaches the coroutine where it waits, as it
    reaches a coroutine that waits in its task (a generator would raise it unstarted)."""

    __slots__ = ("_awaited", "_coroutine")

    def __init__(self, coroutine: Coroutine[Any, Any, Any], awaited: Any) -> None:
        self._coroutine = coroutine
        self._awaited = awaited

    def send(self, value: Any) -> Any:
        awaited, self._awaited = self._awaited, _TAKEN
        if awaited is _TAKEN:
            return self._coroutine.send(value)
        if getattr(awaited, "_asyncio_future_blocking", None) is False:
            awaited._asyncio_future_blocking = True  # as ``await`` left it (see started)
        return awaited

    def throw(self, typ: Any, val: Any = None, tb: Any = None) -> Any:
        self._awaited = _TAKEN
        if val is None and tb is None:
            return self._coroutine.throw(typ)
        return self._coroutine.throw(typ, val, tb)  # pragma: no cover - the old signature

    def close(self) -> None:
        self._coroutine.close()

    def __await__(self) -> Generator[Any, Any, Any]:
        step: Any = self.send
        value: Any = None
        while True:
            try:
                awaited = step(value)
            except StopIteration as stop:
                return stop.value
            try:
                value, step = (yield awaited), self.send
            except BaseException as exc:  # thrown in: to the coroutine where it waits
                value, step = exc, self.throw


_TAKEN = object()

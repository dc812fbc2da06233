"""Reads that share one trip to a SQLite connection's thread.

A query's member fields ask the four sources together: four DataLoader batches, each one
trip through aiosqlite's thread (a queue put, a thread woken, an answer handed back to the
event loop), while the reads themselves are index lookups of a few microseconds. The
loaders dispatch over a few turns of the event loop, so :class:`SharedTrips` waits until a
turn passes with no new read, then runs every read asked meanwhile in one trip, and hands
each caller its own answer or its own error. Reads of concurrent requests share it too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

__all__ = ["SharedTrips"]

T = TypeVar("T")
Read = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]"]
Mapped = Callable[[Exception], Exception]
Run = Callable[[Callable[..., list[Any]], list[Read], Mapped], Awaitable[list[Any]]]


class SharedTrips:
    """Gathers reads and runs them together through ``run(fn, *args)`` (one trip:
    ``fn(connection, *args)`` in the connection's thread).

    Args:
        run: runs a function of the connection in its thread, driver errors mapped.
        mapped: maps an error one read raised in the thread (as ``run`` maps its own).
    """

    def __init__(self, run: Run, mapped: Mapped) -> None:
        self._run = run
        self._mapped = mapped
        self._asked: list[Read] = []
        self._waiting = False
        self._trips: set[asyncio.Task[None]] = set()
        self.trips = 0
        """How many trips were made (reads over trips: how much sharing saved)."""

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(connection, *args)``, in the next shared trip."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._asked.append((fn, args, future))
        if not self._waiting:
            self._waiting = True
            loop.call_soon(self._settle, 0)
        return await future

    def _settle(self, seen: int) -> None:
        if len(self._asked) > seen:  # reads still arriving: one more turn
            asyncio.get_running_loop().call_soon(self._settle, len(self._asked))
            return
        asked, self._asked, self._waiting = self._asked, [], False
        trip = asyncio.get_running_loop().create_task(self._go(asked))
        self._trips.add(trip)  # the loop keeps only a weak reference to a task
        trip.add_done_callback(self._trips.discard)

    async def _go(self, asked: list[Read]) -> None:
        self.trips += 1
        try:
            answers = await self._run(_each, asked, self._mapped)
        except asyncio.CancelledError:  # the loop is closing: so are the reads
            for _, _, future in asked:
                future.cancel()
            raise
        except Exception as exc:  # the trip failed (already mapped): every read fails with it
            answers = [_Failed(exc)] * len(asked)
        for (_, _, future), answer in zip(asked, answers, strict=True):
            if future.done():  # its caller gave up (a timeout)
                continue
            if isinstance(answer, _Failed):
                future.set_exception(answer.error)
            else:
                future.set_result(answer)


class _Failed:
    __slots__ = ("error",)

    def __init__(self, error: Exception) -> None:
        self.error = error


def _each(db: Any, asked: list[Read], mapped: Mapped) -> list[Any]:
    """In the connection's thread: each read's answer, or its error (it fails alone)."""
    answers: list[Any] = []
    for fn, args, _ in asked:
        try:
            answers.append(fn(db, *args))
        except Exception as exc:
            answers.append(_Failed(mapped(exc)))
    return answers

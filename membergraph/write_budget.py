"""A request's time budget, and the writes to the store it makes (docs/bad-input.md).

A query or mutation runs within ``MEMBERGRAPH_REQUEST_TIMEOUT``; what it still waits on
when that is spent is cancelled, and it answers ``TIMEOUT``. A write cannot be called back
that way: handed to SQLite's thread or sent to MongoDB, it goes on whether its request
waits or not, so a mutation answered ``TIMEOUT`` was saved all the same (a steward's
``linkRecords`` merged, a ``suppress`` kept). So the budget bounds what comes *before* a
request's first write: that write waits for the store's lock only for what is left of it
(:func:`write_begins`; past it the store refuses it, nothing written: ``STORE_UNAVAILABLE``),
and once it is handed over the budget stops counting: the answer waits for the request's
writes and says what they saved. ``TIMEOUT`` from a mutation means nothing was written.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextvars import ContextVar

__all__ = ["within", "write_begins"]

_BUDGET: ContextVar[asyncio.Timeout | None] = ContextVar("write_budget", default=None)


@contextlib.asynccontextmanager
async def within(seconds: float) -> AsyncIterator[None]:
    """``asyncio.timeout(seconds)`` around a request, which its writes stop (raises
    ``TimeoutError`` when it is spent before they begin)."""
    async with asyncio.timeout(seconds) as budget:
        token = _BUDGET.set(budget)
        try:
            yield
        finally:
            _BUDGET.reset(token)


def write_begins() -> float | None:
    """Said by a store as it hands a write over: the seconds it may wait for the store's
    lock (what is left of the request's budget, 0 when none is), after which the request's
    budget no longer runs. None outside a request's budget, or once a write of it began:
    its later writes finish what the first began, waiting as any write does."""
    budget = _BUDGET.get()
    when = None if budget is None else budget.when()
    if budget is None or when is None:
        return None
    if budget.expired():  # (spent, its cancellation caught on the way: nothing may begin)
        return 0.0
    budget.reschedule(None)
    return max(when - asyncio.get_running_loop().time(), 0.0)

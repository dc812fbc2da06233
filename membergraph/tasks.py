"""Background tasks stopped one way: cancelled, then awaited until they have stopped."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

__all__ = ["stop"]


async def stop(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has stopped (None: nothing to stop)."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task

"""One push at a time across the processes that share a SQLite file.

A push stores its lines, applies identity, then appends the lines' feed entries: three
writes. Two processes pushing at once could interleave them, so a line committed first
could be announced second. Held around the whole push, this lock makes the feed's cursor
order the order the lines were committed in. It is an ``flock`` on a file beside the store
(every process over a SQLite file runs on the file's host); the kernel drops it when its
holder dies, so a killed process never leaves it held.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import AsyncIterator

__all__ = ["PushLock"]


class PushLock:
    """An exclusive lock on ``path``, waited for at most ``wait`` seconds."""

    def __init__(self, path: str, wait: float = 30.0) -> None:
        self.path = path
        self.wait = wait

    @contextlib.asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Held until the block ends.

        Raises:
            TimeoutError: another process held it for :attr:`wait` seconds.
        """
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            deadline, pause = time.monotonic() + self.wait, 0.001
            # Polled without blocking: a blocked thread would outlive a cancelled request
            # and take the lock for nobody.
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"another process held {self.path} for {self.wait:g} s"
                        ) from None
                    await asyncio.sleep(pause)
                    pause = min(pause * 2, 0.02)
            yield
        finally:
            os.close(fd)  # closing the file releases the lock

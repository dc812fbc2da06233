"""Ctrl-C while a gateway starts: the process stops at once, as ``membergraph load`` does.

uvicorn takes SIGINT and SIGTERM before the app's lifespan starts, and its handler only asks
a started server to stop: during the start (the first load of a folder, minutes for a large
one) the signal is noted and nothing more, so the load runs to its end, the URL is announced
as if the gateway were up, and only then does it stop, exit 0. A ``KeyboardInterrupt`` would
not do either: uvicorn swallows it, and the lifespan it cancels is logged as a traceback.

So while the gateway starts, either signal ends the process there and then, as a kill
would: every store write is a transaction, and a load stopped part-way is finished by the
next start (``folder_load``), as one stopped by a crash is.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

__all__ = ["INTERRUPTED", "interruptible"]

INTERRUPTED = 130  # the shell's code for a process ended by SIGINT (128 + 2)
_SAID = b"membergraph: stopped while starting; the next start finishes what it loaded\n"


def _stop(signum: int, frame: FrameType | None) -> None:
    os.write(2, _SAID)
    os._exit(INTERRUPTED if signum == signal.SIGINT else 128 + signum)


@contextlib.contextmanager
def interruptible(serving: bool) -> Iterator[None]:
    """The block (a start) ended by Ctrl-C or SIGTERM at once, when ``serving`` in the main
    thread; the server's handlers are put back after it."""
    if not serving or threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in held.items():
            signal.signal(sig, handler)

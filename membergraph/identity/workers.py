"""Worker processes for batch work, which end when their parent ends, however it ends."""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import Executor, ProcessPoolExecutor

__all__ = ["end_with_parent", "worker_pool"]


def worker_pool(workers: int) -> Executor:
    # spawn, not fork: the caller may hold threads (the event loop's, SQLite's).
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_follow_parent,
        initargs=(os.getpid(),),
    )


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_GRACE_S = 10.0  # a process told to end by a signal it handles is gone after this at most


def _follow_parent(parent: int) -> None:
    """A worker's initializer: the worker ends when ``parent`` ends, however it ends.

    A worker whose parent was killed would wait on its task queue for ever (it holds that
    pipe's writing end itself): a SIGKILL of ``membergraph resolve`` left its workers running.
    """
    end_with_parent(parent, signal.SIGKILL)


def end_with_parent(parent: int, how: signal.Signals) -> None:
    """This process gets ``how`` when ``parent`` ends, however it ends (SIGTERM lets a
    server finish what it is answering; it is ended outright :data:`_GRACE_S` later).

    Linux sends it when the thread that started this process ends (for a pool or uvicorn's
    supervisor, the main thread: only the parent's death can set it off). A thread watching
    the parent's pid covers other systems, and a parent that died before the ``prctl``
    asked (the pid check right after it).
    """
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, how, 0, 0, 0)
    watch = threading.Thread(target=_watch_parent, args=(parent, how), name="parent", daemon=True)
    watch.start()


def _watch_parent(parent: int, how: signal.Signals) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os.kill(os.getpid(), how)
    time.sleep(_GRACE_S)
    os._exit(1)

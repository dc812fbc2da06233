"""Whether a process of this machine still runs: a killed one leaves things behind that only
it would have removed (a worker's metrics files, a lease on a member's erasure), and what
finds them must tell a dead owner from a live one without waiting for a timeout."""

from __future__ import annotations

import os
import socket

__all__ = ["alive", "this_process"]


def this_process() -> str:
    """This process, as :func:`alive` reads it back: ``host/pid/started``."""
    return f"{socket.gethostname()}/{os.getpid()}/{_started(os.getpid())}"


def alive(process: str | int) -> bool:
    """Whether ``process`` (a pid of this machine, or what :func:`this_process` said) still
    runs. A zombie (killed, not yet reaped) does not; a process of another host may (we
    cannot tell: True); a pid taken again by a newer process is not the one named."""
    host, pid, started = socket.gethostname(), 0, None
    if isinstance(process, int):
        pid = process
    else:
        try:
            host, pid_text, started = process.rsplit("/", 2)
            pid = int(pid_text)
        except ValueError:
            return True  # not ours to judge
    if host != socket.gethostname():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return started is None  # another user's: the pid was taken again
    stat = _stat(pid)
    if stat is None:
        return True  # no /proc (not Linux): the signal said it is there
    state, began = stat
    return state != "Z" and (started is None or started == began)


def _started(pid: int) -> str:
    stat = _stat(pid)
    return stat[1] if stat is not None else "-"


def _stat(pid: int) -> tuple[str, str] | None:
    """The process's state and when it started (clock ticks since boot), from /proc."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as file:
            fields = file.read().rpartition(")")[2].split()
        return fields[0], fields[19]
    except (OSError, IndexError):
        return None

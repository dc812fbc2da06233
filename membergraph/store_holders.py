"""Which processes hold a SQLite store open: ``restore`` must not put a copy under them, and
``reresolve`` must not bring an older store up while an older release's gateway writes into
it (every gateway that can serve an older format is an older release's: this one refuses it).

A SQLite connection to a store in WAL mode keeps a shared lock on one byte of its ``-shm``
file for as long as it is open (:func:`held`); which processes they are is read from
``/proc`` where there is one (:func:`holders`: Linux, this machine's processes, those this
user may read), so a refusal can name them.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

__all__ = ["held", "holders"]

_DMS = 128
"""The byte of a store's ``-shm`` every SQLite connection to it holds a shared lock on
(WALINDEX_LOCK_OFFSET 120 + SQLITE_SHM_NLOCK 8, sqlite3's os_unix.c)."""


def held(path: Path) -> bool:
    """Whether a process holds the store at ``path`` open."""
    shm = Path(f"{path}-shm")
    try:
        fd = os.open(shm, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _DMS, os.SEEK_SET)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _DMS, os.SEEK_SET)
        return False
    finally:
        os.close(fd)


def holders(path: Path) -> list[str]:
    """The processes of this machine that have the store at ``path`` (or its ``-wal`` or
    ``-shm``) open, each as ``pid N (its command line)``, this one left out; empty where
    ``/proc`` cannot tell."""
    files = {str(Path(f"{path}{end}").resolve()) for end in ("", "-wal", "-shm")}
    found = []
    try:
        pids = sorted(int(name) for name in os.listdir("/proc") if name.isdigit())
    except OSError:
        return []
    for pid in pids:
        if pid == os.getpid():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if not any(_link(f"/proc/{pid}/fd/{fd}") in files for fd in fds):
                continue
            with open(f"/proc/{pid}/cmdline", "rb") as file:
                command = file.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # gone meanwhile, or another user's
            continue
        found.append(f"pid {pid} ({command[:160]})")
    return found


def _link(fd: str) -> str:
    try:
        return os.readlink(fd)
    except OSError:
        return ""

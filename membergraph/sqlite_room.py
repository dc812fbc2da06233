"""A SQLite file that takes no more bytes (a full disk, the file size limit reached, a
failing disk), said as what it is and what to do, never as "disk I/O error" alone."""

from __future__ import annotations

import os
import sqlite3

__all__ = ["no_room", "out_of_room", "resource_limit", "unopenable", "unwritten"]


def out_of_room(exc: BaseException | None) -> str | None:
    """What a storage failure anywhere in ``exc``'s chain says (a full disk, a file over
    the size limit, an I/O error), else None: the file cannot be written until an operator
    acts, so a caller is told so rather than "try again", and readiness says so."""
    seen = 0
    while exc is not None and seen < 8:
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int) and (code == sqlite3.SQLITE_FULL or code & 0xFF == _IOERR):
            return str(exc)
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


_IOERR = sqlite3.SQLITE_IOERR
_SHM = {sqlite3.SQLITE_IOERR_SHMOPEN, sqlite3.SQLITE_IOERR_SHMSIZE, sqlite3.SQLITE_IOERR_SHMMAP}
_ROOMY = 1 << 20  # (bytes free under which a disk is said to be full)


def unopenable(path: str, exc: BaseException) -> str | None:
    """What to tell the operator when the file at ``path`` cannot be opened for want of
    room (``exc`` says a full disk, a file over the size limit, an I/O error), else None.

    A store in WAL mode is read through its ``-shm`` file: a store closed cleanly has
    none, and SQLite cannot make one (32 KiB) on a full disk, so not even its reads can
    be served: the process cannot start. Said in one line naming the path, the room left
    and what to do, never as "disk I/O error" alone (an operator then looks for a failing
    disk, not a full one)."""
    found = no_room(path, exc)
    if found is None:
        return None
    why, do, said = found
    code = getattr(exc, "sqlite_errorcode", None)
    step = "make its -shm file beside it" if code in _SHM else "write it"
    return (
        f"SQLite store {path} cannot be opened: {why}; SQLite could not {step} ({said}):"
        f" {do}, then start again"
    )


def unwritten(path: str, what: str, exc: BaseException) -> str:
    """What to tell of ``what`` on the file at ``path`` failing with ``exc``: for want of
    room, why (the disk full, the file size limit reached, the disk failing: the room
    left) and what to do, as :func:`unopenable` says it; else the driver's words."""
    found = no_room(path, exc)
    if found is None:
        return f"SQLite store {path}: {what} failed: {exc}"
    why, do, said = found
    return f"SQLite store {path}: {what} failed ({said}): {why}: {do}"


def no_room(path: str, exc: BaseException) -> tuple[str, str, str] | None:
    """(why, what to do, the driver's words) when ``exc`` says the file at ``path`` takes
    no more bytes, else None."""
    said = out_of_room(exc)
    if said is None:
        return None
    folder = os.path.dirname(os.path.abspath(path))
    try:
        found = os.statvfs(folder)
        free: int | None = found.f_bavail * found.f_frsize
    except OSError:
        free = None
    limit = resource_limit()
    if getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
        free is not None and free < _ROOMY
    ):
        return (
            f"the disk holding it is full ({free} bytes free in {folder})",
            "make room there",
            said,
        )
    if limit is not None:
        return f"the file size limit (ulimit -f) of {limit} bytes is reached", "raise it", said
    return f"the disk holding it failed ({free} bytes free in {folder})", "check the disk", said


def resource_limit() -> int | None:
    """The process's file size limit in bytes (``ulimit -f``), None without one."""
    try:
        import resource
    except ImportError:  # (not on Windows)
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_FSIZE)
    return None if soft == resource.RLIM_INFINITY else soft

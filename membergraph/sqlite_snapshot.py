"""Reading a SQLite store where no file can be made beside it: a read-only file system (a
snapshot mounted read-only), a folder this user may not write.

A store in WAL mode is read through its ``-shm`` file, which SQLite makes beside it when it
is missing (a store closed cleanly has none): where it cannot, a plain open fails with
"unable to open database file", which says nothing of why. The store is opened read-only
(``mode=ro``); on a read-only file system, where no writer can exist, and when no ``-wal``
holds changes, as immutable (``immutable=1``: the file alone is the store, no lock or
``-shm`` needed). A folder this user may not write is no such place: its owner (a gateway's
service account) may be writing the store, so it is never read as immutable there. A
``-wal`` holding changes is read through its ``-shm`` when one is there; where none is and
none can be made, the store cannot be read whole, said in one line with what to do.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

__all__ = ["StoreUnreadable", "open_for_reading", "unwritable_folder"]


READ_ONLY_FS = "a read-only file system"


class StoreUnreadable(Exception):
    """The store cannot be read where it is; the message says why and what to do."""


def unwritable_folder(path: Path) -> str | None:
    """Why no file can be made beside ``path`` (None: its folder is writable)."""
    folder = path.resolve().parent
    if os.access(folder, os.W_OK):
        return None
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    return READ_ONLY_FS if read_only else "a folder this user may not write"


def open_for_reading(path: Path, timeout: float = 30) -> sqlite3.Connection:
    """A connection that reads the store at ``path`` whole: as any connection where its
    folder is writable (a gateway may be writing it), else read-only (module doc).

    Raises:
        StoreUnreadable: its ``-wal`` holds changes and no ``-shm`` is there or can be made.
    """
    why = unwritable_folder(path)
    if why is None:
        return sqlite3.connect(path, timeout=timeout)
    uri = path.resolve().as_uri()
    if why == READ_ONLY_FS and _size(Path(f"{path}-wal")) == 0:
        return sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, timeout=timeout)
    db = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=timeout)
    try:
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        db.close()
        held = "its -wal file holds changes" if _size(Path(f"{path}-wal")) else "a store"
        raise StoreUnreadable(
            f"SQLite store {path} cannot be read: it is on {why} and {held} SQLite reads"
            f" through a -shm file it cannot make there ({exc}): copy {path} (and its -wal"
            " file, if any) together to a writable folder, then use that copy"
        ) from exc
    return db


def _size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0

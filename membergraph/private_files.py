"""Files that hold personal data, as the gateway writes them.

A file it creates (the SQLite store, a backup, an export, a privacy export, a source file a
push starts) is readable and writable by its owner only (``0600``), whatever the umask:
they hold unmasked e-mails, phones and names, and the store its ``privacy_secret``. A file
that is already there keeps the mode its operator gave it.

A source file an erasure rewrites is rewritten where it is: through a symbolic link (a
pipeline's ``crm.jsonl -> exports/crm-2026-12-07.jsonl``) the file it points to is replaced,
atomically in its own folder, and the link stays; the new file takes the old one's mode and
owner.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path
from typing import BinaryIO

__all__ = ["PRIVATE_MODE", "create_private", "open_private", "rewrite_file", "write_private"]

PRIVATE_MODE = 0o600


def create_private(path: str | Path) -> None:
    """Make ``path`` an empty file only its owner may read, unless something is there already.

    For a SQLite store, before SQLite opens it: SQLite gives its ``-wal`` and ``-shm`` files
    the main file's mode. The file is made under another name and hard-linked into place, so
    no descriptor of ``path`` is ever opened and closed here (closing one would drop the
    POSIX locks a connection of this process holds on it: ``privacy/file_scan.py``)."""
    where = Path(path)
    if where.exists() or where.is_symlink():
        return
    side = where.with_name(f".{where.name}.{secrets.token_hex(6)}.new")
    fd = os.open(side, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)  # a umask such as 0277 would leave it unwritable
    finally:
        os.close(fd)
    try:
        os.link(side, where)
    except FileExistsError:
        pass  # another process made it meanwhile: its mode stands
    except OSError:  # a file system without hard links: made in place
        with contextlib.suppress(FileExistsError):
            os.close(os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))
    finally:
        os.unlink(side)


def open_private(path: str | Path) -> BinaryIO:
    """Open ``path`` (a file of the caller's own, such as an export's partial copy) for
    writing from empty, readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, PRIVATE_MODE)
    try:
        os.fchmod(fd, PRIVATE_MODE)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


def write_private(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (a partial copy beside it, renamed),
    readable by its owner only."""
    out = Path(path)
    partial = out.with_name(f".{out.name}.part")
    try:
        with open_private(partial) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, out)
    finally:
        partial.unlink(missing_ok=True)


def rewrite_file(path: str | Path, data: bytes) -> None:
    """Replace the content of the file at ``path`` with ``data``, atomically: the file a
    symbolic link points to is rewritten (the link stays), with its mode and owner.

    Raises:
        OSError: the file could not be rewritten, or not with its owner (it belongs to
            another user, and this process may not give files away): nothing changed.
    """
    target = Path(os.path.realpath(path))
    was = os.stat(target)
    fresh = target.with_name(f".{target.name}.{secrets.token_hex(6)}.erasing")
    fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            made = os.fstat(handle.fileno())
            if (made.st_uid, made.st_gid) != (was.st_uid, was.st_gid):
                try:
                    os.fchown(handle.fileno(), was.st_uid, was.st_gid)
                except PermissionError:
                    raise PermissionError(
                        f"{target} belongs to uid {was.st_uid} gid {was.st_gid}: rewritten by"
                        f" uid {made.st_uid} it would change owner; erase as its owner"
                    ) from None
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), stat.S_IMODE(was.st_mode))
            os.fsync(handle.fileno())
        os.replace(fresh, target)
    except BaseException:
        fresh.unlink(missing_ok=True)
        raise
    folder = os.open(target.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(folder)  # the rename, durably
    finally:
        os.close(folder)

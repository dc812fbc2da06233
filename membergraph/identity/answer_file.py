"""The answer file of ``membergraph resolve``: written unseen, shown whole."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO

__all__ = ["AnswerFile"]


class AnswerFile:
    """``out``, written unseen and shown whole: it appears only by a rename, once complete.

    On Linux the answers go to a file without a name (``O_TMPFILE``) in ``out``'s folder, so
    that a killed process leaves nothing behind; :meth:`show` names it ``<out>.partial`` and
    renames that over ``out``. Where the folder's file system has no such files, the answers
    are written to ``<out>.partial`` from the start. Either way the next run for the same
    ``out`` removes a ``.partial`` that a killed run left.
    """

    def __init__(self, out: Path) -> None:
        self.out, self.side = out, out.with_name(out.name + ".partial")
        self.folder = os.open(out.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.side.name, dir_fd=self.folder)  # a killed run's
            try:
                tmpfile = os.O_TMPFILE  # AttributeError: not Linux
                fd = os.open(".", tmpfile | os.O_WRONLY, 0o600, dir_fd=self.folder)
                self.named = False
            except (AttributeError, OSError):  # not on this file system either
                flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                fd = os.open(self.side.name, flags, 0o600, dir_fd=self.folder)
                self.named = True
            os.fchmod(fd, 0o600)  # who is whom: its owner's only, whatever the umask
            self.handle: BinaryIO = os.fdopen(fd, "wb")
        except BaseException:
            os.close(self.folder)
            raise

    def show(self) -> None:
        """Make the answers ``out``, durably: data, then name, then the folder's entry."""
        self.handle.flush()
        os.fsync(self.handle.fileno())
        if not self.named:
            # os.link follows the /proc symlink only through linkat, used with a dir_fd.
            fd = f"/proc/self/fd/{self.handle.fileno()}"
            os.link(fd, self.side.name, dst_dir_fd=self.folder, follow_symlinks=True)
        os.replace(self.side.name, self.out.name, src_dir_fd=self.folder, dst_dir_fd=self.folder)
        os.fsync(self.folder)

    def close(self) -> None:
        """Drop what was not shown (a nameless file goes with its descriptor)."""
        try:
            self.handle.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.side.name, dir_fd=self.folder)
        finally:
            os.close(self.folder)

"""Whether a SQLite store's file holds a value anywhere in its bytes, read in a child process.

The gateway's own process must not open and close a descriptor of a SQLite file its
connections hold: POSIX advisory locks belong to the process, and closing any descriptor of
the file drops every lock the process holds on it (SQLite's "How To Corrupt", 2.2). The
store's connections would go on unlocked; the next other process to close its connection
(a second worker, ``membergraph export``, a backup) would find itself the last one,
checkpoint, and delete the WAL and shared memory under them: every later write, each
acknowledged, would go to a deleted file, lost at the next crash.

So the scan runs in a child process, started by this file's path (``python -I``: the
standard library only, no package imported), the values sent on its standard input (they
are personal data: never on a command line, where ``ps`` shows them).
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["file_holds_any", "holds_any"]


def holds_any(path: str | Path, traces: Sequence[str], block: int = 1 << 22) -> bool:
    """Whether the file at ``path`` holds one of ``traces`` (UTF-8) anywhere in its bytes,
    read a block at a time (blocks overlap by the longest trace). Each trace is looked for
    on its own (``bytes.find``: a regular expression of alternatives is ten times slower).

    Opens the file in the calling process: for a SQLite file this process holds open, call
    :func:`file_holds_any`."""
    wanted = sorted({t.encode() for t in traces if t}, key=len, reverse=True)
    if not wanted or not Path(path).exists():
        return False
    overlap = max(len(w) for w in wanted) - 1
    tail = b""
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            window = tail + chunk
            if any(window.find(w) >= 0 for w in wanted):
                return True
            tail = chunk[-overlap:] if overlap else b""
    return False


def file_holds_any(path: str | Path, traces: Sequence[str]) -> bool:
    """:func:`holds_any`, read by a child process, so that no descriptor of the file is
    opened or closed in this one (its SQLite connections keep their locks).

    Raises:
        OSError: the child could not be run, or failed (its message says why).
    """
    if not any(traces):
        return False
    asked = json.dumps({"path": str(path), "traces": list(traces)})
    done = subprocess.run(
        [sys.executable, "-I", __file__],
        input=asked.encode(),
        capture_output=True,
        check=False,
    )
    said = done.stdout.strip()
    if done.returncode != 0 or said not in (b"yes", b"no"):
        detail = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no answer"]
        raise OSError(f"scanning {path} failed: {detail[0]}")
    return said == b"yes"


def _main() -> None:
    asked = json.loads(sys.stdin.buffer.read())
    print("yes" if holds_any(asked["path"], asked["traces"]) else "no")


if __name__ == "__main__":
    _main()

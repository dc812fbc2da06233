"""``membergraph load --rejected FILE``: every malformed line a load skips, with its whole
reason, where the log says only the first five of each file, and ``/readyz`` the first ten,
without the lines' values."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import orjson

from membergraph.connectors.lines import REFUSED, LineError

__all__ = ["rejected_to"]


@contextlib.contextmanager
def rejected_to(path: Path | None) -> Iterator[None]:
    """Write each line refused meanwhile to ``path`` as a JSON line ``{"file", "line",
    "reason"}`` (the reason as a push answers it, quoting the values it is about: the file is
    made readable by its owner only, 0600). None: nothing written."""
    if path is None:
        yield
        return
    made = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(made, "wb") as out:

        def keep(error: LineError) -> None:
            file, _, number = error.where.rpartition(":")
            line = int(number) if number.isdigit() else None
            said = {"file": file or error.where, "line": line, "reason": str(error.message)}
            out.write(orjson.dumps(said) + b"\n")

        token = REFUSED.set(keep)
        try:
            yield
        finally:
            REFUSED.reset(token)

"""The ``membergraph`` command's entry point: the CLI imported where a Ctrl-C is heard.

Importing the CLI takes a while (Strawberry, pydantic, the stores' drivers: a second or
more on a loaded machine), and no command runs yet to catch a Ctrl-C then: Python printed
its ``KeyboardInterrupt`` traceback. It ends as a Ctrl-C ends every command: exit 130, with
one line (``startup_signals`` says why a start stops at once). This module imports nothing
heavy itself.
"""

from __future__ import annotations

import os

from membergraph.startup_signals import INTERRUPTED

__all__ = ["main"]

_SAID = b"membergraph: interrupted before it started; nothing was done\n"


def main() -> None:
    """Run the ``membergraph`` command (``[project.scripts]``)."""
    try:
        from membergraph.cli import app
    except KeyboardInterrupt:
        os.write(2, _SAID)
        raise SystemExit(INTERRUPTED) from None
    app()

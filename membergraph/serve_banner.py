"""What ``membergraph serve`` says when it answers: how many members, from where, how long
the start took, and the URL to open.

A start has work after the gateway is built (pushes and erasures a killed process left are
finished, the change feed followed), and uvicorn listens only after the app's start is done.
The banner said "ready" when the gateway was built: a client acting on it was refused, or
read a person whose erasure was still being finished. So the app hands its figures over at
the end of its start (:class:`Banner` is its ``announce``), and the server says them once
its socket listens (:func:`run_announced`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import webbrowser
from typing import Any

from rich.console import Console

from membergraph.settings import Settings

__all__ = ["Banner", "local_url", "run_announced"]

_STARTUP_FAILURE = 3  # what uvicorn.run exits with when the server never started


def local_url(host: str, port: int) -> tuple[str, bool]:
    """The GraphQL URL a browser on this machine opens, and whether the gateway listens on
    every address (``0.0.0.0``, ``::``: no browser opens those)."""
    every = host in ("0.0.0.0", "::", "")
    if every:
        host = "127.0.0.1" if host != "::" else "::1"
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/graphql", every


class Banner:
    """The start banner of ``serve``: :meth:`ready` is the app's ``announce`` (its figures,
    kept), :meth:`say` prints them (and opens GraphiQL where there is a screen)."""

    def __init__(self, settings: Settings, err: Console, open_browser: bool) -> None:
        self.settings = settings
        self.err = err
        self.open_browser = open_browser
        self.url, self.every = local_url(settings.host, settings.port)
        # As create_app decides: behind credentials /graphql serves no page unless asked to.
        self.graphiql = (
            not settings.has_credentials if settings.graphiql is None else settings.graphiql
        )
        self.figures: tuple[int, str, float] | None = None
        self.unready: str | None = None

    def ready(self, members: int, where: str, seconds: float, unready: str | None = None) -> None:
        """The gateway's start is done: its figures, said once the server listens
        (``unready``: why it is not ready even so, said instead of ready)."""
        self.figures = (members, where, seconds)
        self.unready = None if unready is None else f"not ready: {unready}"

    def say(self, still: str | None = None) -> None:
        """Print the banner; ``still``: what is still being done (said instead of ready)."""
        if self.figures is None:
            return
        members, where, seconds = self.figures
        still = still or self.unready
        state = f"ready in {seconds:.1f} s" if still is None else f"{seconds:.1f} s; {still}"
        port = self.settings.port
        self.err.print(
            f"membergraph: {members} members from {where} ({state})\n"
            + (f"GraphiQL: {self.url}" if self.graphiql else f"GraphQL endpoint: {self.url}")
            + (f" (listening on every address of this machine, port {port})" if self.every else "")
        )
        has_screen = sys.platform in ("darwin", "win32") or os.environ.get("DISPLAY")
        if self.open_browser and self.graphiql and has_screen:
            webbrowser.open(self.url)


def run_announced(application: Any, banner: Banner, **options: Any) -> None:
    """``uvicorn.run(application, **options)`` in this process, the banner said once the
    app's start is done and its socket listens (the first request is answered)."""
    import uvicorn  # (here: every other command starts without it)

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started and not self.should_exit:
                banner.say()

    server = Announcing(uvicorn.Config(application, **options))
    with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run
        server.run()
    if not server.started:
        sys.exit(_STARTUP_FAILURE)

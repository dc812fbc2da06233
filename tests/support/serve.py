"""``membergraph serve`` as a real process, for tests of what only a process shows: the start
banner, replicas over one store, a SIGKILL in the middle of a stream."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx

from tests.support.http import free_port

T = TypeVar("T")


@contextlib.contextmanager
def serve_process(
    data: Path, store: Path, port: int, env: dict[str, str]
) -> Iterator[subprocess.Popen[str]]:
    """``membergraph serve`` on 127.0.0.1:``port`` with ``env`` added to this one's, its
    stderr a text pipe; stopped with SIGTERM (then SIGKILL) when the block ends."""
    command = [sys.executable, "-m", "membergraph.cli", "serve", "--no-open"]
    command += ["--port", str(port), "--data", str(data), "--store", f"sqlite:///{store}"]
    process = subprocess.Popen(
        command,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        if process.stderr is not None:
            process.stderr.close()


@contextlib.contextmanager
def serve_ready(
    data: Path, store: Path, **settings: str
) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A ready ``membergraph serve`` (``/readyz`` answered 200); ``settings`` as
    ``MEMBERGRAPH_<NAME>`` variables, the feed polled every 0.1 s. Yields its address."""
    port = free_port()
    env = {"MEMBERGRAPH_FEED_POLL_S": "0.1"}
    env |= {f"MEMBERGRAPH_{name.upper()}": value for name, value in settings.items()}
    with serve_process(data, store, port, env) as process:
        address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://{address}/readyz", timeout=1).status_code == 200:
                    break
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.1)
        yield address, process


def until(check: Callable[[], T], seconds: float = 10.0) -> T:
    """Poll ``check()`` until it answers something truthy (a bound, not a timing assert)."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)

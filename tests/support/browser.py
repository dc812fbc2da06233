"""A real headless Chromium for tests, driven over the DevTools protocol (no Playwright or
Selenium to install: a WebSocket and JSON). ``chromium()`` skips the test, saying why, when
no Chromium is installed (`apt install chromium`; `.ci/run` installs it where it can)."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.sync.client import ClientConnection, connect

from tests.support.http import free_port

BINARIES = ("chromium", "chromium-browser", "google-chrome", "chrome")
CHROMIUM = next((found for name in BINARIES if (found := shutil.which(name))), None)
NEEDS_CHROMIUM = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium installed (apt install chromium)"
)


@contextlib.contextmanager
def playwright_chromium() -> Iterator[Any]:
    """The installed Chromium driven by Playwright (its own browser download does not work
    here: it launches Debian's executable). Skips when Playwright is not installed."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("no Chromium installed (apt install chromium)")
    with sync_api.sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


class Page:
    """One browser tab: navigate, evaluate JavaScript, wait for a condition."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.ids = itertools.count(1)

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self.ids)
        self.socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self.socket.recv(timeout=120))
            if message.get("id") == ident:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, limit: float = 120) -> Any:
        """The first truthy value of ``expression``, polled; fails after ``limit`` seconds
        with what the page shows."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        body = self.evaluate("document.body && document.body.innerText.slice(0, 500)")
        raise AssertionError(f"page never satisfied {expression!r}; it shows: {body!r}")


@contextlib.contextmanager
def chromium() -> Iterator[Page]:
    binary = CHROMIUM
    if binary is None:
        pytest.skip("no Chromium installed (apt install chromium)")
    port = free_port()
    # Chromium's helpers (crashpad, zygote) may still write the profile after the browser
    # exits: they share its session and are ended with it; a file one leaves behind in the
    # temporary folder is no test failure (seen once in a full suite: "Directory not empty").
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [
                binary,
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--remote-allow-origins=*",
                f"--remote-debugging-port={port}",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            target = _first_tab(port)
            with connect(target, max_size=None, open_timeout=30) as socket:
                page = Page(socket)
                page.call("Page.enable")
                page.call("Runtime.enable")
                yield page
        finally:
            _end(process)


def _end(process: subprocess.Popen[bytes]) -> None:
    """Chromium and every helper it started (one session, its own)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # helpers that outlived the browser


def _first_tab(port: int) -> str:
    deadline = time.monotonic() + 30
    while True:
        try:
            tabs = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=2).json()
            pages = [t for t in tabs if t.get("type") == "page"]
            if pages:
                return str(pages[0]["webSocketDebuggerUrl"])
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("Chromium did not open its DevTools port")
        time.sleep(0.1)

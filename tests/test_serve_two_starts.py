"""Two ``membergraph serve`` started at once over an empty demo cache (two replicas of a new
pod pair): the demo set is written once, the second start waiting for the first one's and
reading it; neither dies (an adversarial pass saw one stop on a ``FileNotFoundError`` of a
``.crm.jsonl.part`` the other had renamed)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.http import free_port
from tests.support.serve import until

pytestmark = pytest.mark.sqlite


@contextlib.contextmanager
def _serve(store: Path, cache: Path, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``membergraph serve`` naming no folder (the demo's), its output in ``log``."""
    port = free_port()
    command = [sys.executable, "-m", "membergraph.cli", "serve", "--no-open"]
    command += ["--port", str(port), "--store", f"sqlite:///{store}"]
    env = {**os.environ, "MEMBERGRAPH_CACHE_DIR": str(cache), "MEMBERGRAPH_FEED_POLL_S": "0.1"}
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _ready(process: subprocess.Popen[bytes], address: str) -> bool:
    if process.poll() is not None:
        return True  # (ended: said below)
    try:
        return httpx.get(f"{address}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _waits_for_a_lock(pid: int) -> bool:
    """Whether process ``pid`` waits for a file lock another holds (``/proc/locks``)."""
    return any(
        "->" in line and line.split()[-4] == str(pid)
        for line in Path("/proc/locks").read_text().splitlines()
    )


@pytest.mark.skipif(not Path("/proc/locks").exists(), reason="reads /proc/locks")
def test_two_starts_over_an_empty_demo_cache_write_it_once_and_both_serve(
    tmp_path: Path,
) -> None:
    # Given an empty demo cache and a new store, and a first start held while it writes the
    # demo set (stopped: the second start comes in the middle of it, whatever the machine)
    cache, store = tmp_path / "cache", tmp_path / "s.db"
    with _serve(store, cache, tmp_path / "a.log") as (first, a):
        writing = until(lambda: any(cache.rglob(".*.part")) or first.poll() is not None, 120)
        assert writing and first.poll() is None, (tmp_path / "a.log").read_text()
        first.send_signal(signal.SIGSTOP)
        try:
            # When a second start comes then: it waits for the first's demo set, or (as
            # before) writes its own
            with _serve(store, cache, tmp_path / "b.log") as (second, b):
                until(lambda: _waits_for_a_lock(second.pid) or _ready(second, b), 300)
                first.send_signal(signal.SIGCONT)
                until(lambda: _ready(first, a) and _ready(second, b), 300)
                ended = [p.poll() for p in (first, second)]
        finally:
            first.send_signal(signal.SIGCONT)
        said = {name: (tmp_path / f"{name}.log").read_text() for name in ("a", "b")}
    # Then both serve, neither with a traceback
    assert ended == [None, None], said
    assert not [name for name, text in said.items() if "Traceback" in text], said
    # and the cache holds one whole demo set, nothing half-written beside it
    (folder,) = cache.iterdir()
    assert sorted(p.name for p in folder.iterdir()) == [
        "call_center.jsonl", "crm.jsonl", "transactions.jsonl", "truth.jsonl", "web_analytics.jsonl"
    ]  # fmt: skip

"""``membergraph serve --workers N`` ends with its process: a SIGKILL of it leaves no worker
serving the port (an adversarial pass found both workers orphaned, still answering)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.support.http import free_port
from tests.support.serve import until

WAIT = 30.0


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in found.read_text().split()] if found.exists() else []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _answers(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def _bindable(port: int) -> bool:
    """A new ``serve`` could listen there (bound as uvicorn binds: SO_REUSEADDR)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_a_killed_serve_takes_its_workers_with_it(data_dir: Path, tmp_path: Path) -> None:
    port = free_port()
    command = [sys.executable, "-m", "membergraph.cli", "serve", "--no-open", "--workers", "2"]
    command += ["--port", str(port), "--data", str(data_dir)]
    command += ["--store", f"sqlite:///{tmp_path / 'id.db'}"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        # Given it serves through two workers
        assert until(lambda: _answers(port), 300), "serve --workers 2 did not start"
        workers = [w for w in _children(process.pid) if _alive(w)]
        assert workers
        # When the serve process is killed outright
        process.send_signal(signal.SIGKILL)
        process.wait(WAIT)
        # Then its workers end, and the port answers no more
        deadline = time.monotonic() + WAIT
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [w for w in workers if _alive(w)] == []
        assert not _answers(port)
        assert until(lambda: _bindable(port), WAIT), "the port is still taken"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for pid in workers:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def _graphql_seconds_count(text: str) -> float:
    """The count of answered POST /graphql requests in a Prometheus scrape."""
    wanted = 'membergraph_http_request_seconds_count{method="POST",route="/graphql",status="200"}'
    found = [line.split()[-1] for line in text.splitlines() if line.startswith(wanted)]
    return float(found[0]) if found else 0.0


def test_the_workers_metrics_are_one_sum_whichever_worker_is_scraped(
    data_dir: Path, tmp_path: Path
) -> None:
    port, metrics_port = free_port(), free_port()
    command = [sys.executable, "-m", "membergraph.cli", "serve", "--no-open", "--workers", "2"]
    command += ["--port", str(port), "--data", str(data_dir)]
    command += ["--store", f"sqlite:///{tmp_path / 'id.db'}"]
    env = {**os.environ, "MEMBERGRAPH_METRICS_PORT": str(metrics_port)}
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        assert until(lambda: _answers(port), 300), "serve --workers 2 did not start"
        # Given queries answered by both workers (each on a new connection, a few at once)
        query = {"query": "{ members(first: 1) { totalCount } }"}
        url = f"http://127.0.0.1:{port}/graphql"
        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(lambda _: httpx.post(url, json=query, timeout=60), range(40)))
        assert {a.status_code for a in answers} == {200}
        # When /metrics is scraped again and again, through whichever worker answers, and on
        # the metrics port (which one worker serves)
        scrapes = [httpx.get(f"http://127.0.0.1:{port}/metrics").text for _ in range(8)]
        scrapes.append(httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text)
        # Then every scrape counts all 40: counters never jump back between scrapes
        assert [_graphql_seconds_count(s) for s in scrapes] == [40.0] * 9
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=WAIT)
    # and no worker complained that it could not serve the metrics port
    assert "not served" not in errors, errors

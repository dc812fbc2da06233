"""``membergraph serve`` says it is ready once it answers: after its start's work (pushes and
erasures a killed process left are finished after the gateway is built) and once its socket
listens. The banner came before both: a client acting on it was refused."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from pathlib import Path

import httpx

from membergraph.demo import write_demo_data
from tests.support.http import free_port
from tests.support.serve import serve_process


def test_serve_says_ready_only_once_it_answers(tmp_path: Path) -> None:
    # Given a folder served for the first time
    data = tmp_path / "data"
    write_demo_data(data, 30)
    port = free_port()
    with serve_process(data, tmp_path / "s.db", port, {}) as process:
        assert process.stderr is not None
        said = []
        # When its banner says the URL (read as soon as it is written)
        for line in process.stderr:
            said.append(line)
            if "GraphiQL: " in line:
                break
        assert "ready in" in "".join(said), said
        # and the process is held there, before it does anything more
        os.kill(process.pid, signal.SIGSTOP)
        try:
            # Then it listens already
            with contextlib.closing(socket.socket()) as probe:
                probe.settimeout(5)
                listening = probe.connect_ex(("127.0.0.1", port)) == 0
        finally:
            os.kill(process.pid, signal.SIGCONT)
        assert listening, "the banner came before the server listened"
        # and its first answer says ready (the start's work done)
        ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=30)
        assert ready.status_code == 200 and ready.json()["status"] == "ready", ready.text

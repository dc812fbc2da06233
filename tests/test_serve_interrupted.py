"""Ctrl-C while ``membergraph serve`` starts: it stops there, as ``membergraph load`` does
(an adversarial pass found it loading a large folder to its end, announcing the GraphiQL
URL, and only then stopping, exit 0); and while the command itself is still importing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from membergraph.demo import write_demo_data
from tests.support.http import free_port
from tests.support.serve import until


@pytest.mark.parametrize(
    ("sig", "code"),
    [pytest.param(signal.SIGINT, 130, id="ctrl-c"), pytest.param(signal.SIGTERM, 143, id="term")],
)
def test_a_signal_during_the_first_load_stops_serve_at_once(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    # Given a folder whose first load takes a while, being loaded by `serve`
    data = tmp_path / "data"
    write_demo_data(data, 3000)
    store = tmp_path / "s.db"
    command = [sys.executable, "-m", "membergraph.cli", "serve", "--no-open"]
    command += ["--port", str(free_port()), "--data", str(data), "--store", f"sqlite:///{store}"]
    process = subprocess.Popen(
        command, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        loading = until(lambda: Path(f"{store}-wal").exists() or process.poll() is not None, 60)
        assert loading and process.poll() is None, "the load did not start"
        # When the signal comes in the middle of it
        process.send_signal(sig)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    # Then it stops there, says so, and never announced itself as up
    assert process.returncode == code, out
    assert "stopped while starting" in out
    assert "GraphiQL" not in out and "Traceback" not in out, out


# The user's Ctrl-C, landing while the CLI imports Strawberry (a second or more on a loaded
# machine), then the command the console script runs.
CTRL_C_WHILE_IMPORTING = """
import os, signal, sys
class CtrlC:
    def find_spec(self, name, path=None, target=None):
        if name == "strawberry":
            os.kill(os.getpid(), signal.SIGINT)
sys.meta_path.insert(0, CtrlC())
sys.argv = ["membergraph", "--help"]
from {module} import {function}
sys.exit({function}())
"""


def test_ctrl_c_while_the_command_is_importing_says_one_line_and_exits_130() -> None:
    # Given the console script pyproject.toml installs as `membergraph`
    scripts = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    module, function = scripts["project"]["scripts"]["membergraph"].split(":")
    # When Ctrl-C comes while it is still importing the CLI
    done = subprocess.run(
        [sys.executable, "-c", CTRL_C_WHILE_IMPORTING.format(module=module, function=function)],
        capture_output=True,
        text=True,
        timeout=120,
        # (a shell's background job ignores SIGINT, and Python would keep it ignored)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    # Then it stops as Ctrl-C stops any command: exit 130, one line, no traceback
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr, done.stderr
    assert done.stderr.splitlines() == [
        "membergraph: interrupted before it started; nothing was done"
    ]


def test_ctrl_c_during_a_load_says_how_to_finish_it_and_the_next_load_does(
    tmp_path: Path,
) -> None:
    # Given `membergraph load` of a folder whose load takes a while, under way
    data = tmp_path / "data"
    write_demo_data(data, 3000)
    store = tmp_path / "s.db"
    command = [sys.executable, "-m", "membergraph.cli", "load", "--data", str(data)]
    command += ["--to", f"sqlite:///{store}"]
    process = subprocess.Popen(
        command,
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        loading = until(lambda: Path(f"{store}-wal").exists() or process.poll() is not None, 60)
        assert loading and process.poll() is None, "the load did not start"
        # When Ctrl-C comes in the middle of it
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    # Then it exits 130 saying how to finish, without a traceback
    assert process.returncode == 130, out
    assert "interrupted: run the same load again to finish it" in out
    assert "Traceback" not in out, out
    # and the same load again finishes it
    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and " members (" in again.stderr, again.stderr

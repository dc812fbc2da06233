"""A SIGKILL of ``membergraph resolve`` takes its workers with it and leaves no answer file.

Each test starts ``membergraph resolve`` on a demo data set big enough to still be running
at the moment chosen, kills it there with SIGKILL and waits (up to a generous bound) for
every process it had started to end. Linux only: the processes are read from ``/proc``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from membergraph.cli import app

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")

PEOPLE = 20_000  # about 90 MB of lines: seconds of work on two cores
WAIT = 15.0  # seconds; the processes end within one here, the bound is for slow machines


@pytest.fixture(scope="module")
def big_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("big")
    result = CliRunner().invoke(app, ["demo-data", "--out", str(folder), "--members", str(PEOPLE)])
    assert result.exit_code == 0, result.output
    return folder


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/PID/stat`` after the command name (state first), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text[text.rindex(")") + 2 :].split()


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) and fields[1] == str(pid):
            found.append(int(entry.name))
    return found


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        children = _children(todo.pop())
        found += children
        todo += children
    return found


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")  # a zombie has ended


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _open_files(pid: int) -> list[tuple[str, int]]:
    """The files a process has open: (path, position)."""
    found = []
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except (FileNotFoundError, ProcessLookupError):
        return []
    for fd in fds:
        try:
            target = os.readlink(fd)
            info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        found.append((target, int(info.split("pos:")[1].split()[0])))
    return found


def workers_read(pid: int, data: Path, answers: Path) -> bool:
    """A process the batch started is reading a source file."""
    return any(
        path.startswith(f"{data}/") for child in _children(pid) for path, _ in _open_files(child)
    )


def answers_written(pid: int, data: Path, answers: Path) -> bool:
    """The batch has written bytes into a file of the answers' folder."""
    return any(path.startswith(f"{answers}/") and at > 0 for path, at in _open_files(pid))


@pytest.mark.parametrize(
    "moment",
    [
        pytest.param(workers_read, id="while-workers-read"),
        pytest.param(answers_written, id="while-answers-are-written"),
    ],
)
def test_a_killed_resolve_leaves_no_worker_and_no_file(
    big_source: Path, tmp_path: Path, moment: Callable[[int, Path, Path], bool]
) -> None:
    # given a resolve running into an empty folder of its own
    answers = tmp_path / "answers"
    answers.mkdir()
    out, store = answers / "members.jsonl", f"sqlite:///{tmp_path / 'r.db'}"
    command = [sys.executable, "-m", "membergraph.cli", "resolve", "--data", str(big_source)]
    process = subprocess.Popen(
        [*command, "--out", str(out), "--store", store, "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        while not moment(process.pid, big_source, answers):
            if process.poll() is not None:
                assert process.stderr is not None
                said = process.stderr.read().decode()
                pytest.fail(f"resolve ended first (make the data set bigger?): {said}")
            time.sleep(0.002)
        started = _descendants(process.pid)
        # when it is killed there
        process.send_signal(signal.SIGKILL)
        process.wait(WAIT)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        assert process.stderr is not None
        process.stderr.close()
    # then every process it started ends, and the answers' folder stays empty
    deadline = time.monotonic() + WAIT
    while any(map(_alive, started)) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [_command(pid) for pid in started if _alive(pid)]
    for pid in started:  # a failing run leaves no process behind either
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    assert started, "the moment chosen has processes"
    assert survivors == []
    assert list(answers.iterdir()) == []

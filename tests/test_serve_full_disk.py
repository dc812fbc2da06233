"""``membergraph serve`` (re)started while its store's disk is full.

The disk is full under a file size limit (``ulimit -f``), set in the child process only: a
write past it fails as on a full disk (CPython ignores the ``SIGXFSZ`` it raises), and
SQLite cannot make the ``-shm`` file a store closed cleanly no longer has.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

import membergraph
from membergraph.demo import write_demo_data
from tests.support.http import free_port

pytestmark = [pytest.mark.sqlite, pytest.mark.skipif(os.name != "posix", reason="ulimit -f")]

_ENV = {**os.environ, "PYTHONPATH": str(Path(membergraph.__file__).parents[1])}


def _limited(size: int) -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def _loaded(tmp_path: Path) -> Path:
    data, store = tmp_path / "data", tmp_path / "store.db"
    write_demo_data(data, 20)
    command = [sys.executable, "-m", "membergraph.cli", "load", "--data", str(data)]
    loaded = subprocess.run(
        [*command, "--to", f"sqlite:///{store}"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=_ENV,
        cwd=tmp_path,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert not Path(f"{store}-shm").exists()  # (closed cleanly: SQLite removed it)
    return store


def test_a_store_that_cannot_even_be_opened_stops_serve_in_one_line_naming_why(
    tmp_path: Path,
) -> None:
    # Given a store closed cleanly, on a disk with no room for its -shm file (32 KiB)
    store = _loaded(tmp_path)
    command = [sys.executable, "-m", "membergraph.cli", "serve", "--no-open"]
    command += ["--port", str(free_port()), "--store", f"sqlite:///{store}"]
    # When the gateway is started over it
    ran = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env=_ENV,
        cwd=tmp_path,
        preexec_fn=lambda: _limited(16 * 1024),
    )
    # Then it stops at once (exit 1), saying which store, why, and what to do; no trace
    said = ran.stdout + ran.stderr
    assert ran.returncode == 1, said
    assert f"SQLite store {store} cannot be opened" in said
    assert "file size limit (ulimit -f) of 16384 bytes is reached" in said
    assert "could not make its -shm file" in said
    assert "Traceback" not in said

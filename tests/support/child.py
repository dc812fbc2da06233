"""A Python child process running a test's script against this tree's package: the full
disk's tests fill a store under a limit (``RLIMIT_FSIZE``) that must not bind the test
runner itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import membergraph

__all__ = ["CHILD_ENV", "run_child"]

CHILD_ENV = {**os.environ, "PYTHONPATH": str(Path(membergraph.__file__).parents[1])}
"""The environment a child runs in: the package tested is this one, not one found beside
the child's working folder."""


def run_child(script: str, cwd: Path, *args: str, timeout: float = 600) -> Any:
    """Run ``script`` with ``args`` in ``cwd``; what its last line of output says, as JSON
    (the child must end with ``print(json.dumps(...))``); its exit status must be 0."""
    ran = subprocess.run(
        [sys.executable, "-c", script, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        env=CHILD_ENV,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    return json.loads(ran.stdout.strip().splitlines()[-1])

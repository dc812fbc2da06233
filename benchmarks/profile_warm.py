"""``profile_query.py --warm``'s parts: the second level's settings, its answers emptied,
and ``membergraph warm`` run once over the served store."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson


def warm_env(query: str, tmp: Path) -> dict[str, str]:
    """The settings of the second level, ``query`` in a persisted query manifest."""
    from membergraph.persisted import sha256

    manifest = tmp / "manifest.json"
    operation = {"id": sha256(query), "name": "Profile", "type": "query", "body": query}
    manifest.write_bytes(
        orjson.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [operation]}
        )
    )
    return {
        "MEMBERGRAPH_RESPONSE_CACHE_STORED_ENTRIES": "1000000",
        "MEMBERGRAPH_PERSISTED_QUERIES": str(manifest),
    }


def empty_answers(store: str) -> None:
    """No answer kept in the store (a ``distinct`` run is cold)."""
    with contextlib.closing(sqlite3.connect(store.removeprefix("sqlite:///"), timeout=30)) as db:
        for table in ("answer_members", "answers"):
            with contextlib.suppress(sqlite3.OperationalError):  # a store made before them
                db.execute(f"DELETE FROM {table}")
        db.commit()


def kept_answers(store: str) -> int:
    """Answers the store keeps."""
    with contextlib.closing(sqlite3.connect(store.removeprefix("sqlite:///"), timeout=30)) as db:
        return int(db.execute("SELECT count(*) FROM answers").fetchone()[0])


def run_warm(data: Path, env: dict[str, str], jobs: int) -> str:
    """``membergraph warm --jobs N`` over the served store: its wall seconds and CPU (its
    own processes', reaped), and the answers it kept."""
    began, cpu = time.monotonic(), os.times()
    command = [sys.executable, "-m", "membergraph.cli", "warm", "--data", str(data)]
    command += ["--query", "Profile", "--as", "personalization", "--jobs", str(jobs)]
    subprocess.run(command, env=env, check=True, stderr=subprocess.DEVNULL)
    after = os.times()
    used = after.children_user + after.children_system - cpu.children_user - cpu.children_system
    kept = kept_answers(env["MEMBERGRAPH_STORE"])
    return (
        f"warm ({jobs} jobs, once for every worker count): {time.monotonic() - began:.1f} s,"
        f" {used:.1f} s CPU, {kept} answers kept"
    )

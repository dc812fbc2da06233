"""Does the members export keep its memory flat whatever the number of members?

    python benchmarks/export.py                       # 1,000, 10,000 and 100,000 members
    python benchmarks/export.py --members 1000,100000
    python benchmarks/export.py --demo --cache /tmp/export-demo   # demo people, source lines

For each size a fresh embedded store is filled with that many members' metrics rows
(synthetic figures written through the metrics port, each member with an e-mail and a phone
identifier, then scored by the store), and ``GET /export/members.csv`` is streamed over HTTP
from ``membergraph serve`` on that store (one uvicorn worker, no filter, a key with
``analytics:read``). Printed per size: rows and bytes received, seconds, and the server's
resident memory (``VmRSS`` from ``/proc``) before the export and its peak during it, polled
every 20 ms, and the server's CPU seconds during the export.

``--demo``: the realistic case instead. ``--members`` counts demo people
(``membergraph demo-data``), loaded with their source lines into the store
(``membergraph load``) and served over that folder, so each exported member's contacts are
read from its lines. ``--cache DIR`` keeps the folders and loaded stores between runs (a
100,000-person load takes many minutes); each run exports from a copy of the loaded store.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
from mixed_load import machine
from profile_query import free_port
from soak import rss_mb

from membergraph.connectors.sqlite import SqliteLines, folder_fingerprint
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordData
from membergraph.identity.store.metrics_port import Scoring
from membergraph.identity.store.port import Change
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.insights.metrics import MemberMetrics
from membergraph.insights.window import reference_of
from membergraph.measuring import row_of

KEY = "export-benchmark-key-0001"
REF = reference_of(date(2026, 11, 1))  # the server's reference: no row is outdated


def _member(n: int) -> MemberMetrics:
    return MemberMetrics(
        member_id=f"m_{n:08}",
        reference=REF,
        last_purchase_at=REF - timedelta(days=n % 700),
        first_purchase_at=REF - timedelta(days=700 + n % 300),
        frequency=n % 7,
        monetary_cents=(n % 7) * 1234,
        engagement=n % 4,
        last_engaged_at=REF - timedelta(days=n % 80),
        last_activity_at=REF - timedelta(days=n % 300),
        lifetime_spend_cents=(n * 7919) % 900_000,
        points_earned=n % 1000,
        points_redeemed=n % 300,
        tier="BRONZE",
        sources=frozenset({"crm"}),
    )


async def fill(path: Path, members: int, data: Path) -> None:
    """The store, and its source table marked as holding ``data`` (empty): the gateway
    starts over it without loading or resolving anything."""
    lines = SqliteLines(path, durable=False)
    await lines.open()
    await lines.set_meta("folder", folder_fingerprint(data))
    await lines.set_meta("rules", "")
    await lines.aclose()
    async with SqliteStore(path, durable=False) as store:
        for start in range(0, members, 5000):
            ids = range(start, min(members, start + 5000))
            records = [
                RecordData(
                    source="crm",
                    key=f"C{n}",
                    role="profile",
                    identifiers={
                        Identifier(IdentifierKind.CRM_ID, f"C{n}", f"C{n}", "crm"),
                        Identifier(IdentifierKind.EMAIL, f"p{n}@mail.com", f"p{n}@mail.com", "crm"),
                        Identifier(IdentifierKind.PHONE, f"+1415{n:07}", f"+1415{n:07}", "crm"),
                    },
                )
                for n in ids
            ]
            await store.apply(
                Change(
                    records=records,
                    assignments={("crm", f"C{n}"): f"m_{n:08}" for n in ids},
                    new_members=[f"m_{n:08}" for n in ids],
                )
            )
            await store.metrics().put([row_of(_member(n)) for n in ids], (), 1)
        metrics = store.metrics()
        await metrics.set_position(await store.feed_head())
        await metrics.score(Scoring())


def synthetic(members: int, folder: Path) -> tuple[Path, Path]:
    """A store of ``members`` synthetic members' rows, served over an empty folder."""
    store = folder / f"export-{members}.db"
    data = folder / "empty"
    data.mkdir(exist_ok=True)
    asyncio.run(fill(store, members, data))
    return store, data


def cli(*args: str, cwd: Path) -> None:
    # From the folder itself: ``python -m`` puts the working directory first on sys.path.
    subprocess.run([sys.executable, "-m", "membergraph.cli", *args], cwd=cwd, check=True)


def demo(people: int, folder: Path, cache: Path) -> tuple[Path, Path]:
    """A copy of a store loaded with ``people`` demo people's source lines, and its folder."""
    data, loaded = cache / f"demo-{people}", cache / f"demo-{people}.db"
    if not (data / "crm.jsonl").exists():
        cli("demo-data", "--out", str(data), "--members", str(people), cwd=cache)
    if not loaded.exists():
        cli("load", "--data", str(data), "--to", f"sqlite:///{loaded}.part", cwd=cache)
        for suffix in ("-wal", "-shm"):
            Path(f"{loaded}.part{suffix}").unlink(missing_ok=True)
        Path(f"{loaded}.part").rename(loaded)
    store = folder / f"demo-{people}.db"
    shutil.copyfile(loaded, store)
    return store, data


def cpu_seconds(pid: int) -> float:
    """User and system CPU seconds of ``pid`` so far (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(store: Path, data: Path, members: int) -> str:
    port = free_port()
    env = {
        **os.environ,
        "MEMBERGRAPH_API_KEYS": f'{{"{KEY}": {{"name": "bench", "scopes": ["analytics:read"]}}}}',
        "MEMBERGRAPH_REFERENCE_DATE": "2026-11-01",
    }
    command = [sys.executable, "-m", "membergraph.cli", "serve", "--data", str(data)]
    command += ["--store", f"sqlite:///{store}", "--host", "127.0.0.1", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--no-open"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(base + "/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("serve did not become ready")
            time.sleep(0.05)
        before = rss_mb(server.pid)
        peak = [before]
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                peak[0] = max(peak[0], rss_mb(server.pid))
                time.sleep(0.02)

        watcher = threading.Thread(target=poll)
        watcher.start()
        started, cpu = time.perf_counter(), cpu_seconds(server.pid)
        rows = size = 0
        headers = {"authorization": f"Bearer {KEY}"}
        with httpx.stream("GET", base + "/export/members.csv", headers=headers, timeout=600) as r:
            r.raise_for_status()
            for chunk in r.iter_bytes():
                size += len(chunk)
                rows += chunk.count(b"\n")  # the header and the trailer too
        seconds, cpu = time.perf_counter() - started, cpu_seconds(server.pid) - cpu
        done.set()
        watcher.join()
        return (
            f"| {members:,} | {rows - 2:,} | {size / 1e6:.1f} | {seconds:.1f} | {cpu:.1f} |"
            f" {before:.0f} | {peak[0]:.0f} |"
        )
    finally:
        server.terminate()
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", default="1000,10000,100000")
    parser.add_argument("--demo", action="store_true", help="demo people with source lines")
    parser.add_argument("--cache", type=Path, help="--demo: keep folders and loaded stores")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    first = "people" if args.demo else "members"
    print(f"| {first} | rows | MB sent | seconds | CPU s | RSS before MB | RSS peak MB |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or Path(tmp)
        cache.mkdir(parents=True, exist_ok=True)
        for members in (int(n) for n in args.members.split(",")):
            folder = Path(tmp) / str(members)
            folder.mkdir()
            made = demo(members, folder, cache) if args.demo else synthetic(members, folder)
            print(measure(*made, members), flush=True)
            shutil.rmtree(folder)


if __name__ == "__main__":
    main()

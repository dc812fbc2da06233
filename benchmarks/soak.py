"""Does the gateway's memory level off under a steady load? A bounded soak, loopback only.

    python benchmarks/soak.py [--minutes 30] [--members 2000] [--clients 8]

Starts ``membergraph serve`` on 127.0.0.1 over a temporary SQLite store and generated demo
data (as ``benchmarks/mixed_load.py`` does), then runs ``--clients`` clients for
``--minutes``: 80 % profile reads by e-mail, 20 % ``POST /ingest`` of 5 lines. The ingested
lines add no identity record (new purchases of the data set's cards and online customers,
CRM contacts sent again with a new phone), so a store that grows does not pass for a leak;
``--ingest-sources`` can add ``web_analytics`` (a new visitor per line). Every ``--sample``
seconds it reads the server's resident memory (``VmRSS`` of the server and its children, from
``/proc``), then prints the curve, the growth per minute in each third of the run, and whether
it levels off: the last third grows less than ``--flat`` MB a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import tempfile
import time
from pathlib import Path

from mixed_load import Tally, Workload, demo_data, machine, report, run_clients, served


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` and its descendants, in MB (0 once it has ended)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):  # a kernel without it
            todo += map(int, Path(f"/proc/{current}/task/{current}/children").read_text().split())
    return total / 1024


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares growth of (minutes, MB) points, in MB a minute."""
    if len(points) < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / len(points)
    mean_m = sum(m for _, m in points) / len(points)
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    return sum((t - mean_t) * (m - mean_m) for t, m in points) / spread if spread else 0.0


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30, help="how long (bounded)")
    parser.add_argument("--members", type=int, default=2000, help="demo people")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--sample", type=float, default=10, help="seconds between samples")
    parser.add_argument("--flat", type=float, default=0.5, help="MB a minute: levelled off")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ingest-sources", default="transactions,crm")
    args = parser.parse_args()
    if not 0 < args.minutes <= 24 * 60:
        parser.error("--minutes: more than 0, at most a day")
    sources = args.ingest_sources.split(",")
    with tempfile.TemporaryDirectory() as tmp:
        demo = demo_data(Path(tmp) / "data", args.members, args.seed)
        async with served(demo, Path(tmp)) as (base, pid):
            tally = Tally()
            workload = Workload(demo, base, tally, args.clients)
            print(
                f"machine: {machine()}; {args.members} people, {args.clients} clients, "
                f"{args.minutes:g} min, 80 % reads / 20 % ingests ({', '.join(sources)}), "
                f"RSS every {args.sample:g} s, 1 uvicorn worker, clients in this process"
            )
            curve: list[tuple[float, float, int]] = []  # (minutes, MB, requests so far)
            began = time.monotonic()

            async def sample() -> None:
                while True:
                    minutes = (time.monotonic() - began) / 60
                    curve.append((minutes, rss_mb(pid), tally.requests()))
                    print(f"{minutes:6.2f} min {curve[-1][1]:8.1f} MB {curve[-1][2]:>8} requests")
                    await asyncio.sleep(args.sample)

            sampler = asyncio.create_task(sample())
            weights = {"read": 0.8, "ingest": 0.2}
            elapsed = await run_clients(
                workload, args.clients, args.minutes * 60, weights, args.seed, sources
            )
            sampler.cancel()
            curve.append(((time.monotonic() - began) / 60, rss_mb(pid), tally.requests()))
    report(tally, elapsed)
    thirds = [curve[i * len(curve) // 3 : (i + 1) * len(curve) // 3 + 1] for i in range(3)]
    growth = [slope([(t, m) for t, m, _ in third]) for third in thirds]
    print(
        f"RSS {curve[0][1]:.1f} -> {curve[-1][1]:.1f} MB (max {max(m for _, m, _ in curve):.1f});"
        " growth per third: " + " / ".join(f"{g:+.2f}" for g in growth) + " MB/min"
    )
    flat = growth[-1] < args.flat
    print(f"levels off: {'yes' if flat else 'no'} (last third {growth[-1]:+.2f} MB/min)")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

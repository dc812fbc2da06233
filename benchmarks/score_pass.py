"""What the SQLite store's scoring pass costs as the population grows.

    python benchmarks/score_pass.py [--members 2000 20000 100000] [--changes 20]

For each size: a fresh store filled with that many members' metrics rows (random figures,
many ties, through the metrics port), scored once (the first pass: every row); then
``--changes`` times one member measured again (``put``, as the metrics keeper does after an
ingest) and the store scored again, as ``MetricsKeeper.catch_up`` asks after every change
the feed brings. Prints the first pass and the median and worst pass after one change, in
wall-clock and CPU milliseconds (the pass runs in the store's thread, holding its write lock:
an ingest waits for it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from membergraph.identity.store.metrics_port import Scoring  # noqa: E402
from membergraph.identity.store.sqlite import SqliteStore  # noqa: E402
from membergraph.insights.metrics import MemberMetrics  # noqa: E402
from membergraph.measuring import row_of  # noqa: E402

REF = datetime(2026, 11, 21, tzinfo=UTC)


def _moment(rng: random.Random, most: int) -> datetime | None:
    return None if rng.random() < 0.3 else REF - timedelta(days=rng.randrange(most))


def measured(member_id: str, rng: random.Random) -> MemberMetrics:
    last = _moment(rng, 800)
    frequency = 0 if last is None else rng.randrange(1, 12)
    return MemberMetrics(
        member_id=member_id,
        reference=REF,
        last_purchase_at=last,
        first_purchase_at=last,
        frequency=frequency,
        monetary_cents=frequency * rng.choice([500, 1000, 2500]),
        prior_frequency=rng.randrange(0, 5),
        prior_monetary_cents=rng.choice([0, 700, 5000]),
        engagement=rng.randrange(0, 6),
        last_engaged_at=_moment(rng, 90),
        last_activity_at=_moment(rng, 400),
        lifetime_spend_cents=rng.choice([0, 1000, 60_000]),
        tier="BRONZE",
        sources=frozenset({"crm"}),
    )


async def run(members: int, changes: int, folder: Path) -> tuple[float, list[float], list[float]]:
    rng = random.Random(members)
    async with SqliteStore(str(folder / f"score-{members}.db")) as store:
        metrics = store.metrics()
        ids = [f"m{i:07d}" for i in range(members)]
        for start in range(0, members, 5000):
            page = [row_of(measured(m, rng)) for m in ids[start : start + 5000]]
            await metrics.put(page, (), 1)
        started = time.perf_counter()
        await metrics.score(Scoring())
        first = time.perf_counter() - started
        walls, cpus = [], []
        for cursor in range(2, changes + 2):
            await metrics.put([row_of(measured(rng.choice(ids), rng))], (), cursor)
            wall, cpu = time.perf_counter(), time.process_time()
            await metrics.score(Scoring())
            walls.append(time.perf_counter() - wall)
            cpus.append(time.process_time() - cpu)
        return first, walls, cpus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, nargs="+", default=[2000, 20000, 100000])
    parser.add_argument("--changes", type=int, default=20)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python"
        f" {platform.python_version()}, load {load:.1f}"
    )
    print(
        f"{'members':>9} {'first pass ms':>14} {'after 1 change: p50 ms':>23} {'max ms':>8} {'CPU p50 ms':>11}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for members in args.members:
            first, walls, cpus = asyncio.run(run(members, args.changes, Path(tmp)))
            print(
                f"{members:>9,} {first * 1000:>14.1f} {statistics.median(walls) * 1000:>23.1f}"
                f" {max(walls) * 1000:>8.1f} {statistics.median(cpus) * 1000:>11.1f}"
            )


if __name__ == "__main__":
    main()

"""What keeping ``/metrics``' store figures fresh costs: CPU per read of the feed's head and
per read of the store's counts, on the embedded store.

    python benchmarks/metrics_refresh.py [--people 10000] [--store PATH] [--reads 200]

Loads the demo data set (or opens ``--store``, an existing SQLite store), then reads the feed's
head and the store's counts ``--reads`` times each, as each worker of ``serve --workers N``
does every second (the counts only when the head moved). Prints process CPU per read.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from membergraph.demo import write_demo_data
from membergraph.gateway import open_gateway
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from mixed_load import machine  # noqa: E402


async def _cpu_ms(read: Callable[[], Awaitable[Any]], reads: int) -> float:
    for _ in range(5):  # warm: the pages in the OS cache, as a serving store's are
        await read()
    started = time.process_time()
    for _ in range(reads):
        await read()
    return (time.process_time() - started) / reads * 1000


async def _measure(db: Path, reads: int) -> None:
    async with SqliteStore(str(db)) as store:
        counts = await store.ping()
        head = await _cpu_ms(store.feed_head, reads)
        count = await _cpu_ms(store.ping, reads)
    print(f"machine: {machine()} (shared with other work)")
    print(", ".join(f"{n:,} {what}" for what, n in counts.items()))
    print(f"feed head: {head:.3f} ms CPU a read; counts: {count:.2f} ms CPU a read")


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=10000)
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()
    if args.store is not None:
        await _measure(args.store, args.reads)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder, db = Path(tmp) / "data", Path(tmp) / "store.db"
        write_demo_data(folder, args.people, seed=7)
        settings = Settings(data=folder, store=f"sqlite:///{db}", cache_dir=Path(tmp) / "c")
        gateway, sources, _ = await open_gateway(settings)
        await gateway.identity.store.aclose()
        await sources.aclose()
        await _measure(db, args.reads)


if __name__ == "__main__":
    asyncio.run(main())

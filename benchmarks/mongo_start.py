"""A gateway's start over MongoDB after a first ``membergraph load``: what does it cost?

    python benchmarks/mongo_start.py                     # 5,000 people
    python benchmarks/mongo_start.py --people 500 --cache /tmp/mg-demo

The demo set is generated once (kept in ``--cache``), then loaded as ``membergraph load
--data DIR --to mongodb://...`` loads it (store and sources in one database) into the
tests' MongoDB emulation (``tests/support/mongo.py``: mongomock behind PyMongo's async
interface; no ``mongod`` runs here). Then a gateway is opened over it twice, as
``serve --store URL --sources URL`` opens it (a start, then a restart), and closed again.
Printed: the load's seconds, each start's seconds and CPU seconds (this process's, all
threads: on a shared machine they move less with the minute than the seconds do), and the
members it reports. Issue 18: a start resolves nothing, the load did.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mixed_load import machine  # noqa: E402
from restart import demo_folder  # noqa: E402

from membergraph.gateway import open_gateway  # noqa: E402
from membergraph.mongo_load import load_screened  # noqa: E402
from membergraph.settings import Settings  # noqa: E402
from tests.support.mongo import EmulatedClient  # noqa: E402

URL = "mongodb://bench.example:27017/membergraph?replicaSet=rs0"


async def _start(settings: Settings, client: EmulatedClient) -> tuple[float, float, int]:
    seconds, cpu = time.perf_counter(), time.process_time()
    gateway, sources, result = await open_gateway(settings, client)
    seconds, cpu = time.perf_counter() - seconds, time.process_time() - cpu
    if gateway.scores is not None:
        await gateway.scores.aclose()
    await gateway.identity.store.aclose()
    await sources.aclose()
    return seconds, cpu, result.members


async def main(people: int, cache: Path) -> None:
    folder = demo_folder(cache, people, seed=7)
    client = EmulatedClient()
    settings = Settings(store=URL, sources=URL, cache_dir=cache)
    print(f"{people:,} people, MongoDB emulation; {machine()}; shared machine")
    seconds, cpu = time.perf_counter(), time.process_time()
    await load_screened(folder, URL, settings, URL, client)
    seconds, cpu = time.perf_counter() - seconds, time.process_time() - cpu
    print(f"load: {seconds:.1f} s, {cpu:.1f} CPU s")
    for name in ("start", "restart"):
        seconds, cpu, members = await _start(settings, client)
        print(f"{name}: {seconds:.2f} s, {cpu:.2f} CPU s, {members:,} members")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "mg-demo")
    args = parser.parse_args()
    asyncio.run(main(args.people, args.cache))

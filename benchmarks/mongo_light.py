"""MongoDB sources: reading members' lines for a bulk measuring pass, as models
(``load_many``) and as light lines (``load_light``, what the metrics keeper reads).

    python benchmarks/mongo_light.py                  # 2,000 people
    python benchmarks/mongo_light.py --people 5000 --cache /tmp/mg-demo

The demo set is generated once (kept in ``--cache``) and loaded into the tests' MongoDB
emulation (``tests/support/mongo.py``: mongomock behind PyMongo's async interface; no
``mongod`` runs here). Then every owner's lines of each source are read, 2,000 keys a call
as a rebuild reads a page, both ways, each way three times (the best is printed). Printed
per source: lines, then seconds and microseconds per line each way. The emulation's query
engine is slower than a server, so the same figures are also printed for turning the
fetched documents into lines alone ("decode"), what a real server would leave.
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

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mixed_load import machine  # noqa: E402
from restart import demo_folder  # noqa: E402

from membergraph.connectors.mongodb import MongoSource  # noqa: E402
from membergraph.connectors.sources import SOURCES  # noqa: E402
from membergraph.mongo_load import load_folder  # noqa: E402
from membergraph.source_set import mongo_sources  # noqa: E402
from tests.support.mongo import EmulatedClient  # noqa: E402

URL = "mongodb://bench.example:27017/membergraph?replicaSet=rs0"
PAGE = 2000


async def _best(run: Callable[[], Awaitable[int]]) -> tuple[int, float]:
    best, lines = float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        lines = await run()
        best = min(best, time.perf_counter() - started)
    return lines, best


async def _read(source: MongoSource, keys: list[str], light: bool) -> int:
    load = source.load_light if light else source.load_many
    lines = 0
    for start in range(0, len(keys), PAGE):
        for found in await load(keys[start : start + PAGE]):
            assert not isinstance(found, Exception), found
            lines += len(found)
    return lines


async def _decode(source: MongoSource, docs: list[dict[str, Any]], light: bool) -> int:
    return sum(1 for doc in docs if source.read_doc(doc, light) is not None)


async def main(people: int, cache: Path) -> None:
    folder = demo_folder(cache, people, seed=7)
    client = EmulatedClient()
    await load_folder(folder, URL, "US", client)
    sources = await mongo_sources(URL, "US", client)
    print(f"{people:,} people, MongoDB emulation; {machine()}; shared machine")
    print(
        "| source | lines | models s | light s | models µs/line | light µs/line | decode µs/line models / light |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in SOURCES:
        source = sources.connectors[name]
        assert isinstance(source, MongoSource)
        docs = await source.collection.find({}).to_list()
        keys = sorted({doc["_owner"] for doc in docs})
        lines, models = await _best(lambda s=source, k=keys: _read(s, k, False))
        _, light = await _best(lambda s=source, k=keys: _read(s, k, True))
        _, decode_models = await _best(lambda s=source, d=docs: _decode(s, d, False))
        _, decode_light = await _best(lambda s=source, d=docs: _decode(s, d, True))
        per = 1e6 / max(lines, 1)
        print(
            f"| {name.value} | {lines:,} | {models:.2f} | {light:.2f} | {models * per:.1f} |"
            f" {light * per:.1f} | {decode_models * per:.1f} / {decode_light * per:.1f} |"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "mg-demo")
    args = parser.parse_args()
    asyncio.run(main(args.people, args.cache))

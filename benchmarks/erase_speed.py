"""Erasure latency on the embedded store: eraseMember end to end (suppress, source table,
data folder rewritten, identity store, feed, WAL checkpoint).

    python benchmarks/erase_speed.py [--people 5000] [--erase 20]

Loads a generated demo set of ``--people`` into a fresh SQLite store (as ``serve`` does on its
first start), then erases ``--erase`` members that have a CRM contact, one after the other,
and prints the first start's time, each erasure's median and worst time, and the file sizes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson

from membergraph.demo import write_demo_data
from membergraph.gateway import open_gateway
from membergraph.identity.normalize import IdentifierKind
from membergraph.privacy.erasure import erasure_of
from membergraph.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from mixed_load import machine  # noqa: E402


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--erase", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        write_demo_data(folder, args.people, seed=7)
        contacts = [orjson.loads(line)["contact_id"] for line in (folder / "crm.jsonl").open("rb")]
        db = Path(tmp) / "store.db"
        settings = Settings(data=folder, store=f"sqlite:///{db}", cache_dir=Path(tmp) / "c")
        started = time.perf_counter()
        gateway, sources, result = await open_gateway(settings)
        first_start = time.perf_counter() - started
        size_before = db.stat().st_size
        service = await erasure_of(gateway)
        timings, rewritten = [], 0
        for contact in contacts[: args.erase]:
            found = await gateway.identity.store.find_members(IdentifierKind.CRM_ID, contact)
            if not found:
                continue
            started = time.perf_counter()
            request = await service.erase(found[0], "benchmark", "benchmark")
            timings.append(time.perf_counter() - started)
            assert request.state == "done", request
            rewritten += request.counts.get("rewritten", 0)
        await gateway.identity.store.aclose()
        await sources.aclose()
        print(f"machine: {machine()} (shared with other work)")
        print(f"people {args.people}, members {result.members}, first start {first_start:.1f} s")
        print(
            f"erasures {len(timings)}: median {statistics.median(timings) * 1000:.0f} ms, "
            f"worst {max(timings) * 1000:.0f} ms; {rewritten} rewrote the file (VACUUM: "
            "it still held one of her values)"
        )
        print(
            f"store file {size_before / 1e6:.1f} MB before, {db.stat().st_size / 1e6:.1f} MB after"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

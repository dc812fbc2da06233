"""How far a change's closure reaches on the demo data, and what reading it costs.

    python benchmarks/closure_sizes.py [--members 1000 3000] [--samples 40] [--seed 5]

For each size: the demo set loaded into a SQLite store (as ``membergraph load`` does), then
the largest connected part of the store as a walk that followed every linkable value on at
most ``hub_max_records`` records would reach (records joined by such a value, and by their
members: the closure before values many people carry were hubs to it), and the same with
web devices on more than 20 records left out (the mail-privacy proxies, a kiosk); last, the
closure (``scope_of``: the walk and the scope's state, in the store's thread) of
``--samples`` purchase records drawn at random: how many records it holds (median and
largest), how long reading it takes (median and slowest), and how many hold 1,000 records
or more. With ``--links N``: then N stewards' links of two readers of the mail proxies
(contacts logged in on an ``a-mpp-*`` device: the large part before the walk stopped at
crowded devices), random pairs (seed 3), each the whole operation, timed.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

from membergraph.demo import write_demo_data
from membergraph.gateway import open_gateway
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.rules import load_rules
from membergraph.identity.service import IdentityService
from membergraph.identity.steward_link import link_records
from membergraph.identity.steward_request import scope_of
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.settings import Settings

DEVICE_CAP = 20  # a web device on more records than this is left out of the second figure
LARGE = 1000  # records: a closure at least this large is counted as "large"


def largest_part(db: sqlite3.Connection, device_cap: int | None) -> tuple[int, int]:
    """(records in the largest part, records in all)."""
    rules = load_rules(None)
    carriers: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)
    for kind, key, source, rkey in db.execute("SELECT kind, key, source, rkey FROM identifiers"):
        carriers[(kind, key)].add((source, rkey))
    parent: dict[tuple[str, str], tuple[str, str]] = {}

    def find(x: tuple[str, str]) -> tuple[str, str]:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def join(group: list[tuple[str, str]]) -> None:
        for other in group[1:]:
            a, b = find(group[0]), find(other)
            if a != b:
                parent[a] = b

    for (kind, key), refs in carriers.items():
        if len(refs) > rules.hub_max_records or rules.is_junk(IdentifierKind(kind), key):
            continue
        if device_cap is not None and kind == "ANONYMOUS_ID" and len(refs) > device_cap:
            continue
        join(sorted(refs))
    members: dict[str, list[tuple[str, str]]] = defaultdict(list)
    records = db.execute("SELECT source, key, member_id FROM records").fetchall()
    for source, key, member in records:
        if member:
            members[member].append((source, key))
    for group in members.values():
        join(group)
    parts = Counter(find((source, key)) for source, key, _ in records)
    return parts.most_common(1)[0][1], len(records)


async def closures(path: Path, samples: int, seed: int) -> list[tuple[int, float]]:
    """(records in the closure, seconds to read it) of purchase records drawn at random."""
    with sqlite3.connect(path) as db:
        keys = [
            key
            for (key,) in db.execute(
                "SELECT key FROM records WHERE source = 'transactions' AND member_id IS NOT NULL"
                " ORDER BY key"
            )
        ]
    found = []
    async with SqliteStore(path) as store:
        service = IdentityService(store)
        for key in random.Random(seed).sample(keys, min(samples, len(keys))):
            started = time.perf_counter()
            (scope, _), _ = await scope_of(service, [("transactions", key)])
            found.append((len(scope), time.perf_counter() - started))
    return found


async def link_times(path: Path, links: int) -> list[float]:
    """Seconds each steward's link of two of the mail proxies' readers takes."""
    with sqlite3.connect(path) as db:
        logins = db.execute(
            "SELECT rkey FROM identifiers WHERE kind = 'ANONYMOUS_ID' AND key LIKE 'a-mpp-%'"
            " AND rkey LIKE '%|login:%'"
        ).fetchall()
        contacts = {k for (k,) in db.execute("SELECT key FROM records WHERE source = 'crm'")}
    readers = sorted({rkey.partition("|login:")[2] for (rkey,) in logins} & contacts)
    rng, times = random.Random(3), []
    async with SqliteStore(path) as store:
        service = IdentityService(store)
        for _ in range(links):
            a, b = rng.sample(readers, 2)
            started = time.perf_counter()
            await link_records(service, ("crm", a), ("crm", b), "one person", "bench", move=True)
            times.append(time.perf_counter() - started)
    return times


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, nargs="+", default=[1000, 3000])
    parser.add_argument("--samples", type=int, default=40)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--links", type=int, default=0)
    args = parser.parse_args()
    print(
        "| people | records | largest part, every value on <= 200 records followed |"
        " the same without devices on > 20 records | closure records, median / largest |"
        " closure read ms, median / slowest | closures of >= 1,000 records |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for people in args.members:
        with tempfile.TemporaryDirectory() as tmp:
            folder, path = Path(tmp) / "data", Path(tmp) / "store.db"
            write_demo_data(folder, people, seed=7)
            settings = Settings(data=folder, store=f"sqlite:///{path}", cache_dir=Path(tmp))
            gateway, sources, _ = await open_gateway(settings)
            await gateway.identity.store.aclose()
            await sources.aclose()
            with sqlite3.connect(path) as db:
                largest, records = largest_part(db, None)
                without, _ = largest_part(db, DEVICE_CAP)
            found = await closures(path, args.samples, args.seed)
            links = await link_times(path, args.links) if args.links else []
        sizes, times = [n for n, _ in found], [1000 * t for _, t in found]
        print(
            f"| {people:,} | {records:,} | {largest:,} | {without:,} | "
            f"{statistics.median(sizes):,.0f} / {max(sizes):,} | "
            f"{statistics.median(times):.1f} / {max(times):.1f} | "
            f"{sum(n >= LARGE for n in sizes)} of {len(sizes)} |"
        )
        if links:
            ms = [1000 * t for t in links]
            print(
                f"  {len(ms)} links of two proxies' readers: median {statistics.median(ms):,.0f} ms,"
                f" slowest {max(ms):,.0f} ms"
            )


if __name__ == "__main__":
    asyncio.run(main())

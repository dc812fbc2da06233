"""What reading a member's identity history costs on the embedded store.

    python benchmarks/history_read.py [--people 5000] [--links 200] [--rounds 3]

Loads the demo data set, then has a steward link ``--links`` pairs of members by their CRM
contacts, each pair's survivor then linked to the next pair's (so merged-away IDs redirect in
chains), and times ``member_events`` as the profile reads it (one member a call, every live
member) and as a page of members reads it (100 a call). Prints the events returned: a
member's history includes the events written under every ID merged into it.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from membergraph.demo import write_demo_data
from membergraph.gateway import open_gateway
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.steward import StewardError, link_records
from membergraph.identity.store.port import IdentityStore
from membergraph.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from mixed_load import machine  # noqa: E402


async def _best(store: IdentityStore, calls: list[list[str]], rounds: int) -> tuple[float, int]:
    """The best round's time per call (µs), and the events one round returned."""
    best, returned = float("inf"), 0
    for _ in range(rounds):
        started, returned = time.perf_counter(), 0
        for ids in calls:
            returned += sum(map(len, await store.member_events(ids)))
        best = min(best, (time.perf_counter() - started) / len(calls) * 1e6)
    return best, returned


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--links", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        write_demo_data(folder, args.people, seed=7)
        db = Path(tmp) / "store.db"
        settings = Settings(data=folder, store=f"sqlite:///{db}", cache_dir=Path(tmp) / "c")
        gateway, sources, _ = await open_gateway(settings)
        identity, store = gateway.identity, gateway.identity.store
        with sqlite3.connect(db) as raw:
            contacts = [r[0] for r in raw.execute("SELECT key FROM records WHERE source = 'crm'")]
        linked, previous = 0, None
        for a, b in zip(contacts[0::2], contacts[1::2], strict=False):
            if linked >= args.links:
                break
            try:
                await link_records(identity, ("crm", a), ("crm", b), "benchmark", "bench")
                if previous is not None:  # the chain: this pair joins the one before
                    await link_records(identity, ("crm", previous), ("crm", a), "bench", "bench")
            except StewardError:
                continue
            linked, previous = linked + 1, a
        live = sorted({m for m in (await store.all_assignments()).values()})
        found = await store.find_members(IdentifierKind.CRM_ID, contacts[0])
        singles = [[m] for m in live]
        pages = [live[i : i + 100] for i in range(0, len(live), 100)]
        one, one_events = await _best(store, singles, args.rounds)
        page, page_events = await _best(store, pages, args.rounds)
        [chain] = await store.member_events(found)
        await store.aclose()
        await sources.aclose()
        with sqlite3.connect(db) as raw:
            redirects = raw.execute("SELECT count(*) FROM redirects").fetchone()[0]
            events = raw.execute("SELECT count(*) FROM events").fetchone()[0]
    print(f"machine: {machine()} (shared with other work)")
    print(f"people {args.people}: {len(live)} members, {events} events, {redirects} redirects")
    print(f"one member a call: {one:.0f} us ({len(singles)} calls, {one_events} events)")
    print(f"100 members a call: {page:.0f} us ({len(pages)} calls, {page_events} events)")
    print(
        f"the chained member's history: {len(chain)} events from {len({e.member_id for e in chain})} IDs"
    )


if __name__ == "__main__":
    asyncio.run(main())

"""Erasure latency on the embedded store: eraseMember end to end (suppress, source table,
data folder rewritten, identity store, feed, WAL checkpoint).

    python benchmarks/erase_speed.py [--people 5000] [--erase 20] [--rules RULES.toml]

Loads a generated demo set of ``--people`` into a fresh SQLite store (as ``serve`` does on its
first start), then erases ``--erase`` members that have a CRM contact, one after the other,
and prints the first start's time, each erasure's median and worst time, the file sizes, how
many records were resolved again beside the erased, and how many members a whole resolution
of what remains would not give (0: the store is as resolving everything says).
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
from membergraph.identity.engine import resolve
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.store.port import IdentityStore
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
    parser.add_argument("--rules", type=Path, default=None, help="a match rules TOML file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "data"
        write_demo_data(folder, args.people, seed=7)
        contacts = [orjson.loads(line)["contact_id"] for line in (folder / "crm.jsonl").open("rb")]
        db = Path(tmp) / "store.db"
        settings = Settings(
            data=folder, store=f"sqlite:///{db}", cache_dir=Path(tmp) / "c", rules=args.rules
        )
        started = time.perf_counter()
        gateway, sources, result = await open_gateway(settings)
        first_start = time.perf_counter() - started
        size_before = db.stat().st_size
        service = await erasure_of(gateway)
        timings, rewritten, again, changed = [], 0, 0, 0
        for contact in contacts[: args.erase]:
            found = await gateway.identity.store.find_members(IdentifierKind.CRM_ID, contact)
            if not found:
                continue
            started = time.perf_counter()
            request = await service.erase(found[0], "benchmark", "benchmark")
            timings.append(time.perf_counter() - started)
            assert request.state == "done", request
            rewritten += request.counts.get("rewritten", 0)
            again += request.counts.get("resolved_again", 0)
            changed += request.counts.get("members_changed", 0)
        unlike = await _unlike_a_whole(gateway.identity.store, gateway.identity.rules)
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
        print(
            f"records resolved again beside them {again}, members changed {changed}; "
            f"members unlike a whole resolution of what remains: {unlike}"
        )
    return 0


async def _unlike_a_whole(store: IdentityStore, rules: Rules) -> int:
    """How many of the store's members a whole resolution of its records (with the stewards'
    links and cannot-links) does not give."""
    held: dict[str, set[RecordKey]] = {}
    for ref, member in (await store.all_assignments()).items():
        held.setdefault(member, set()).add(ref)
    state = await store.scope_state(None)
    manual = [(x.a, x.b, x.evidence) for x in state.active if x.rule == "manual"]
    whole = resolve(await store.load_records(None), rules, manual, state.cannot)
    return len({frozenset(g) for g in held.values()} - {frozenset(c) for c in whole.components})


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""Identity speed: batch resolution of a folder, then incremental ingestion one line at a time.

    python benchmarks/resolve_speed.py --members 77000     # about 1,000,000 source lines

Writes demo data (cached under /tmp by size and seed), times ``membergraph resolve`` (the
same function the command runs: read on every core, resolve, store, write the answer file)
on the embedded SQLite store phase by phase, then the same folder again into the store it
resolved (a nightly re-run: nothing changes), then ingests 300 new lines (CRM contacts, purchases,
web events and calls, each its own call) into the resolved store and reports the median and
p95 of one incremental ingest.
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
from pathlib import Path

from membergraph.connectors.models import (
    CallInteraction,
    CrmContact,
    SourceName,
    Transaction,
    WebEvent,
)
from membergraph.demo import write_demo_data
from membergraph.identity.batch import BatchResult, resolve_folder
from membergraph.identity.line_records import record_of_line
from membergraph.identity.records import RecordData
from membergraph.identity.service import IdentityService
from membergraph.identity.store.sqlite import SqliteStore


def new_lines(
    rng: random.Random, n: int, cards: list[str], contacts: list[str]
) -> list[RecordData]:
    out: list[RecordData] = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            line = CrmContact(
                contact_id=f"NEW{i}",
                first_name="Nia",
                last_name=f"Park{i}",
                emails=[f"nia{i}@example.org"],
                birth_date="1990-01-01",
                loyalty_id=rng.choice(cards) if rng.random() < 0.3 else None,
            )
            source = SourceName.CRM
        elif kind == 1:
            line = Transaction(
                transaction_id=f"TNEW{i}",
                loyalty_id=rng.choice(cards),
                channel="store",
                occurred_at="2026-11-20T10:00:00Z",
                amount_cents=1000,
            )
            source = SourceName.TRANSACTIONS
        elif kind == 2:
            line = WebEvent(
                event_id=f"ENEW{i}",
                anonymous_id=f"a-new-{i}",
                user_id=rng.choice(contacts),
                type="identify",
                occurred_at="2026-11-20T10:00:00Z",
            )
            source = SourceName.WEB_ANALYTICS
        else:
            line = CallInteraction(
                interaction_id=f"INEW{i}",
                caller_phone=None,
                account_ref={"kind": "crm_id", "value": rng.choice(contacts)},
                started_at="2026-11-20T10:00:00Z",
            )
            source = SourceName.CALL_CENTER
        record = record_of_line(source, line)
        assert record is not None
        out.append(record)
    return out


def print_phases(result: BatchResult) -> None:
    for phase, seconds in result.phases.items():
        print(f"  {phase:<24} {seconds:8.1f} s")
    print(f"  {'total':<24} {sum(result.phases.values()):8.1f} s")


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=77000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ingests", type=int, default=300)
    args = parser.parse_args()
    data = Path(tempfile.gettempdir()) / f"membergraph-bench-{args.members}-{args.seed}"
    if not (data / "truth.jsonl").exists():
        print(f"writing demo data to {data} ...", file=sys.stderr)
        write_demo_data(data, args.members, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        async with SqliteStore(Path(tmp) / "bench.db") as store:
            # Exactly what `membergraph resolve --data DIR --out FILE` runs.
            batch = await resolve_folder(data, Path(tmp) / "members.jsonl", store)
            # A nightly re-run: the same folder into the store it resolved (nothing changes).
            again = await resolve_folder(data, Path(tmp) / "again.jsonl", store)
            service = IdentityService(store)
            refs = await store.all_assignments()
            contacts = [key for (source, key) in refs if source == "crm"]
            cards = sorted(
                {key.removeprefix("loyalty:") for (_, key) in refs if key.startswith("loyalty:")}
            )
            rng = random.Random(args.seed)
            timings = []
            for record in new_lines(rng, args.ingests, cards, contacts):
                began = time.perf_counter()
                await service.ingest([record])
                timings.append((time.perf_counter() - began) * 1000)
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        )
        print(
            f"membergraph resolve: {batch.lines} lines, {batch.records} records, "
            f"{batch.members} members"
        )
        print_phases(batch)
        print(f"the same folder again, into the resolved store: {again.members} members")
        print_phases(again)
        timings.sort()
        print(
            f"incremental ingest of one line ({args.ingests} lines): median {statistics.median(timings):.2f} ms, "
            f"p95 {timings[int(len(timings) * 0.95)]:.2f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

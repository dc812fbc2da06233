"""Split latency: un-merge a member of 100 records on the embedded store.

    python benchmarks/split_speed.py [--rounds 30]

Builds one member of 100 records (two duplicate CRM contacts of one person, each with 49
visitors logged in as it), then repeatedly splits one contact and its visitors off and links
them back, timing each split (the whole mutation: closure, engine, IDs, one transaction).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from membergraph.connectors.models import CrmContact, SourceName, WebEvent
from membergraph.identity.line_records import record_of_line
from membergraph.identity.records import RecordData
from membergraph.identity.service import IdentityService
from membergraph.identity.steward import link_records, split_member
from membergraph.identity.store.sqlite import SqliteStore


def _record(source: SourceName, line: object) -> RecordData:
    record = record_of_line(source, line)  # type: ignore[arg-type]
    assert record is not None
    return record


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    records = []
    for contact in ("C1", "C2"):
        records.append(
            _record(
                SourceName.CRM,
                CrmContact(
                    contact_id=contact,
                    first_name="Ann",
                    last_name="Lee",
                    birth_date="1980-01-01",
                    emails=["ann.lee@mail.com"],
                ),
            )
        )
        for n in range(49):
            records.append(
                _record(
                    SourceName.WEB_ANALYTICS,
                    WebEvent(
                        event_id=f"{contact}-{n}",
                        anonymous_id=f"{contact}-visitor-{n}",
                        user_id=contact,
                        type="identify",
                        occurred_at="2026-11-01T00:00:00Z",
                    ),
                )
            )
    with tempfile.TemporaryDirectory() as tmp:
        async with SqliteStore(Path(tmp) / "split.db") as store:
            service = IdentityService(store)
            await service.ingest(records)
            [member] = set((await store.all_assignments()).values())
            leaving = [r.ref for r in records if r.key == "C2" or r.key.startswith("C2-")]
            splits, links = [], []
            for _ in range(args.rounds):
                began = time.perf_counter()
                await split_member(service, member, leaving, "benchmark", "bench")
                splits.append((time.perf_counter() - began) * 1000)
                began = time.perf_counter()
                await link_records(service, ("crm", "C1"), ("crm", "C2"), "benchmark", "bench")
                links.append((time.perf_counter() - began) * 1000)
                member = (await store.assignments([("crm", "C1")]))[("crm", "C1")]
    print(f"member of {len(records)} records, {args.rounds} rounds, SQLite store")
    print(
        f"split of 50 records: median {statistics.median(splits):.1f} ms, max {max(splits):.1f} ms"
    )
    print(f"link back:           median {statistics.median(links):.1f} ms, max {max(links):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

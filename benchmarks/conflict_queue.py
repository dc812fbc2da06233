"""The stewards' conflict queue and a steward's decision over years of decided conflicts.

    python benchmarks/conflict_queue.py [--decided 100000] [--runs 3]

Builds a SQLite store with two crossed calls, open (the agent typed another contact's
account than the caller's phone names): one before and one after ``--decided`` conflict
events, each dismissed by a steward (written straight into the events table, as years of
stewards' work leave them). Then, on a fresh copy of it each run, times (ms): the queue's
first page of 20 open conflicts (newest first: the two open ones are found past every
decided one) and of 20 resolved ones, the count of open ones, a steward's dismissal of the
older open conflict, and the undo of that dismissal.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, TypeVar

from membergraph.connectors.models import CallInteraction, CrmContact, SourceName
from membergraph.identity.line_records import record_of_line
from membergraph.identity.records import RecordData
from membergraph.identity.service import IdentityService
from membergraph.identity.steward_conflicts import Decision, resolve_conflict
from membergraph.identity.store.metrics_port import ConflictQuery
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.identity.undo import undo_event

sys.path.insert(0, str(Path(__file__).parent))
from mixed_load import machine  # noqa: E402

T = TypeVar("T")
AT = "2026-01-01T00:00:00+00:00"
PEOPLE = {
    1: ((("Cy", "Young"), "+14155550333"), (("Di", "Ross"), "+14155550444")),
    2: ((("Eve", "Ames"), "+14155550555"), (("Fay", "Bell"), "+14155550666")),
}
COLUMNS = "(id, member_id, kind, at, actor, rule, reason, evidence, records)"


def _crossed(n: int) -> list[RecordData]:
    """Two contacts and a call from the first one's phone, typed as the second's account."""
    (a, phone), (b, other) = PEOPLE[n]
    lines = [
        (SourceName.CRM, CrmContact(contact_id=f"C-A{n}", first_name=a[0], last_name=a[1],
                                    birth_date=f"197{n}-01-01", phones=[phone])),
        (SourceName.CRM, CrmContact(contact_id=f"C-B{n}", first_name=b[0], last_name=b[1],
                                    birth_date=f"198{n}-02-02", phones=[other])),
        (SourceName.CALL_CENTER, CallInteraction(
            interaction_id=f"I-{n}", caller_phone=phone, started_at="2026-01-01T00:00:00Z",
            account_ref={"kind": "crm_id", "value": f"C-B{n}"})),
    ]  # fmt: skip
    return [r for source, line in lines if (r := record_of_line(source, line)) is not None]


async def _build(path: Path, decided: int) -> None:
    async with SqliteStore(path) as store:
        await IdentityService(store).ingest(_crossed(1))
    with sqlite3.connect(path) as db:
        first = int(db.execute("SELECT max(id) FROM events").fetchone()[0]) + 1
        insert = f"INSERT INTO events {COLUMNS} VALUES (?,?,?,?,?,?,?,?,?)"
        db.executemany(insert, (
            (first + i, "m_x", "conflict", AT, "rules", "call_mismatch", "r", "{}", "[]")
            for i in range(decided)
        ))  # fmt: skip
        said = '{{"conflict_id":{},"conflict_kind":"call_mismatch"}}'
        db.executemany(insert, (
            (first + decided + i, "m_x", "conflict_resolved", AT, "s", "dismiss", "r",
             said.format(first + i), "[]")
            for i in range(decided)
        ))  # fmt: skip
    async with SqliteStore(path) as store:  # (opened: its indexes built)
        await IdentityService(store).ingest(_crossed(2))
    with sqlite3.connect(path) as db:  # (all in the file: the runs copy it alone)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def _run(path: Path) -> dict[str, float]:
    took: dict[str, float] = {}

    async def timed(name: str, work: Awaitable[T]) -> T:
        started = time.perf_counter()
        done = await work
        took[name] = (time.perf_counter() - started) * 1000
        return done

    async with SqliteStore(path) as store:
        service, metrics = IdentityService(store), store.metrics()
        page = await timed("open page", metrics.conflicts(ConflictQuery(state="open"), None, 20))
        await timed("resolved page", metrics.conflicts(ConflictQuery(state="resolved"), None, 20))
        await timed("open count", metrics.count_conflicts(ConflictQuery(state="open")))
        assert len(page) == 2, page
        older = min(c.id for c in page if c.id is not None)
        await timed("dismiss", resolve_conflict(service, older, Decision.DISMISS, "ok", "s1"))
        [dismissal] = await metrics.conflict_decisions([older])
        assert dismissal.id is not None
        await timed("undo", undo_event(service, dismissal.id, "too soon", "s1"))
    return took


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--decided", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp:
        built = Path(tmp) / "built.db"
        asyncio.run(_build(built, args.decided))
        for n in range(args.runs):
            run = Path(tmp) / f"run{n}.db"
            shutil.copy(built, run)
            took: dict[str, Any] = asyncio.run(_run(run))
            print(f"run {n + 1}: " + ", ".join(f"{k} {v:.1f}" for k, v in took.items()))


if __name__ == "__main__":
    main()

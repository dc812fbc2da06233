"""What an ingested line costs the write path, and what it adds to the change feed.

    python benchmarks/ingest_feed.py [--members 2000] [--lines 300] [--seed 7]

Serves a demo folder on the embedded store (the app in-process, through Starlette's test
client), then sends ``--lines`` single lines to ``POST /ingest``, one request each: a third
CRM contacts sent again with a new phone, a third new purchases on known cards, a third new
web events. Prints the CPU time of the process per line (the client's share included: the
same in every run), the feed entries the lines wrote and their size (the ``member_ids`` and
``value_tags`` columns, and ``feed_members`` rows an entry); then, counted apart on an
in-memory store, the time to make the value tags of a contact with three identifiers and to
write a one-entry transaction with and without them.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import tempfile
import time
import timeit
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.demo import write_demo_data
from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, make_identifier
from membergraph.identity.store.sqlite_schema import SCHEMA
from membergraph.identity.store.sqlite_write import write_feed
from membergraph.identity.value_tags import record_tags
from membergraph.settings import Settings


def _lines(folder: Path, count: int, seed: int) -> list[tuple[str, dict[str, Any]]]:
    def read(source: str) -> list[dict[str, Any]]:
        text = (folder / f"{source}.jsonl").read_text()
        return [json.loads(line) for line in text.splitlines()]

    crm, web = read("crm"), read("web_analytics")[:2000]
    carded = [t for t in read("transactions")[:2000] if t.get("loyalty_id")]
    rng = random.Random(seed)
    out: list[tuple[str, dict[str, Any]]] = []
    for n in range(count):
        if n % 3 == 0:
            contact = dict(rng.choice(crm))
            contact["phones"] = [*(contact.get("phones") or []), f"+1415555{n:04d}"]
            out.append(("crm", contact | {"updated_at": "2026-11-30T10:00:00Z"}))
        elif n % 3 == 1:
            out.append(("transactions", rng.choice(carded) | {"transaction_id": f"T-B-{n}"}))
        else:
            out.append(("web_analytics", rng.choice(web) | {"event_id": f"E-B-{n}"}))
    return out


def _apart() -> None:
    record = RecordData(source="crm", key="C0001242", role="profile")
    for kind, raw in (
        (IdentifierKind.EMAIL, "ann.lee@example.org"),
        (IdentifierKind.PHONE, "+14155550123"),
        (IdentifierKind.CRM_ID, "C0001242"),
    ):
        made = make_identifier(kind, raw, "crm", "US")
        if made is not None:
            record.identifiers.add(made)
    spent = timeit.timeit(lambda: record_tags([record]), number=20_000) / 20_000
    print(f"value tags of a contact with 3 identifiers: {spent * 1e6:.1f} us")
    tags = record_tags([record])
    for label, carried in (("without value tags", ()), ("with 3 value tags", tags)):
        runs = []
        for _ in range(3):
            db = sqlite3.connect(":memory:")
            db.executescript(SCHEMA)
            entries = [
                FeedEntry(ChangeKind.PROFILE_UPDATED, (f"m_{k:016d}",), value_tags=carried)
                for k in range(5000)
            ]
            began = time.process_time()
            for entry in entries:
                with db:
                    write_feed(db, [entry])
            runs.append((time.process_time() - began) / len(entries))
            db.close()
        print(f"a one-entry feed write {label}: {min(runs) * 1e6:.1f} us of CPU (best of 3)")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--lines", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        write_demo_data(folder / "data", args.members, seed=3)
        lines = _lines(folder / "data", args.lines, args.seed)
        store = folder / "id.db"
        settings = Settings(data=folder / "data", store=f"sqlite:///{store}", cache_dir=folder)
        with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
            db = sqlite3.connect(store)
            head = db.execute("SELECT coalesce(max(cursor), 0) FROM feed").fetchone()[0]
            began = time.process_time()
            for source, line in lines:
                answer = http.post(f"/ingest/{source}", json=[line])
                assert answer.status_code == 200, answer.text
            spent = time.process_time() - began
            columns = {c[1] for c in db.execute("PRAGMA table_info(feed)")}
            tags = "coalesce(length(value_tags), 0)" if "value_tags" in columns else "0"
            entries, member_bytes, tag_bytes = db.execute(
                f"SELECT count(*), total(length(member_ids)), total({tags}) FROM feed"
                " WHERE cursor > ?",
                (head,),
            ).fetchone()
            rows = db.execute(
                "SELECT count(*) FROM feed_members WHERE cursor > ?", (head,)
            ).fetchone()[0]
            db.close()
    print(
        f"{args.lines} lines ingested one at a time: {spent / args.lines * 1000:.2f} ms of CPU a line"
    )
    print(
        f"{entries} feed entries: member_ids {member_bytes / entries:.1f} B, value_tags "
        f"{tag_bytes / entries:.1f} B, {rows / entries:.2f} feed_members rows an entry"
    )
    _apart()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

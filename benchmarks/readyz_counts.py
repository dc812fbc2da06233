"""What ``/readyz``'s source counts cost, and what keeping them costs a write.

    python benchmarks/readyz_counts.py [--lines 1000000] [--writes 200000]

Fills a source table of ``--lines`` lines (a fiftieth of them no one's), then times: one probe's
read of the kept counts (and how many statements it runs), counting the table instead, the
recount a store made before the counts (or a first load) does once, and ``--writes`` upserts of
new lines with the counting triggers and without them.
"""

from __future__ import annotations

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

from membergraph.connectors import sqlite_rows as sql

SOURCES = ["crm", "transactions", "web_analytics", "call_center"]


def _rows(start: int, n: int) -> list[tuple[str, str, str, bytes]]:
    body = b"x" * 300
    return sorted(
        (SOURCES[i % 4], f"id{i:09d}", "" if i % 50 == 0 else f"owner{i % 300_000}", body)
        for i in range(start, start + n)
    )


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--writes", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        db = sqlite3.connect(Path(folder) / "store.db", isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.executescript(sql.SCHEMA)
        with db:
            db.execute("BEGIN")
            db.executemany(sql.UPSERT, _rows(0, args.lines))
        started = time.perf_counter()
        sql.keep_counts(db)
        print(f"recount of {args.lines:,} lines (once): {_ms(time.perf_counter() - started)}")
        statements = [0]
        db.set_trace_callback(lambda _: statements.__setitem__(0, statements[0] + 1))
        started = time.perf_counter()
        for _ in range(1000):
            sql.held(db, SOURCES)
        print(f"a probe's read: {_ms((time.perf_counter() - started) / 1000)},"
              f" {statements[0] // 1000} statements")  # fmt: skip
        db.set_trace_callback(None)
        started = time.perf_counter()
        db.execute("SELECT source, count(*) FROM source_lines GROUP BY source").fetchall()
        print(f"counting the table instead: {_ms(time.perf_counter() - started)}")
        for counting in (True, False):
            if not counting:
                sql.stop_counting(db)
            rows = _rows(args.lines + (0 if counting else args.writes), args.writes)
            started = time.perf_counter()
            with db:
                db.execute("BEGIN")
                db.executemany(sql.UPSERT, rows)
            per = (time.perf_counter() - started) / args.writes
            print(f"a new line written, {'with' if counting else 'without'} the counting: "
                  f"{per * 1e6:.1f} us")  # fmt: skip


if __name__ == "__main__":
    main()

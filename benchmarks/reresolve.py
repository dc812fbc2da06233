"""What ``membergraph reresolve`` costs: seconds and peak memory over the embedded store.

    python benchmarks/reresolve.py                       # 1,000 and 20,000 demo people
    python benchmarks/reresolve.py --members 1000 --cache /tmp/mg-reresolve
    python benchmarks/reresolve.py --cases re-keyed    # only the cases named so

For each size the demo data set is generated and loaded once (``membergraph load --to
sqlite:///X.db``, kept in ``--cache``, by default a temporary folder). Each case runs on a
copy of that store, as a user runs it, in its own process; the benchmark reads the process's
wall seconds and peak RSS (``ru_maxrss`` from ``wait4``):

- ``dry run``: ``reresolve --dry-run`` under rules that split members (``hub_max_people = 1``);
- ``other rules``: ``reresolve`` under those rules (what changes is written, feed entries too);
- ``nothing to do``: ``reresolve`` again under the same rules (every record read, no change);
- ``older format``: a store with no mark (from before marks), brought up under the built-in
  rules (its lines are keyed again and compared first);
- ``re-keyed``: a format-3 store whose every online customer's record (``online:<email>``)
  and lines are filed under the key an older release gave it, a zero-width space after the
  address (format 4 drops it): ``reresolve --dry-run``, then ``reresolve``, which moves the
  lines and records to the keys of this release, then ``reresolve`` again.

Also the bare interpreter and imports (``python -c "import membergraph.cli"``), which every
case includes. Prints one row per size and case.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CLI = [sys.executable, "-m", "membergraph.cli"]
STRICT = "hub_max_people = 1\n"


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB, and stdout of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    out, err = process.stdout.read(), process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{err.decode()}")
    return seconds, usage.ru_maxrss / 1024, out.decode()


def prepared(cache: Path, people: int, env: dict[str, str]) -> Path:
    data, store = cache / f"data-{people}", cache / f"store-{people}.db"
    if not store.exists():
        subprocess.run(
            [*CLI, "demo-data", "--out", str(data), "--members", str(people)], env=env, check=True
        )
        subprocess.run(
            [*CLI, "load", "--data", str(data), "--to", f"sqlite:///{store}"], env=env, check=True
        )
    return store


def copy_of(store: Path, name: str) -> Path:
    copy = store.with_name(f"{store.stem}-{name}.db")
    shutil.copy(store, copy)
    for suffix in ("-wal", "-shm"):
        Path(f"{copy}{suffix}").unlink(missing_ok=True)
    return copy


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", default="1000,20000")
    parser.add_argument("--cache", type=Path)
    parser.add_argument(
        "--cases", default="", help="only the cases whose name starts so (comma-separated)"
    )
    args = parser.parse_args()
    cache = args.cache or Path(tempfile.mkdtemp(prefix="mg-reresolve-"))
    cache.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MEMBERGRAPH_RULES", None)
    rules = cache / "strict.toml"
    rules.write_text(STRICT)
    strict = {**env, "MEMBERGRAPH_RULES": str(rules)}
    seconds, rss, _ = timed([sys.executable, "-c", "import membergraph.cli"], env)
    print(f"interpreter and imports: {seconds:.2f} s, {rss:.0f} MB")
    print("| people | records | case | s | peak RSS MB | what it said |")
    print("| ---: | ---: | --- | ---: | ---: | --- |")
    for people in (int(n) for n in args.members.split(",")):
        store = prepared(cache, people, env)
        changed = copy_of(store, "changed")
        old = copy_of(store, "old")
        with sqlite3.connect(old) as db:
            db.execute("DELETE FROM meta WHERE key IN ('format', 'rules')")
        rekeyed = copy_of(store, "rekeyed")
        with sqlite3.connect(rekeyed) as db:
            keyed_as_format_3(db)
        cases = [
            ("dry run", strict, changed, ["--dry-run"]),
            ("other rules", strict, changed, []),
            ("nothing to do", strict, changed, []),
            ("older format", env, old, []),
            ("re-keyed, dry run", env, rekeyed, ["--dry-run"]),
            ("re-keyed", env, rekeyed, []),
            ("re-keyed, again", env, rekeyed, []),
        ]
        wanted = tuple(c.strip() for c in args.cases.split(",") if c.strip())
        for name, case_env, path, flags in cases:
            if wanted and not name.startswith(wanted):
                continue
            command = [*CLI, "reresolve", "--store", f"sqlite:///{path}", *flags]
            seconds, rss, out = timed(command, case_env)
            said = out.splitlines()
            records = re.search(r"(\d+) records", said[1])
            facts = [
                line
                for line in said
                if "merge(s)" in line or "derived again" in line or "another record" in line
            ]
            summary = "; ".join(facts).replace("(s)", "s").replace(" to another member", "")
            print(
                f"| {people:,} | {int(records.group(1)) if records else 0:,} | {name} "
                f"| {seconds:.2f} | {rss:.0f} | {summary} |"
            )


def keyed_as_format_3(db: sqlite3.Connection) -> None:
    """Every online customer's record and lines under the key an older release gave them
    (the address with a zero-width space after it), the store marked format 3."""
    hidden = "\u200b"
    db.execute(
        "UPDATE source_lines SET owner = owner || ? WHERE source = 'transactions'"
        " AND owner LIKE 'online:%'",
        (hidden,),
    )
    for table, source, key in (
        ("records", "source", "key"),
        ("identifiers", "source", "rkey"),
        ("links", "a_source", "a_key"),
        ("links", "b_source", "b_key"),
        ("cannot_links", "a_source", "a_key"),
        ("cannot_links", "b_source", "b_key"),
    ):
        db.execute(
            f"UPDATE {table} SET {key} = {key} || ? WHERE {source} = 'transactions'"
            f" AND {key} LIKE 'online:%'",
            (hidden,),
        )
    db.execute("INSERT OR REPLACE INTO meta VALUES ('format', '3')")


if __name__ == "__main__":
    main()

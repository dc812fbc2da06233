"""What loading a changed folder costs: a nightly export dropped in beside a loaded store.

    python benchmarks/changed_folder.py [--members 5000] [--every 10] [--purchases 1000]

Writes the demo data set (``--members`` people), loads it into a new SQLite store with
``membergraph load`` (a first load), then changes the folder as a night does: every
``--every``-th CRM contact's e-mail consent flipped under a newer ``updated_at`` and
``--purchases`` purchases of known cards appended, and loads it again. Prints, for the second
load (a process of its own): wall seconds, user CPU seconds, the process's peak RSS, and the
change feed's entries it wrote. ``--keep DIR`` keeps the folders and the store there.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from membergraph.demo import write_demo_data


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in path.read_bytes().splitlines() if raw.strip()]


def night(folder: Path, every: int, purchases: int) -> tuple[int, int]:
    """Change ``folder`` as a nightly export does; (contacts changed, purchases added)."""
    contacts = {c["contact_id"]: c for c in _lines(folder / "crm.jsonl")}
    changed = []
    for n, contact in enumerate(sorted(contacts.values(), key=lambda c: c["contact_id"])):
        if n % every == 0:
            consents = dict(contact.get("consents") or {})
            consents["email"] = not consents.get("email", False)
            changed.append({**contact, "consents": consents, "updated_at": "2026-12-01T00:00:00Z"})
    with (folder / "crm.jsonl").open("ab") as out:
        out.writelines(orjson.dumps(c) + b"\n" for c in changed)
    rng = random.Random(3)
    sales = [s for s in _lines(folder / "transactions.jsonl") if s.get("loyalty_id")]
    with (folder / "transactions.jsonl").open("ab") as out:
        for n in range(purchases):
            sale = {**rng.choice(sales), "transaction_id": f"T-NIGHT-{n}", "status": "completed"}
            sale["occurred_at"] = "2026-12-01T10:00:00Z"
            sale.pop("updated_at", None)
            out.write(orjson.dumps(sale) + b"\n")
    return len(changed), purchases


def load(
    folder: Path, store: Path, env: dict[str, str] | None = None, quiet: bool = False
) -> tuple[float, float, float]:
    """``membergraph load`` in a process of its own (``env``: its environment, a tree's
    PYTHONPATH; ``quiet``: its report not shown): (wall s, user CPU s, peak RSS MB)."""
    command = [sys.executable, "-m", "membergraph.cli", "load", "--data", str(folder)]
    started = time.perf_counter()
    # (From the store's folder: ``python -m`` puts the working directory first on the path,
    # ahead of PYTHONPATH, which names the tree measured.)
    child = subprocess.Popen(
        [*command, "--to", f"sqlite:///{store}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if quiet else None,
        cwd=store.parent,
        env=env,
    )
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    if status != 0:
        sys.exit(f"membergraph load failed ({status})")
    return seconds, usage.ru_utime, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--every", type=int, default=10, help="flip every Nth contact's consent")
    parser.add_argument("--purchases", type=int, default=1000)
    parser.add_argument("--keep", type=Path, help="keep the folders and the store here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="mg-changed-"))
    folder, store = work / "data", work / "store.db"
    shutil.rmtree(folder, ignore_errors=True)
    for leftover in work.glob("store.db*"):
        leftover.unlink()
    write_demo_data(folder, args.members, seed=7)
    first = load(folder, store)
    contacts, bought = night(folder, args.every, args.purchases)
    with sqlite3.connect(store) as db:
        before = db.execute("SELECT count(*) FROM feed").fetchone()[0]
    second = load(folder, store)
    with sqlite3.connect(store) as db:
        after = db.execute("SELECT count(*) FROM feed").fetchone()[0]
    load_avg = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"{args.members:,} people; first load {first[0]:.1f} s ({first[1]:.1f} s CPU)")
    print(f"night: {contacts} contacts' consent flipped, {bought} purchases added")
    print("| second load, s | user CPU s | peak RSS MB | feed entries written |")
    print("| ---: | ---: | ---: | ---: |")
    print(f"| {second[0]:.2f} | {second[1]:.2f} | {second[2]:.0f} | {after - before:,} |")
    print(f"load average at the end: {load_avg}")
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

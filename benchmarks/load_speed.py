"""What ``membergraph load`` of a demo folder costs: reading the folder, and the whole load.

    python benchmarks/load_speed.py [--members 5000] [--runs 3] [--tree DIR ...]

Writes the demo data set (``--members`` people, seed 7) once, then, ``--runs`` times, for each
``--tree`` in turn (a checkout of the package: the one measured is put first on the path of
each child; default this one), in processes of their own: reading the folder as a load
reads it (``open_sources``: parsing, owners, the values left out), then the whole
``membergraph load --to sqlite:///`` into a new store. Trees are interleaved run by run, so
the machine's load falls on each alike. Prints one row per run and tree: read seconds and
CPU seconds, load wall seconds, its user CPU seconds and peak RSS; then the load average.
``--keep DIR`` keeps the folder there (written once, reused by a later run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from changed_folder import load as timed_load

from membergraph.demo import write_demo_data

_READ = """
import sys, time
from pathlib import Path
from membergraph.source_set import open_sources
started, cpu = time.perf_counter(), time.process_time()
sources = open_sources(Path(sys.argv[1]), "US")
lines = sum(c.report.lines for c in sources.connectors.values())
print(time.perf_counter() - started, time.process_time() - cpu, lines)
"""


def _child(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree)}


def read(tree: Path, folder: Path, work: Path) -> tuple[float, float, int]:
    """Reading ``folder`` with ``tree``'s package, in a process of its own: (s, CPU s,
    lines)."""
    done = subprocess.run(
        [sys.executable, "-c", _READ, str(folder)],
        env=_child(tree),
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    )
    seconds, cpu, lines = done.stdout.split()
    return float(seconds), float(cpu), int(lines)


def load(tree: Path, folder: Path, store: Path) -> tuple[float, float, float]:
    """``membergraph load`` with ``tree``'s package into a new store: (wall s, user CPU s,
    peak RSS MB)."""
    for leftover in store.parent.glob(store.name + "*"):
        leftover.unlink()
    return timed_load(folder, store, env=_child(tree), quiet=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--tree", type=Path, action="append", help="a checkout to measure")
    parser.add_argument("--keep", type=Path, help="keep the folder here")
    args = parser.parse_args()
    trees = [t.resolve() for t in args.tree or [Path(__file__).resolve().parents[1]]]
    work = Path(tempfile.mkdtemp(prefix="mg-load-"))
    folder = args.keep or work / "data"
    if not (folder / "crm.jsonl").exists():
        write_demo_data(folder, args.members, seed=7)
    print("| run | tree | lines | read s | read CPU s | load s | load user CPU s | peak RSS MB |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for run in range(1, args.runs + 1):
        for tree in trees:
            seconds, read_cpu, lines = read(tree, folder, work)
            wall, cpu, rss = load(tree, folder, work / "store.db")
            row = f"| {run} | {tree} | {lines:,} | {seconds:.2f} | {read_cpu:.2f} | {wall:.2f} |"
            print(f"{row} {cpu:.2f} | {rss:.0f} |", flush=True)
    load_avg = "/".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at the end: {load_avg}")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

"""What reading a folder's lines costs, as ``resolve`` and ``load`` read them, per tree.

    python benchmarks/line_reading.py FOLDER [--runs 2] [--load] --tree DIR [--tree DIR ...]

For each run and each ``--tree`` in turn (a checkout of the package, put first on the path of
a process of its own; trees interleaved so the machine's load falls on each alike): the CPU
seconds of ``read_piece`` over every piece of every source file in one process (what the
workers of ``membergraph resolve`` and a first load do: validation, owners, records), and
with ``--load`` of ``open_sources`` (what ``membergraph load`` and ``serve --data`` read
through ``parse_line``). Prints one row per run and tree, then the load average. Write the
folder first (``membergraph demo-data --out FOLDER --members 77000``: 1,184,916 lines).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

_CHILD = r"""
import sys, time
from pathlib import Path
from membergraph.connectors.models import SourceName
from membergraph.identity.file_pieces import PIECE_BYTES, cut, read_pieces
folder = Path(sys.argv[1])
cpu, lines = time.process_time(), 0
for source in SourceName:
    path = folder / f"{source.value}.jsonl"
    tasks = [(source, str(path), start, end, "US") for start, end in cut(path, PIECE_BYTES)]
    lines += sum(len(p.ids) + len(p.errors) for p in read_pieces(tasks, 1))
pieces = time.process_time() - cpu
load = float("nan")
if sys.argv[2] == "load":
    from membergraph.source_set import open_sources
    cpu = time.process_time()
    open_sources(folder, "US")
    load = time.process_time() - cpu
print(f"{lines} {pieces:.2f} {load:.2f}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--load", action="store_true", help="also time open_sources")
    parser.add_argument("--tree", type=Path, action="append", required=True)
    args = parser.parse_args()
    print("| run | tree | lines | read_pieces CPU s | open_sources CPU s |")
    print("| ---: | --- | ---: | ---: | ---: |")
    for run in range(1, args.runs + 1):
        for tree in args.tree:
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, str(args.folder.resolve()), "load" * args.load],
                env={**os.environ, "PYTHONPATH": str(tree.resolve())},
                capture_output=True,
                text=True,
                check=True,
            )
            lines, pieces, load = done.stdout.split()
            print(f"| {run} | {tree} | {int(lines):,} | {pieces} | {load} |", flush=True)
    print("load average", " ".join(f"{x:.1f}" for x in os.getloadavg()))


if __name__ == "__main__":
    main()

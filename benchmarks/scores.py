"""What the scores say about a generated population: the share of members per score on each
axis, the segment sizes, and each segment's members checked against its plain words.

    python benchmarks/scores.py                           # 5,000 and 20,000 people
    python benchmarks/scores.py --members 5000 --cache /tmp/mg-demo

For each size the demo data set is generated once (kept in ``--cache``), loaded into a
fresh embedded store (``open_gateway``: sources, identities, then every member measured and
ranked by the store) as of the demo's own reference day, 2026-11-01. The figures are then
read back from the store a page at a time. Printed per size:

- per axis (R, F, M, E): how many members are ranked on it, and the share of those ranked
  holding each score 1..5 (a fifth each is the definition, ties included);
- the segment sizes, and for each segment how many of its members break its plain words
  (``membergraph/insights/segment_words.py``: the words the schema shows, checked from the
  stored figures, not from the definitions; 0 expected), and how many members are in a
  segment that says they bought lately (HYPERACTIVE, LOYAL, NEW) and in one that says they
  have not (AT_RISK, ZOMBIE) at once (0 expected).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

from mixed_load import machine
from restart import demo_folder

from membergraph.gateway import open_gateway
from membergraph.identity.store.metrics_port import (
    MemberQuery,
    OrderField,
    ScoredRow,
    SegmentRules,
)
from membergraph.insights.segment_words import DESCRIPTIONS, misfits
from membergraph.settings import Settings

AXES = ("R", "F", "M", "E")
RANKED = {  # who is ranked on each axis (insights.rfm.RANKED_IF), from a stored row
    "R": lambda r: r.figures["last_purchase_at"] > 0,
    "F": lambda r: r.figures["frequency"] > 0,
    "M": lambda r: r.figures["monetary_cents"] > 0,
    "E": lambda r: r.figures["engagement"] > 0,
}


async def every_row(gateway: object) -> list[ScoredRow]:
    metrics = gateway.scores.metrics  # type: ignore[attr-defined]
    rows: list[ScoredRow] = []
    after = None
    while page := await metrics.page(MemberQuery(), OrderField.MEMBER_ID, False, after, 1000):
        rows += [r for r in await metrics.scored([m for m, _ in page]) if r is not None]
        after = (page[-1][0], page[-1][0])
    return rows


def report(people: int, rows: list[ScoredRow], rules: SegmentRules, seconds: float) -> None:
    print(
        f"\n## {people:,} people: {len(rows):,} members (load, resolve, measure: {seconds:.1f} s)"
    )
    print("\n| axis | ranked | score 1 | 2 | 3 | 4 | 5 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for i, axis in enumerate(AXES):
        ranked = [r for r in rows if RANKED[axis](r.row)]
        held = Counter(r.scores[i] for r in ranked)
        shares = [f"{100 * held[s] / len(ranked):.1f} %" if ranked else "-" for s in range(1, 6)]
        print(f"| {axis} | {len(ranked):,} | " + " | ".join(shares) + " |")
    sizes = Counter(s for r in rows for s in r.segments)
    broken = misfits(rows, rules)
    print("\n| segment | members | share | break the description |")
    print("| --- | ---: | ---: | ---: |")
    for segment in DESCRIPTIONS:
        count = sizes.get(segment, 0)
        print(f"| {segment} | {count:,} | {100 * count / len(rows):.1f} % | {broken[segment]} |")
    print(f"\nrecent and dormant at once: {broken['RECENT_AND_DORMANT']}")


async def measure(people: int, cache: Path, seed: int) -> None:
    folder = demo_folder(cache, people, seed)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data=folder,
            store=f"sqlite:///{Path(tmp) / 'scores.db'}",
            cache_dir=Path(tmp),
            reference_date=date(2026, 11, 1),
        )
        started = time.perf_counter()
        gateway, sources, _ = await open_gateway(settings)
        try:
            await gateway.scores.catch_up()  # type: ignore[union-attr]
            seconds = time.perf_counter() - started
            rules = gateway.scores.scoring.rules  # type: ignore[union-attr]
            report(people, await every_row(gateway), rules, seconds)
        finally:
            await gateway.identity.store.aclose()
            await sources.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", default="5000,20000", help="people per data set")
    parser.add_argument("--cache", type=Path, default=None, help="where demo sets are kept")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        cache = args.cache or Path(tmp)
        for people in (int(n) for n in args.members.split(",")):
            asyncio.run(measure(people, cache, args.seed))


if __name__ == "__main__":
    main()

"""Does the gateway's memory stay level under rounds of large pushes? Loopback only.

    python benchmarks/big_push.py [--rounds 5] [--clients 4] [--lines 28000] [--members 300]

Starts ``membergraph serve`` on 127.0.0.1 over a temporary SQLite store and generated demo
data (as ``benchmarks/soak.py`` does), then runs ``--rounds`` rounds; in each, ``--clients``
clients push ``--lines`` new purchases (about 7.4 MiB at 28,000 lines, the demo's cards) to
``POST /ingest/transactions`` at once. It prints, per round, the answers, the seconds, the
server's resident memory (``VmRSS`` of it and its children) when the last push answered,
``--settle`` seconds later, and the highest sampled (every 0.2 s) during the round.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
from mixed_load import demo_data, machine, served
from soak import rss_mb


def body(demo_cards: list[str], prefix: str, lines: int, seed: int) -> bytes:
    """``lines`` new store purchases, one JSON line each, on the demo's cards."""
    pick = random.Random(seed)
    return b"".join(
        orjson.dumps(
            {
                "transaction_id": f"T-BIG-{prefix}-{i}",
                "loyalty_id": pick.choice(demo_cards),
                "email": None,
                "store_id": "S003",
                "channel": "store",
                "occurred_at": f"2026-10-{1 + i % 28:02d}T10:00:00Z",
                "amount_cents": 700,
                "currency": "USD",
                "points_earned": 7,
                "points_redeemed": 0,
                "status": "completed",
                "items": [],
            }
        )
        + b"\n"
        for i in range(lines)
    )


async def sample_peak(pid: int, peak: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        peak[0] = max(peak[0], rss_mb(pid))
        await asyncio.sleep(0.2)


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=4, help="pushes at once in a round")
    parser.add_argument("--lines", type=int, default=28_000, help="lines a push")
    parser.add_argument("--members", type=int, default=300, help="demo people")
    parser.add_argument("--settle", type=float, default=5, help="seconds after a round")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo = demo_data(Path(tmp) / "data", args.members, args.seed)
        cards = sorted({card for card, _ in demo.buyers if card})
        async with served(demo, Path(tmp)) as (base, pid), httpx.AsyncClient() as http:
            print(
                f"machine: {machine()}; {args.members} people, {args.rounds} rounds of "
                f"{args.clients} pushes x {args.lines} lines at once, 1 uvicorn worker"
            )
            print(f"RSS at start: {rss_mb(pid):.0f} MB")
            print("round  answers            s  RSS at answer MB  settled MB  peak MB")
            for number in range(args.rounds):
                bodies = [
                    body(cards, f"{number}-{k}", args.lines, args.seed * 1000 + number * 10 + k)
                    for k in range(args.clients)
                ]
                peak, stop = [0.0], asyncio.Event()
                sampler = asyncio.create_task(sample_peak(pid, peak, stop))
                started = time.perf_counter()
                answers = await asyncio.gather(
                    *(
                        http.post(
                            f"{base}/ingest/transactions",
                            content=each,
                            headers={"content-type": "application/x-ndjson"},
                            timeout=900,
                        )
                        for each in bodies
                    )
                )
                seconds = time.perf_counter() - started
                answered = rss_mb(pid)
                await asyncio.sleep(args.settle)
                stop.set()
                await sampler
                codes = ",".join(str(a.status_code) for a in answers)
                print(
                    f"{number:>5}  {codes:<15} {seconds:>5.1f}  {answered:>16.0f}"
                    f"  {rss_mb(pid):>10.0f}  {peak[0]:>7.0f}",
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""Does the gateway's memory stay level under a long run of small pushes? Loopback only.

    python benchmarks/small_push.py [--seconds 420] [--clients 4] [--lines 200] [--cache-cap N]

Starts ``membergraph serve`` on 127.0.0.1 over a temporary SQLite store and generated demo
data (300 people), then ``--clients`` clients push ``--lines``-line batches for
``--seconds``: four batches in five are new purchases on the demo's cards, the fifth new CRM
contacts (each a new e-mail address and card, as a sign-up flow sends them). Prints the
lines answered and the server's resident memory every ``--every`` seconds.

``--cache-cap N`` starts the server with every ``functools.lru_cache`` of the package capped
at N entries (a diagnosis, not a setting). A serving gateway caps its identity value caches
itself (``membergraph/identity/value_cache.py``, 4,096 entries each); run this from an older
tree (``PYTHONPATH=TREE``) to compare.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson
from mixed_load import demo_data, machine, served
from soak import rss_mb

CAPPED = """
import functools, runpy, sys
cap, cache = int(sys.argv.pop(1)), functools.lru_cache
def capped(maxsize=128, typed=False):
    if callable(maxsize):
        return cache(maxsize)
    return cache(maxsize=min(maxsize, cap) if maxsize else maxsize, typed=typed)
functools.lru_cache = capped
runpy.run_module("membergraph.cli", run_name="__main__")
"""


def _purchases(cards: list[str], tag: str, lines: int, pick: random.Random) -> bytes:
    return b"\n".join(
        orjson.dumps({
            "transaction_id": f"T-{tag}-{j}", "loyalty_id": pick.choice(cards), "email": None,
            "store_id": "S001", "channel": "store",
            "occurred_at": f"2026-11-{pick.randint(1, 28):02d}T10:00:00Z",
            "amount_cents": 700, "currency": "USD", "points_earned": 7, "points_redeemed": 0,
            "status": "completed", "items": [],
        })
        for j in range(lines)
    )  # fmt: skip


def _contacts(tag: str, lines: int) -> bytes:
    return b"\n".join(
        orjson.dumps({
            "contact_id": f"C-{tag}-{j}", "first_name": "Zed", "last_name": f"Q{tag}x{j}",
            "emails": [f"zed.{tag}.{j}@example.org"], "phones": [], "loyalty_id": f"LDU{tag}J{j:04d}",
            "birth_date": "1990-01-01", "address": None, "preferred_language": "en",
            "consents": {"email": True, "sms": False, "push": False, "phone": False},
            "updated_at": "2026-11-01T00:00:00Z",
        })
        for j in range(lines)
    )  # fmt: skip


async def _client(
    http: httpx.AsyncClient, base: str, cards: list[str], n: int, args: argparse.Namespace,
    end: float, done: list[int],
) -> None:  # fmt: skip
    pick = random.Random(n)
    for k in itertools.count(1):
        if time.monotonic() >= end:
            return
        tag = f"{n}x{k}"
        source, body = (
            ("crm", _contacts(tag, args.lines)) if k % 5 == 0
            else ("transactions", _purchases(cards, tag, args.lines, pick))
        )  # fmt: skip
        answer = await http.post(
            f"{base}/ingest/{source}", content=body,
            headers={"content-type": "application/x-ndjson"}, timeout=300,
        )  # fmt: skip
        if answer.status_code == 200:
            done[0] += args.lines
        else:
            done[1] += 1


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=420)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--lines", type=int, default=200, help="lines a push")
    parser.add_argument("--members", type=int, default=300, help="demo people")
    parser.add_argument("--every", type=float, default=30, help="seconds between samples")
    parser.add_argument("--cache-cap", type=int, default=0, help="cap the lru caches (0: no)")
    args = parser.parse_args()
    python = ("-c", CAPPED, str(args.cache_cap)) if args.cache_cap else ("-m", "membergraph.cli")
    with tempfile.TemporaryDirectory() as tmp:
        demo = demo_data(Path(tmp) / "data", args.members, 7)
        cards = sorted({card for card, _ in demo.buyers if card})
        async with served(demo, Path(tmp), python) as (base, pid), httpx.AsyncClient() as http:
            print(f"machine: {machine()}; {args.members} people, {args.clients} clients x "
                  f"{args.lines}-line pushes, cache cap {args.cache_cap or 'none'}")  # fmt: skip
            print(f"{'s':>5} {'lines':>8} {'RSS MB':>7}\n{0:>5} {0:>8} {rss_mb(pid):>7.0f}")
            started = time.monotonic()
            end, done = started + args.seconds, [0, 0]
            pushing = asyncio.gather(
                *(_client(http, base, cards, n, args, end, done) for n in range(args.clients))
            )
            while not pushing.done():
                await asyncio.wait([pushing], timeout=args.every)
                print(f"{time.monotonic() - started:>5.0f} {done[0]:>8} {rss_mb(pid):>7.0f}",
                      flush=True)  # fmt: skip
            await pushing
            print(f"lines answered {done[0]}, pushes refused or failed {done[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""How long one large push holds every other request, over real HTTP.

    python benchmarks/push_stall.py [--members 2000] [--sources transactions,web_analytics]
        [--mb 8] [--interval 0.01] [--seed 7] [--dir DIR] [--spy DIR]

Starts ``membergraph serve`` (one uvicorn worker, on 127.0.0.1) over a temporary SQLite store
and generated demo data (``mixed_load.served``), then for each source in ``--sources``
pushes one body of JSON Lines just under ``--mb`` MiB (the ingest body limit is 8 MiB) with
``POST /ingest/{source}``. Meanwhile two probes each send a request every ``--interval``
seconds, one at a time: ``GET /healthz`` (what an orchestrator's probe asks) and the
personalization profile read by e-mail (``profile_query.QUERY``).

The lines: ``transactions``, new purchases of the data set's cards and online customers;
``web_analytics``, new visitors identifying with a known e-mail (each a new record);
``crm``, the data set's contacts sent again with a new phone and a newer ``updated_at``.

Prints, per push: its duration, lines and lines/s, and the answer's counts; per probe, during
the push and in the 2 s after its answer (what it left to the feed followers and the scores
keeper): how many answered, p50 and p99 latency, the longest latency, and the longest gap
between two answers (what a probe with that timeout would have missed). The same figures for
one idle second before the pushes are the floor.

``--dir`` keeps the data, the store and ``server.log`` there (run with
``PYTHONASYNCIODEBUG=1`` to have the server log each step of its event loop over 100 ms);
``--spy`` records the server with ``py-spy`` (speedscope, every thread, idle samples too) during each push.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from mixed_load import Demo, demo_data, machine, served
from profile_query import QUERY

LIMIT = 8 * 1024 * 1024  # the gateway's MAX_INGEST_BYTES


def _lines(source: str, demo: Demo, rng: random.Random) -> Iterator[dict[str, Any]]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    tag = f"{os.getpid()}-{time.monotonic_ns()}"
    n = 0
    while True:
        n += 1
        if source == "transactions":
            card, email = rng.choice(demo.buyers)
            yield {
                "transaction_id": f"TSTALL{tag}-{n}",
                "loyalty_id": card,
                "email": email,
                "store_id": "S001" if card else None,
                "channel": "store" if card else "online",
                "occurred_at": now,
                "amount_cents": 2500 + n % 700,
                "currency": "USD",
                "points_earned": 25,
                "points_redeemed": 0,
                "status": "completed",
                "items": [
                    {"sku": f"STL-{n % 97:03d}", "category": "bench", "quantity": 1,
                     "unit_price_cents": 2500 + n % 700},
                ],
            }  # fmt: skip
        elif source == "web_analytics":
            yield {
                "event_id": f"ESTALL{tag}-{n}",
                "anonymous_id": f"a-stall-{tag}-{n}",
                "user_id": None,
                "email": rng.choice(demo.emails),
                "type": "identify",
                "name": "Signed In",
                "occurred_at": now,
                "properties": {},
            }
        else:
            contact = dict(rng.choice(demo.contacts))
            contact["phones"] = [
                *contact["phones"][:2],
                f"+1312{rng.randrange(2_000_000, 9_999_999)}",
            ]
            contact["updated_at"] = now
            yield contact


def body_of(source: str, demo: Demo, rng: random.Random, limit: int) -> tuple[bytes, int]:
    """JSON Lines of ``source`` just under ``limit`` bytes, and how many lines."""
    parts: list[bytes] = []
    size = 0
    for line in _lines(source, demo, rng):
        raw = orjson.dumps(line)
        if size + len(raw) + 1 > limit:
            break
        parts.append(raw)
        size += len(raw) + 1
    return b"\n".join(parts) + b"\n", len(parts)


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile in milliseconds, within the values (nan for fewer than two)."""
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] * 1000


@dataclass(slots=True)
class Probe:
    """One kind of request sent every ``interval`` seconds, one at a time: each answer's
    (sent, answered) monotonic times."""

    name: str
    send: Callable[[httpx.AsyncClient], Any]
    times: list[tuple[float, float]] = field(default_factory=list)
    failures: int = 0

    async def run(self, client: httpx.AsyncClient, interval: float, stop: asyncio.Event) -> None:
        while not stop.is_set():
            sent = time.monotonic()
            try:
                response = await self.send(client)
                if response.status_code != 200 or b'"errors"' in response.content:
                    self.failures += 1
            except httpx.HTTPError:
                self.failures += 1
            answered = time.monotonic()
            self.times.append((sent, answered))
            await asyncio.sleep(max(0.0, interval - (answered - sent)))

    def figures(self, start: float, end: float) -> str:
        """Latencies and gaps of the requests sent in [start, end]."""
        inside = [(s, a) for s, a in self.times if start <= s <= end]
        if not inside:
            return f"{self.name:<8} no request answered"
        waits = [a - s for s, a in inside]
        answers = [start, *(a for _, a in inside)]
        gap = max(b - a for a, b in zip(answers, answers[1:], strict=False))
        return (
            f"{self.name:<8} {len(inside):>6} {percentile(waits, 50):>8.1f} "
            f"{percentile(waits, 99):>8.1f} {max(waits) * 1000:>8.1f} {gap * 1000:>8.1f}"
        )


HEADER = f"{'probe':<8} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'gap ms':>8}"


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=2000, help="demo people")
    parser.add_argument("--sources", default="transactions,web_analytics")
    parser.add_argument("--mb", type=float, default=8.0, help="body size, MiB (8: the limit)")
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between probes")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--spy", type=Path, help="py-spy record the server during each push, here")
    parser.add_argument("--dir", type=Path, help="keep the data, store and server.log here")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    limit = min(LIMIT, int(args.mb * 1024 * 1024))
    with contextlib.ExitStack() as stack:
        tmp = args.dir or stack.enter_context(tempfile.TemporaryDirectory())
        if args.dir is not None:
            shutil.rmtree(args.dir, ignore_errors=True)
            args.dir.mkdir(parents=True)
        demo = demo_data(Path(tmp) / "data", args.members, args.seed)
        async with served(demo, Path(tmp)) as (base, pid):
            email = demo.emails[0]
            read = {"query": QUERY, "variables": {"value": email}}
            probes = [
                Probe("healthz", lambda c: c.get(base + "/healthz")),
                Probe("profile", lambda c: c.post(base + "/graphql", json=read)),
            ]
            print(
                f"machine: {machine()}; {args.members} people, 1 uvicorn worker, probes every "
                f"{args.interval * 1000:g} ms from this process"
            )
            async with (
                httpx.AsyncClient(timeout=120) as pusher,
                httpx.AsyncClient(timeout=120) as a,
                httpx.AsyncClient(timeout=120) as b,
            ):
                stop = asyncio.Event()
                running = [
                    asyncio.create_task(p.run(c, args.interval, stop))
                    for p, c in zip(probes, (a, b), strict=True)
                ]
                await asyncio.sleep(1.0)  # warm-up, not measured
                idle = time.monotonic()
                await asyncio.sleep(1.0)
                print(f"\nidle, 1 s\n{HEADER}")
                for probe in probes:
                    print(probe.figures(idle, time.monotonic()))
                for source in args.sources.split(","):
                    body, count = body_of(source, demo, rng, limit)
                    spy = None
                    if args.spy is not None:
                        args.spy.mkdir(parents=True, exist_ok=True)
                        out = args.spy / f"{source}.json"
                        spy = subprocess.Popen(
                            ["py-spy", "record", "--pid", str(pid), "--rate", "200", "--idle",
                             "--format", "speedscope", "--threads", "--output", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                        )  # fmt: skip
                        await asyncio.sleep(1.0)
                    began = time.monotonic()
                    response = await pusher.post(
                        f"{base}/ingest/{source}",
                        content=body,
                        headers={"content-type": "application/x-ndjson"},
                    )
                    ended = time.monotonic()
                    if spy is not None:
                        spy.send_signal(2)  # SIGINT: py-spy writes what it sampled
                        spy.wait()
                    # What the push leaves for after its answer (the feed followers, the
                    # scores keeper) holds requests too. Its answer is read after that: the
                    # probes' client must not be held by decoding it.
                    await asyncio.sleep(2.0)
                    took = ended - began
                    said = response.json()
                    counts = {k: said.get(k) for k in ("accepted", "rejected", "unattributed")}
                    print(
                        f"\npush {source}: {len(body) / 2**20:.2f} MiB, {count} lines, "
                        f"{took:.2f} s, {count / took:,.0f} lines/s, HTTP "
                        f"{response.status_code} {counts}\n{HEADER}"
                    )
                    for probe in probes:
                        print(probe.figures(began, ended))
                    print(f"the 2 s after it\n{HEADER}")
                    for probe in probes:
                        print(probe.figures(ended, ended + 2.0))
                stop.set()
                await asyncio.gather(*running)
                failed = {p.name: p.failures for p in probes if p.failures}
                if failed:
                    print(f"\nprobe failures: {failed}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

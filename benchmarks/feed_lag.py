"""How long a change made through one process takes to reach a subscriber of another.

    python benchmarks/feed_lag.py [--changes 1000] [--members 2000] [--clients 1] [--poll 0.2]

Starts two ``membergraph serve`` processes (A and B, one uvicorn worker each, on 127.0.0.1)
over one SQLite store and generated demo data: A does the first load, B starts once A is
ready. A ``graphql-transport-ws`` subscriber on B (``subscription { memberChanged { cursor
kind lineId } }``, no member id: demo mode has no credentials) records when each entry
arrives, in a thread of its own. Then ``--changes`` purchases are pushed through A, one line
per ``POST /ingest/transactions``, each on the card of a real CRM member (``--clients``
pushers at a time, sequential by default). For each purchase the lag is B's arrival minus
the moment A's answer (the acknowledgement) was read; it prints p50, p90, p99 and max of the
lag, how many entries never arrived, and the ingest throughput: lines acknowledged by A per
second over the whole push, with B following the feed and the subscriber connected.

Each process follows the feed every ``MEMBERGRAPH_FEED_POLL_S`` seconds (``--poll``; the
gateway's default is 0.2 s), so the lag is expected to be about half of it on average.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
from mixed_load import machine
from profile_query import free_port
from websockets.sync.client import connect

SUBSCRIPTION = "subscription { memberChanged { cursor kind lineId } }"


@contextlib.contextmanager
def served(folder: Path, store: Path, log: Path, poll: float) -> Iterator[str]:
    """``membergraph serve`` over ``folder`` and ``store``, once ready: its address."""
    port = free_port()
    env = {**os.environ, "MEMBERGRAPH_HOST": "127.0.0.1", "MEMBERGRAPH_FEED_POLL_S": str(poll)}
    command = [sys.executable, "-m", "membergraph.cli", "serve", "--data", str(folder)]
    command += ["--store", f"sqlite:///{store}", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("ab") as out:
        server = subprocess.Popen(
            [*command, "--no-open"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    address = f"127.0.0.1:{port}"
    try:
        with httpx.Client(timeout=5) as probe:
            deadline = time.monotonic() + 900
            while True:
                if server.poll() is not None:
                    raise RuntimeError(f"serve ended: {log.read_text()[-3000:]}")
                with contextlib.suppress(httpx.TransportError):
                    if probe.get(f"http://{address}/readyz").status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise RuntimeError("serve did not become ready")
                time.sleep(0.05)
        yield address
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


class Subscriber(threading.Thread):
    """Follows ``memberChanged`` on one process; ``arrived[line_id]`` is when each purchase
    entry was read (``time.perf_counter``)."""

    def __init__(self, address: str) -> None:
        super().__init__(daemon=True)
        self.address = address
        self.arrived: dict[str, float] = {}
        self.duplicates = 0
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            with connect(
                f"ws://{self.address}/graphql", subprotocols=["graphql-transport-ws"]
            ) as ws:
                ws.send(json.dumps({"type": "connection_init"}))
                assert json.loads(ws.recv(timeout=10))["type"] == "connection_ack"
                payload = {"query": SUBSCRIPTION}
                ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
                self.ready.set()
                while not self.stop.is_set():
                    try:
                        raw = ws.recv(timeout=0.5)
                    except TimeoutError:
                        continue
                    now = time.perf_counter()
                    message = json.loads(raw)
                    if message["type"] == "ping":
                        ws.send(json.dumps({"type": "pong"}))
                        continue
                    if message["type"] != "next":
                        raise RuntimeError(f"subscription: {message}")
                    change = message["payload"]["data"]["memberChanged"]
                    if change["kind"] != "PURCHASE_RECORDED" or not change["lineId"]:
                        continue
                    if change["lineId"] in self.arrived:
                        self.duplicates += 1
                    else:
                        self.arrived[change["lineId"]] = now
        except BaseException as exc:  # told to the main thread
            self.failure = exc
            self.ready.set()


def cards(folder: Path) -> list[str]:
    """Loyalty cards of real CRM members, each typed on one contact only."""
    contacts = [orjson.loads(raw) for raw in (folder / "crm.jsonl").read_bytes().splitlines()]
    typed = Counter(c["loyalty_id"] for c in contacts if c.get("loyalty_id"))
    return sorted(card for card, times in typed.items() if times == 1)


def purchase(n: int, card: str, run: str) -> dict[str, object]:
    return {
        "transaction_id": f"T-LAG-{run}-{n}",
        "loyalty_id": card,
        "channel": "store",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 1000 + n,
        "points_earned": 10,
    }


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100)[q - 1] if len(values) > 1 else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=1000, help="purchases pushed through A")
    parser.add_argument("--members", type=int, default=2000, help="demo people")
    parser.add_argument("--clients", type=int, default=1, help="pushers at a time")
    parser.add_argument("--poll", type=float, default=0.2, help="MEMBERGRAPH_FEED_POLL_S")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(
        f"machine: {machine()}; {args.members} people, {args.changes} purchases through A, "
        f"{args.clients} pusher(s), one line per request, feed poll {args.poll:g} s, "
        "1 uvicorn worker per process, clients in this process"
    )
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        folder = work / "data"
        command = [sys.executable, "-m", "membergraph.cli", "demo-data", "--out", str(folder)]
        subprocess.run(
            [*command, "--members", str(args.members), "--seed", str(args.seed)],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        known = cards(folder)
        store, run = work / "one.db", str(int(time.time()))
        with (
            served(folder, store, work / "a.log", args.poll) as a,
            served(folder, store, work / "b.log", args.poll) as b,
        ):
            subscriber = Subscriber(b)
            subscriber.start()
            subscriber.ready.wait(15)
            if subscriber.failure is not None:
                raise subscriber.failure
            time.sleep(1.0)  # subscribed before the first purchase is made
            acknowledged: dict[str, float] = {}
            failures: list[str] = []

            def push(client: httpx.Client, n: int) -> None:
                line = purchase(n, known[n % len(known)], run)
                answer = client.post(f"http://{a}/ingest/transactions", json=[line])
                at = time.perf_counter()
                status = answer.json()["lines"][0]["status"] if answer.status_code == 200 else ""
                if status != "created":
                    failures.append(f"{answer.status_code} {answer.text[:200]}")
                else:
                    acknowledged[str(line["transaction_id"])] = at

            began = time.perf_counter()
            with ThreadPoolExecutor(args.clients) as pool:
                clients = [httpx.Client(timeout=30) for _ in range(args.clients)]
                list(pool.map(lambda n: push(clients[n % args.clients], n), range(args.changes)))
                for client in clients:
                    client.close()
            pushed = time.perf_counter() - began
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not set(acknowledged) <= set(subscriber.arrived):
                time.sleep(0.1)
            subscriber.stop.set()
            subscriber.join(5)
    lags = [
        (subscriber.arrived[line] - at) * 1000
        for line, at in acknowledged.items()
        if line in subscriber.arrived
    ]
    missing = len(set(acknowledged) - set(subscriber.arrived))
    print(
        f"acknowledged by A: {len(acknowledged)} of {args.changes} ({len(failures)} failed"
        + (f", first: {failures[0]}" if failures else "")
        + f") in {pushed:.2f} s: {len(acknowledged) / pushed:.1f} lines/s"
    )
    print(f"heard on B: {len(lags)}, never arrived: {missing}, duplicates: {subscriber.duplicates}")
    print("| lag, B's arrival - A's acknowledgement | p50 ms | p90 ms | p99 ms | max ms | min ms |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| {len(lags)} purchases | {percentile(lags, 50):.1f} | {percentile(lags, 90):.1f} | "
        f"{percentile(lags, 99):.1f} | {max(lags, default=float('nan')):.1f} | "
        f"{min(lags, default=float('nan')):.1f} |"
    )
    return 0 if not missing and not failures else 1


if __name__ == "__main__":
    sys.exit(main())

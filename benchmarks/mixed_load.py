"""Read latency while ingests and stewards run, over real HTTP.

    python benchmarks/mixed_load.py [--members 2000] [--seconds 60] [--clients 8]

Starts ``membergraph serve`` (one uvicorn worker, on 127.0.0.1) over a temporary SQLite store
and generated demo data, then runs ``--clients`` concurrent clients for ``--seconds``. Each
client picks its next request at random (seeded), by the weights given:

- ``read``: the profile query by e-mail (``memberByIdentifier``: profile, loyalty, last 5
  transactions), the personalization services' request;
- ``ingest``: ``POST /ingest/{source}`` of 5 lines of one source, in turn: new purchases of
  cards and online customers the data set has, CRM contacts sent again with a new phone and a
  newer ``updated_at``, new web visitors identifying with a known e-mail;
- ``steward``: on a member of the client's own share of e-mails that has two records or more,
  ``splitMember`` of one record, then ``linkRecords`` of it back (timed as ``split`` and
  ``link``; the look-up that finds the records is not timed).

Prints count, errors, p50 and p99 per kind. The clients (httpx) run in this process and share
the machine's cores with the server. ``benchmarks/soak.py`` runs the same server and clients.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
from profile_query import QUERY, free_port, newest_contacts, wait_ready

RECORDS = "query Records($value: String!) { memberByIdentifier(kind: EMAIL, value: $value) { id records { source key } } }"
SPLIT = 'mutation Split($id: ID!, $r: RecordRefInput!) { splitMember(memberId: $id, records: [$r], reason: "benchmark") { id } }'
LINK = 'mutation Link($a: RecordRefInput!, $b: RecordRefInput!) { linkRecords(a: $a, b: $b, reason: "benchmark") { id } }'

LINES_PER_INGEST = 5
KINDS = ("read", "ingest", "split", "link")


@dataclass(slots=True)
class Demo:
    """What the clients need from the generated data set."""

    folder: Path
    emails: list[str]  # one per CRM contact that has one, as typed
    contacts: list[dict[str, Any]]  # CRM lines
    buyers: list[tuple[str | None, str | None]]  # (loyalty_id, email) of purchases


def demo_data(folder: Path, members: int, seed: int) -> Demo:
    command = [sys.executable, "-m", "membergraph.cli", "demo-data", "--out", str(folder)]
    subprocess.run([*command, "--members", str(members), "--seed", str(seed)], check=True)

    def lines(name: str) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in (folder / name).read_bytes().splitlines()]

    # Sent again as news, an older version would drop her current e-mail (then former).
    contacts = newest_contacts(folder)
    # An e-mail typed on several contacts may be a placeholder ("none@none.com"), which
    # keys nobody: reads and guest purchases use the e-mails of one contact only.
    typed = Counter(e.strip().lower() for c in contacts for e in set(c["emails"]))
    known = {email for email, times in typed.items() if times == 1}
    emails = [c["emails"][0].strip() for c in contacts if c["emails"]]
    emails = [email for email in emails if email.lower() in known]
    buyers = sorted(
        {
            (t.get("loyalty_id"), t.get("email"))
            for t in lines("transactions.jsonl")  # a line kept for the books names no one
            if t.get("loyalty_id") or (t.get("email") or "").strip().lower() in known
        },
        key=str,
    )
    return Demo(folder, emails, contacts, buyers)


@contextlib.asynccontextmanager
async def served(
    demo: Demo, folder: Path, python: Sequence[str] = ("-m", "membergraph.cli")
) -> AsyncIterator[tuple[str, int]]:
    """``membergraph serve`` on the demo data and a fresh store: (base URL, server pid).
    ``python``: what the interpreter runs, the CLI's arguments after it."""
    port = free_port()
    env = {**os.environ, "MEMBERGRAPH_STORE": f"sqlite:///{folder / 'bench.db'}"}
    env["MEMBERGRAPH_HOST"] = "127.0.0.1"  # loopback only, whatever the environment says
    log = (folder / "server.log").open("wb")
    command = [sys.executable, *python, "serve", "--data", str(demo.folder)]
    server = subprocess.Popen(
        [*command, "--host", "127.0.0.1", "--port", str(port), "--no-open"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as probe:
            try:
                await wait_ready(probe, base + "/readyz", limit=600)
            except RuntimeError:
                log.flush()
                sys.stderr.write((folder / "server.log").read_text()[-4000:])
                raise
        yield base, server.pid
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@dataclass(slots=True)
class Tally:
    """Latencies (seconds) and errors per kind of request; the first error of each kind."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in KINDS})
    errors: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))
    first_error: dict[str, str] = field(default_factory=dict)

    def failed(self, kind: str, why: str) -> None:
        self.errors[kind] += 1
        self.first_error.setdefault(kind, why[:300])

    def requests(self) -> int:
        return sum(map(len, self.latencies.values()))


def percentile(values: Sequence[float], q: int) -> float:
    """The q-th percentile in milliseconds (nan for fewer than two values)."""
    if len(values) < 2:
        return float("nan")
    return statistics.quantiles(values, n=100)[q - 1] * 1000


class Workload:
    """The requests the clients send; every answer is checked, and counted as an error
    unless it is a 200 with no GraphQL error (for an ingest, no line ``rejected``)."""

    def __init__(self, demo: Demo, base: str, tally: Tally, clients: int) -> None:
        self.demo, self.base, self.tally, self.clients = demo, base, tally, clients
        self.sequence = itertools.count()
        self.ingest_kinds = itertools.cycle(("transactions", "crm", "web_analytics"))

    async def _timed(self, kind: str, send: Callable[[], Any]) -> httpx.Response | None:
        started = time.perf_counter()
        try:
            response: httpx.Response = await send()
        except httpx.HTTPError as exc:
            self.tally.latencies[kind].append(time.perf_counter() - started)
            self.tally.failed(kind, f"{type(exc).__name__}: {exc}")
            return None
        self.tally.latencies[kind].append(time.perf_counter() - started)
        return response

    async def _graphql(
        self, client: httpx.AsyncClient, kind: str | None, query: str, variables: dict[str, Any]
    ) -> dict[str, Any] | None:
        body = {"query": query, "variables": variables}
        if kind is None:  # not timed
            response: httpx.Response | None = await client.post(self.base + "/graphql", json=body)
        else:
            response = await self._timed(
                kind, lambda: client.post(self.base + "/graphql", json=body)
            )
        if response is None:
            return None
        payload = response.json() if response.content else {}
        if response.status_code != 200 or payload.get("errors"):
            self.tally.failed(kind or "read", f"{response.status_code} {response.text}")
            return None
        data: dict[str, Any] = payload["data"]
        return data

    async def read(self, client: httpx.AsyncClient, rng: random.Random) -> None:
        email = rng.choice(self.demo.emails)
        data = await self._graphql(client, "read", QUERY, {"value": email})
        if data is not None and not data["memberByIdentifier"]:
            self.tally.failed("read", f"no member for {email}")

    def lines(self, source: str, rng: random.Random) -> list[dict[str, Any]]:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        made = []
        for _ in range(LINES_PER_INGEST):
            n = next(self.sequence)
            if source == "transactions":
                card, email = rng.choice(self.demo.buyers)
                made.append(
                    {
                        "transaction_id": f"TBENCH{os.getpid()}-{n}",
                        "loyalty_id": card,
                        "email": email,
                        "store_id": "S001" if card else None,
                        "channel": "store" if card else "online",
                        "occurred_at": now,
                        "amount_cents": 2500,
                        "currency": "USD",
                        "points_earned": 25,
                        "points_redeemed": 0,
                        "status": "completed",
                        "items": [
                            {
                                "sku": "BEN-001",
                                "category": "bench",
                                "quantity": 1,
                                "unit_price_cents": 2500,
                            }
                        ],
                    }
                )
            elif source == "crm":
                contact = dict(rng.choice(self.demo.contacts))
                phone = f"+1312{rng.randrange(2_000_000, 9_999_999)}"
                contact["phones"] = [*contact["phones"][:2], phone]
                contact["updated_at"] = now
                made.append(contact)
            else:
                made.append(
                    {
                        "event_id": f"EBENCH{os.getpid()}-{n}",
                        "anonymous_id": f"a-bench-{os.getpid()}-{n}",
                        "user_id": None,
                        "email": rng.choice(self.demo.emails),
                        "type": "identify",
                        "name": "Signed In",
                        "occurred_at": now,
                        "properties": {},
                    }
                )
        return made

    async def ingest(
        self, client: httpx.AsyncClient, rng: random.Random, sources: Sequence[str] = ()
    ) -> None:
        source = rng.choice(sources) if sources else next(self.ingest_kinds)
        body = b"\n".join(map(orjson.dumps, self.lines(source, rng)))
        url = f"{self.base}/ingest/{source}"
        response = await self._timed("ingest", lambda: client.post(url, content=body))
        if response is None:
            return
        if response.status_code not in (200, 207):  # 207: some lines were rejected
            self.tally.failed("ingest", f"{response.status_code} {response.text}")
        elif response.json().get("rejected"):
            refused = [line for line in response.json()["lines"] if line["status"] == "rejected"]
            self.tally.failed("ingest", f"{source}: {refused}")

    async def steward(self, client: httpx.AsyncClient, rng: random.Random, own: list[str]) -> None:
        for _ in range(20):  # a member with two records or more
            data = await self._graphql(client, None, RECORDS, {"value": rng.choice(own)})
            member = data and data["memberByIdentifier"]
            if member and len(member["records"]) >= 2:
                break
        else:
            return
        records = [{"source": r["source"], "key": r["key"]} for r in member["records"]]
        leaving = records[-1]
        split = await self._graphql(client, "split", SPLIT, {"id": member["id"], "r": leaving})
        if split is not None:
            await self._graphql(client, "link", LINK, {"a": leaving, "b": records[0]})


async def run_clients(
    workload: Workload,
    clients: int,
    seconds: float,
    weights: dict[str, float],
    seed: int,
    ingest_sources: Sequence[str] = (),
) -> float:
    """Run the clients until ``seconds`` have passed; the seconds they ran."""
    stop = time.monotonic() + seconds
    emails = workload.demo.emails
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:

        async def one(index: int) -> None:
            rng = random.Random(seed * 1000 + index)
            own = emails[index::clients]  # stewards of two clients never share a member
            kinds, odds = list(weights), list(weights.values())
            while time.monotonic() < stop:
                kind = rng.choices(kinds, odds)[0]
                if kind == "read":
                    await workload.read(client, rng)
                elif kind == "ingest":
                    await workload.ingest(client, rng, ingest_sources)
                else:
                    await workload.steward(client, rng, own)

        began = time.monotonic()
        await asyncio.gather(*(one(i) for i in range(clients)))
        return time.monotonic() - began


def machine() -> str:
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def report(tally: Tally, elapsed: float) -> None:
    print(f"{'kind':<8} {'count':>7} {'errors':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for kind in KINDS:
        values = tally.latencies[kind]
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(f"{kind:<8} {len(values):>7} {tally.errors[kind]:>7} {p50:>8.1f} {p99:>8.1f}")
    print(
        f"total: {tally.requests()} requests in {elapsed:.0f} s, {tally.requests() / elapsed:.1f} req/s"
    )
    for kind, why in tally.first_error.items():
        print(f"first {kind} error: {why}")


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=2000, help="demo people")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--read", type=float, default=0.6, help="weight of reads")
    parser.add_argument("--ingest", type=float, default=0.25, help="weight of ingests")
    parser.add_argument("--steward", type=float, default=0.15, help="weight of split+link")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        demo = demo_data(Path(tmp) / "data", args.members, args.seed)
        async with served(demo, Path(tmp)) as (base, _):
            tally = Tally()
            workload = Workload(demo, base, tally, args.clients)
            weights = {"read": args.read, "ingest": args.ingest, "steward": args.steward}
            await run_clients(workload, args.clients, 3, {"read": 1}, args.seed)  # warm-up
            tally.latencies, tally.errors = Tally().latencies, Tally().errors
            tally.first_error.clear()
            print(
                f"machine: {machine()}; {args.members} people, {args.clients} clients, "
                f"{args.seconds:g} s, weights read {args.read:g} / ingest {args.ingest:g} / "
                f"steward {args.steward:g}, 1 uvicorn worker, clients in this process"
            )
            elapsed = await run_clients(workload, args.clients, args.seconds, weights, args.seed)
            report(tally, elapsed)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

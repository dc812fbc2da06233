"""Profile-lookup latency and throughput over real HTTP.

    python benchmarks/profile_query.py [--members 1000] [--seconds 10] [--clients 32]

Starts ``membergraph serve`` (one uvicorn worker) on demo data in a subprocess, then runs
``--clients`` concurrent clients that send ``memberByIdentifier`` (profile, loyalty, last 5
transactions) for a few seconds: once over distinct members (each request another e-mail),
once repeating one member. Prints requests/s, p50 and p99 for each. The load comes from
``wrk`` when it is installed (``apt install wrk``), else from an httpx client in this process
(which then competes with the server for the CPU and reports lower figures).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

QUERY = """query Profile($value: String!) {
  memberByIdentifier(kind: EMAIL, value: $value) {
    id
    profile { firstName lastName emails { value } phones { value } }
    loyalty { pointsBalance tier lifetimeSpendCents }
    transactions(first: 5) { edges { node { occurredAt amountCents status } } }
  }
}"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(client: httpx.AsyncClient, url: str, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if (await client.get(url)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("server did not become ready")


async def load(
    url: str, emails: list[str], clients: int, seconds: float
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    stop = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker(offset: int) -> None:
            nonlocal errors
            index = offset
            while time.perf_counter() < stop:
                body = {"query": QUERY, "variables": {"value": emails[index % len(emails)]}}
                index += clients
                started = time.perf_counter()
                response = await client.post(url, json=body)
                latencies.append(time.perf_counter() - started)
                payload = response.json()
                if (
                    response.status_code != 200
                    or payload.get("errors")
                    or not payload["data"]["memberByIdentifier"]
                ):
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(worker(i) for i in range(clients)))
        elapsed = time.perf_counter() - began
    return len(latencies) / elapsed, latencies, errors


_WRK_SCRIPT = """
local bodies = {BODIES}
local counter = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, bodies[(counter % #bodies) + 1])
end
"""


def _ms(text: str) -> float:
    number = float(text.rstrip("usm"))
    return (
        number / 1000
        if text.endswith("us")
        else number * 1000
        if text.endswith("s") and not text.endswith("ms")
        else number
    )


def run_wrk(
    url: str, emails: list[str], clients: int, seconds: float, folder: Path
) -> tuple[float, float, float, int]:
    """wrk (a C load generator) keeps the client's cost off the server's two cores."""
    bodies = [orjson.dumps({"query": QUERY, "variables": {"value": e}}).decode() for e in emails]
    lua = "{" + ",".join(orjson.dumps(b).decode() for b in bodies) + "}"
    script = folder / "bodies.lua"
    script.write_text(_WRK_SCRIPT.replace("{BODIES}", lua))
    out = subprocess.run(
        ["wrk", "-t2", f"-c{clients}", f"-d{seconds:g}s", "--latency", "-s", str(script), url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    p50 = _ms(re.search(r"50%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    p99 = _ms(re.search(r"99%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, p50, p99, int(errors.group(1)) if errors else 0


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] * 1000


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--python-client", action="store_true", help="use httpx even if wrk is installed"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "membergraph.cli",
                "demo-data",
                "--out",
                str(data),
                "--members",
                str(args.members),
            ],
            check=True,
        )
        emails = sorted(
            {
                email.strip().lower()
                for line in (data / "crm.jsonl").read_bytes().splitlines()
                for email in orjson.loads(line)["emails"][:1]
            }
        )
        port = free_port()
        env = {**os.environ, "MEMBERGRAPH_STORE": f"sqlite:///{tmp}/bench.db"}
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "membergraph.cli",
                "serve",
                "--data",
                str(data),
                "--port",
                str(port),
                "--no-open",
            ],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            async with httpx.AsyncClient() as probe:
                await wait_ready(probe, base + "/readyz")
            await load(base + "/graphql", emails, args.clients, 2)  # warm-up
            print(
                f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
                f"{args.members} people, {args.clients} clients, {args.seconds:g} s each, 1 uvicorn worker"
            )
            tool = "wrk" if shutil.which("wrk") and not args.python_client else "httpx"
            print(f"load generator: {tool}")
            print(f"{'lookup':<10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
            for name, pool in (("distinct", emails), ("repeated", emails[:1])):
                if tool == "wrk":
                    rate, p50, p99, errors = run_wrk(
                        base + "/graphql", pool, args.clients, args.seconds, Path(tmp)
                    )
                else:
                    rate, latencies, errors = await load(
                        base + "/graphql", pool, args.clients, args.seconds
                    )
                    p50, p99 = percentile(latencies, 50), percentile(latencies, 99)
                print(f"{name:<10} {rate:>8.0f} {p50:>8.1f} {p99:>8.1f} {errors:>7}")
        finally:
            server.terminate()
            server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

"""CPU time of one response-cache hit through the whole app, in-process.

    python benchmarks/cache_hit.py [--members 2000] [--requests 20000]

Builds the app over a generated demo set (API key ``profile:read``, as the personalization
service), fills the cache with 50 members' profiles, then calls the ASGI app directly
``--requests`` times (middleware, authentication, the cache's lookup and the answer; no
socket, no uvicorn) and prints the CPU time per hit. Over HTTP on a shared two-core machine
a change of a few microseconds drowns in the noise; this figure does not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson
from profile_query import KEY, KEYS, QUERY, unique_emails


async def measure(folder: Path, requests: int) -> float:
    os.environ["MEMBERGRAPH_API_KEYS"] = orjson.dumps(KEYS).decode()
    from membergraph.app import create_app
    from membergraph.settings import Settings

    settings = Settings(
        data=folder / "data", store=f"sqlite:///{folder / 'hit.db'}", cache_dir=folder / "cache"
    )
    app = create_app(settings)
    emails = unique_emails(folder / "data")[:50]
    bodies = [orjson.dumps({"query": QUERY, "variables": {"value": e}}) for e in emails]
    headers = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {KEY}".encode())]

    async def call(body: bytes) -> None:
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "scheme": "http",
            "path": "/graphql",
            "raw_path": b"/graphql",
            "query_string": b"",
            "root_path": "",
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 8000),
            "state": {},
        }

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Any) -> None:
            pass

        await app(scope, receive, send)

    startup: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    said: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    await startup.put({"type": "lifespan.startup"})
    lifespan = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    running = asyncio.create_task(app(lifespan, startup.get, said.put))  # type: ignore[arg-type]
    assert (await said.get())["type"] == "lifespan.startup.complete"
    for body in bodies * 2:  # the first round fills the cache
        await call(body)
    began = time.process_time()
    for n in range(requests):
        await call(bodies[n % len(bodies)])
    spent = time.process_time() - began
    await startup.put({"type": "lifespan.shutdown"})
    await said.get()
    await running
    return spent / requests


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=2000, help="demo people")
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        command = [sys.executable, "-m", "membergraph.cli", "demo-data", "--out"]
        subprocess.run([*command, str(folder / "data"), "--members", str(args.members)], check=True)
        per_hit = asyncio.run(measure(folder, args.requests))
    print(f"one response-cache hit through the app: {per_hit * 1e6:.1f} us of CPU")
    return 0


if __name__ == "__main__":
    sys.exit(main())

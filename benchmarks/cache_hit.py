"""CPU time of one response-cache hit (or miss) through the whole app, in-process.

    python benchmarks/cache_hit.py [--members 2000] [--requests 20000] [--misses] [--calls]
        [--gc] [--dir DIR] [--by-id]

Builds the app over a generated demo set (API key ``profile:read``, as the personalization
service), fills the cache with 50 members' profiles, then calls the ASGI app directly
``--requests`` times (middleware, authentication, the cache's lookup and the answer; no
socket, no uvicorn; on uvloop when installed, as uvicorn serves; logging configured as
``membergraph serve`` does it, the access log written to /dev/null; each request in its
own turn of the event loop, as one alone on the server) and prints the CPU time per hit.
With ``--misses`` every request asks another e-mail with a body of its own (a request
number among the variables, which GraphQL ignores: a string, as ``profile_query.py`` sends
it, since an integer variable is part of the query-cost memo's key), as
``profile_query.py``'s *distinct* run: every request is a miss, the whole GraphQL
execution with its reads. Over HTTP on a shared two-core machine a change of a few
microseconds drowns in the noise; this figure does not. With ``--calls`` it also counts the
Python and C function calls per request on the event loop's thread (``sys.setprofile``),
which the machine's load does not move at all (not aiosqlite's thread). With ``--gc`` it
also prints the cyclic collector's collections by generation during the measured requests
and the time they took (``gc.callbacks``): the pauses every request in flight waits out.
``--by-id`` asks the same profile by member ID (``member(id:)``) instead of by e-mail,
the members being those of the first 300 e-mails (found before measuring). ``--dir``
keeps the data and the store there and reuses them: a run then does the same work every
time, which instruction counts need (``valgrind --tool=cachegrind --cache-sim=no``
over two runs of different ``--requests``: the difference over the difference of requests
is the instructions of one request, of every thread, the same within 0.2 % run to run)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import orjson
from profile_query import KEY, KEYS, QUERY, unique_emails

QUERY_BY_ID = QUERY.replace("$value: String!", "$value: ID!").replace(
    "memberByIdentifier(kind: EMAIL, value: $value)", "member(id: $value)"
)
"""The same profile asked by member ID (``--by-id``; the variable keeps its name)."""


def _bodies(
    emails: list[str], requests: int, misses: bool, query: str = QUERY
) -> tuple[list[bytes], list[bytes]]:
    """The bodies that warm up, and those measured: 50 hot members' bodies both times, or
    with ``misses`` one body of its own per request."""
    if not misses:
        hot = [orjson.dumps({"query": query, "variables": {"value": e}}) for e in emails[:50]]
        return hot * 2, hot
    bodies = [
        orjson.dumps(
            {"query": query, "variables": {"value": emails[n % len(emails)], "n": f"r{n}"}}
        )
        for n in range(requests + 50)
    ]
    return bodies[:50], bodies[50:]


@contextlib.contextmanager
def _counting_calls(counted: list[int] | None) -> Iterator[None]:
    """Counts the calls of Python and C functions on the event loop's thread into
    ``counted[0]`` (None: counts nothing): a figure the machine's load does not move."""
    if counted is None:
        yield
        return

    def count(frame: Any, event: str, arg: Any) -> None:
        if event in ("call", "c_call"):
            counted[0] += 1

    sys.setprofile(count)
    try:
        yield
    finally:
        sys.setprofile(None)


class _Collections:
    """The cyclic collector's collections by generation, and their durations."""

    def __init__(self) -> None:
        self.counts = [0, 0, 0]
        self.pauses: list[float] = []
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._began = time.perf_counter()
            return
        self.counts[info["generation"]] += 1
        self.pauses.append(time.perf_counter() - self._began)

    @contextlib.contextmanager
    def watching(self) -> Iterator[None]:
        gc.callbacks.append(self)
        try:
            yield
        finally:
            gc.callbacks.remove(self)

    def said(self, requests: int) -> str:
        pauses = sorted(self.pauses) or [0.0]
        return (
            f"collections (young / middle / full): {' / '.join(map(str, self.counts))} in"
            f" {requests} requests; {sum(pauses) * 1e6 / requests:.1f} us a request,"
            f" longest {pauses[-1] * 1e3:.2f} ms, median {pauses[len(pauses) // 2] * 1e3:.3f} ms"
        )


async def measure(
    folder: Path,
    requests: int,
    misses: bool,
    logs: TextIO,
    calls: list[int] | None = None,
    collections: _Collections | None = None,
    by_id: bool = False,
) -> float:
    os.environ["MEMBERGRAPH_API_KEYS"] = orjson.dumps(KEYS).decode()
    from membergraph.app import create_app
    from membergraph.logs import configure_logging
    from membergraph.response_cache.warm import graphql_post_scope
    from membergraph.settings import Settings

    settings = Settings(
        data=folder / "data", store=f"sqlite:///{folder / 'hit.db'}", cache_dir=folder / "cache"
    )
    with contextlib.redirect_stderr(logs):
        configure_logging(settings.log_format, access=settings.access_log)  # binds stderr
    app = create_app(settings, serving=True)  # as `membergraph serve` makes it
    emails = unique_emails(folder / "data")
    headers = [(b"content-type", b"application/json"), (b"authorization", f"Bearer {KEY}".encode())]

    async def call(body: bytes) -> bytes:
        scope = graphql_post_scope(headers, body, {})

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Any) -> None:
            answer.append(message.get("body", b""))

        answer: list[bytes] = []
        await app(scope, receive, send)
        return b"".join(answer)

    startup: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    said: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    await startup.put({"type": "lifespan.startup"})
    lifespan = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    running = asyncio.create_task(app(lifespan, startup.get, said.put))  # type: ignore[arg-type]
    assert (await said.get())["type"] == "lifespan.startup.complete"
    await _settle()
    query = QUERY
    if by_id:
        # The members of the first 300 e-mails, asked by their IDs: as many lookups whatever
        # ``--requests`` (instructions per miss are the difference of two runs).
        used = emails[:300] if misses else emails[:50]
        found = [
            orjson.loads(await call(orjson.dumps({"query": QUERY, "variables": {"value": e}})))
            for e in used
        ]
        emails = [f["data"]["memberByIdentifier"]["id"] for f in found]
        query = QUERY_BY_ID
    warm, bodies = _bodies(emails, requests, misses, query)
    for body in warm:  # hits: the first round fills the cache
        await call(body)
    began = time.process_time()
    watching = collections.watching() if collections else contextlib.nullcontext()
    with _counting_calls(calls), watching:
        for n in range(requests):
            await call(bodies[n % len(bodies)])
            await asyncio.sleep(0)  # its own turn of the loop, as a lone request's
    spent = time.process_time() - began
    await startup.put({"type": "lifespan.shutdown"})
    await said.get()
    await running
    return spent / requests


async def _settle(limit: float = 300) -> None:
    """Wait until the app is idle (under 5 % of a core over half a second): after start it
    scores the population in the background, which is not what is measured, and whose CPU
    time would count against however many requests ran meanwhile."""
    deadline = time.monotonic() + limit
    before = time.process_time()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.5)
        now = time.process_time()
        if now - before < 0.025:
            return
        before = now


def _loop_factory() -> Any:
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=2000, help="demo people")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--misses", action="store_true", help="every request another body")
    parser.add_argument(
        "--calls",
        action="store_true",
        help="also count the function calls per request (slows the run: CPU time is not "
        "comparable with a run without it)",
    )
    parser.add_argument("--gc", action="store_true", help="also count the collector's pauses")
    parser.add_argument("--dir", help="keep the data and the store here, and reuse them")
    parser.add_argument("--by-id", action="store_true", help="ask member(id:), not by e-mail")
    args = parser.parse_args()
    calls = [0] if args.calls else None
    collections = _Collections() if args.gc else None
    with contextlib.nullcontext(args.dir) if args.dir else tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not (folder / "data").exists():
            command = [sys.executable, "-m", "membergraph.cli", "demo-data", "--out"]
            people = ["--members", str(args.members)]
            subprocess.run([*command, str(folder / "data"), *people], check=True)
        # The event loop uvicorn serves on (uvloop when installed: a thread's answer reaches
        # it at another cost than asyncio's own loop).
        with (
            asyncio.Runner(loop_factory=_loop_factory()) as runner,
            open(os.devnull, "w") as logs,
        ):
            per_request = runner.run(
                measure(folder, args.requests, args.misses, logs, calls, collections, args.by_id)
            )
    what = "miss" if args.misses else "hit"
    print(f"one response-cache {what} through the app: {per_request * 1e6:.1f} us of CPU")
    if collections is not None:
        print(collections.said(args.requests))
    if calls is not None:
        print(
            f"function calls per {what} on the event loop's thread: {calls[0] / args.requests:.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

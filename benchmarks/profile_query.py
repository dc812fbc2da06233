"""The personalization hot path over real HTTP, against the floor, in one run.

    python benchmarks/profile_query.py [--members 10000] [--seconds 8] [--clients 32]
        [--workers 1,2] [--hot 50] [--dir DIR] [--warm | --kept] [--warm-jobs 2]
        [--changes-per-s N] [--changes-pool 5000]

Generates ``--members`` demo people (``membergraph demo-data``), loads them into a SQLite
store once (``membergraph load``), then for each worker count starts ``membergraph serve
--workers N`` and, beside it, the *floor*: a bare Starlette route (same uvicorn, same worker
count) answering every request with the bytes the gateway answered for one profile. ``wrk``
(``apt-get install wrk``) sends ``memberByIdentifier`` (profile, loyalty, last 5
transactions) from ``--clients`` connections for ``--seconds`` each:

- ``distinct``: each request another e-mail, and each body unique (a request number among
  the variables, which GraphQL ignores): every request is a response-cache miss;
- ``hot``: the same ``--hot`` e-mails again and again (the personalization pattern). Before
  it, not measured, a fill asks them until every worker holds its answer to each
  (:func:`fill`): a miss in the hot run is the cache's, not a worker's first sight of one.

With ``--warm`` the gateway keeps answers in the store too (the response cache's second
level, ``MEMBERGRAPH_RESPONSE_CACHE_STORED_ENTRIES``, the query registered in a persisted query
manifest). The kept answers are shared by every worker and every worker count, so the run
goes: for each worker count its floor, ``distinct`` *cold* (the store's answers emptied
before it: nothing kept ahead; each answer kept after it is sent) and ``hot``; then, once,
``membergraph warm --jobs`` ``--warm-jobs`` answers the query for every e-mail the store
holds (its seconds, CPU and the answers kept printed, not measured as the server's); then
for each worker count ``distinct warm``, the same e-mails asked again, new bodies all, each
answered from the store, its ratio against that worker count's floor. The load average is
printed at the end (the machine may be shared).

``--kept`` measures a ``--dir`` whose store a warm of the code served filled (a ``--warm``
run's, or ``membergraph warm``'s): for each worker count its floor, ``distinct warm`` and
``hot``, nothing emptied or warmed (minutes instead of a warm's ten at 100,000 people: runs
of two versions can take turns, each over its own copy of the store).

``--changes-per-s N`` (with ``--warm`` or ``--kept``) adds a run after each worker count's
``distinct warm``: *changes*, distinct bodies asking the first ``--changes-pool`` e-mails in
turn (each asked again every second or so) while purchases on those members' cards are
pushed to ``POST /ingest/transactions`` at N lines a second (:mod:`profile_changes`). Each
change drops the member's kept answers; her next request is a miss unless the gateway made
it again before (``MEMBERGRAPH_RESPONSE_CACHE_WARM``, set here for a release that has
``MEMBERGRAPH_RESPONSE_CACHE_WARM_AS``). Its row counts the store's
misses (``s.miss``) and the answers made again (``remade``); the pushes' own latency is
printed below it.

Requests carry the personalization service's API key (``profile:read``: personal data
masked; an answer unmasked with ``pii:read`` is never served from the cache). Measuring
starts once the server is idle after start (it scores the population then).

Prints req/s, p50, p99, the ratio to the floor's req/s, the server's CPU time per request
(its processes' user + system time over the run, divided by the requests: the figure other
load on the machine moves least), and the response cache's hits, misses, answers served
from the store (``stored``, with ``--warm``) and answers dropped (invalidated by the change feed, evicted by the bounds) during each run, from
``/metrics``. With several workers a scrape reads the sum of every worker's figures, each
as that worker last wrote them (at a scrape through it, else every 10 s): each count is
read once every worker has written its own after the traffic stopped (``MIRROR_S``,
outside the measured seconds). Read at once, a run was handed the other worker's last
seconds of the run before. ``--dir`` keeps the data and the store there and reuses them
(generating and loading 100,000 people takes minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from profile_changes import Changes, cards_of
from profile_warm import empty_answers, run_warm, warm_env
from profile_wrk import run_wrk as wrk_lookups

QUERY = """query Profile($value: String!) {
  memberByIdentifier(kind: EMAIL, value: $value) {
    id
    profile { firstName lastName emails { value } phones { value } }
    loyalty { pointsBalance tier lifetimeSpendCents }
    transactions(first: 5) { edges { node { occurredAt amountCents status } } }
  }
}"""

# The personalization service's credential: profile:read, personal data masked.
KEY = "personalization-benchmark-key"
FEEDER = "feeder-benchmark-key-0001"  # --changes-per-s: the pushes' credential
KEYS = {
    KEY: {"name": "personalization", "scopes": ["profile:read"]},
    FEEDER: {"name": "feeder", "scopes": ["ingest:write"]},
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(client: httpx.AsyncClient, url: str, limit: float = 600) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            if (await client.get(url)).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError("server did not become ready")


def run_wrk(
    url: str,
    emails: list[str],
    clients: int,
    seconds: float,
    folder: Path,
    unique: bool,
    close: bool = False,
) -> tuple[float, float, float, int]:
    """req/s, p50 ms, p99 ms and non-2xx answers of ``seconds`` of wrk asking the profile of
    each of ``emails`` in turn (:func:`profile_wrk.run_wrk`)."""
    return wrk_lookups(url, QUERY, KEY, emails, clients, seconds, folder, unique, close)


def floor_app() -> object:
    """The floor: a bare Starlette route answering the captured bytes (read from the file
    ``PROFILE_FLOOR_BODY`` names, with the media type in ``PROFILE_FLOOR_TYPE``)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    body = Path(os.environ["PROFILE_FLOOR_BODY"]).read_bytes()
    media_type = os.environ["PROFILE_FLOOR_TYPE"]

    async def graphql(request: Request) -> Response:
        await request.body()
        return Response(body, media_type=media_type)

    return Starlette(routes=[Route("/graphql", graphql, methods=["GET", "POST"])])


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "membergraph.cli", *args]


def prepare(folder: Path, members: int) -> tuple[Path, str]:
    """The demo folder and a store loaded from it, made once in ``folder``."""
    data, store = folder / "data", f"sqlite:///{folder / 'bench.db'}"
    if not (data / "truth.jsonl").exists():
        subprocess.run(_cli("demo-data", "--out", str(data), "--members", str(members)), check=True)
    if not (folder / "bench.db").exists():
        began = time.monotonic()
        subprocess.run(_cli("load", "--data", str(data), "--to", store), check=True)
        print(f"loaded in {time.monotonic() - began:.0f} s")
    return data, store


def newest_contacts(data: Path) -> list[dict[str, Any]]:
    """Each CRM contact's newest version (the demo exports some contacts' older versions
    too: one sent again as news, or asked by an e-mail only it gave, meets a former value)."""
    newest: dict[str, dict[str, Any]] = {}
    for line in (data / "crm.jsonl").read_bytes().splitlines():
        contact = orjson.loads(line)
        held = newest.get(contact["contact_id"])
        if held is None or str(contact.get("updated_at")) > str(held.get("updated_at")):
            newest[contact["contact_id"]] = contact
    return list(newest.values())


def unique_emails(data: Path) -> list[str]:
    """E-mails typed on exactly one CRM contact (a shared placeholder keys nobody), in each
    contact's newest version: one an older version gave and a newer one dropped is former
    and finds no one."""
    typed: dict[str, int] = {}
    for contact in newest_contacts(data):
        for email in {e.strip().lower() for e in contact["emails"]}:
            typed[email] = typed.get(email, 0) + 1
    emails = sorted(e for e, n in typed.items() if n == 1)
    random.Random(7).shuffle(emails)
    return emails


@contextmanager
def running(command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children (uvicorn's workers), from /proc."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def settle(pid: int, limit: float = 300) -> None:
    """Wait until the server is idle (below a tenth of a core over a second): what it does
    after it is ready (scoring the population) is not what is measured."""
    deadline = time.monotonic() + limit
    before = _cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(1)
        now = _cpu_seconds(pid)
        if now - before < 0.1:
            return
        before = now


# How long until every worker of ``serve --workers N`` has written its figures where a
# scrape through any of them reads them (each writes them every 10 s, and at a scrape
# through it), with a margin for a busy loop.
MIRROR_S = 12.0
_COUNTS = (
    "hits_total",
    "misses_total",
    "invalidations_total",
    "evictions_total",
    "stored_hits_total",
    "entries",
    "stored_misses_total",
    "remake_remade_total",
)
ENTRIES = 5  # answers held (every worker's), the last of the counts


def cache_counts(base: str, workers: int = 1) -> tuple[int, ...]:
    """The response cache's hits, misses, invalidations and evictions so far and the answers
    it holds (0 when /metrics has none), every worker's included (with several, once each
    has written its own: ``MIRROR_S``)."""
    if workers > 1:
        time.sleep(MIRROR_S)
    text = httpx.get(base + "/metrics", headers={"Authorization": f"Bearer {KEY}"}, timeout=30).text
    found = [
        re.search(rf"^membergraph_response_cache_{name} ([\d.e+]+)", text, re.M) for name in _COUNTS
    ]
    return tuple(int(float(f.group(1))) if f else 0 for f in found)


FILL_ROUNDS = 5


def fill(
    base: str, pool: list[str], clients: int, workers: int, folder: Path, pid: int
) -> tuple[int, ...]:
    """Ask the e-mails of ``pool`` until every worker holds its answer to each (the answers
    held grew by ``workers`` for each e-mail); the cache's counts then.

    Each round asks them for a second on a new connection per request. A connection kept
    alive stays with the worker that took it: a second over 32 of them left a worker that
    took few without some of the e-mails, and its first answers to them were counted as the
    hot run's misses. The e-mails must be new to the server and nothing else asked meanwhile
    (what is counted is answers held).
    """
    settle(pid)  # the answers of the run before are made and kept
    start = counts = cache_counts(base, workers)
    for _ in range(FILL_ROUNDS):
        run_wrk(base + "/graphql", pool, clients, 1, folder, unique=False, close=True)
        counts = cache_counts(base, workers)
        if counts[ENTRIES] - start[ENTRIES] >= workers * len(pool):
            return counts
    held = counts[ENTRIES] - start[ENTRIES]
    print(f"the fill left answers out: {held} held of {workers * len(pool)}", file=sys.stderr)
    return counts


@contextlib.asynccontextmanager
async def _serving(
    workers: int, data: Path, env: dict[str, str]
) -> AsyncIterator[tuple[str, subprocess.Popen[bytes]]]:
    """``membergraph serve --workers N`` over the store, ready and idle: its base URL."""
    port = free_port()
    serve = _cli("serve", "--data", str(data), "--port", str(port), "--no-open")
    with running([*serve, "--workers", str(workers)], env) as server:
        async with httpx.AsyncClient(timeout=60) as probe:
            await wait_ready(probe, f"http://127.0.0.1:{port}/readyz")
        await asyncio.to_thread(settle, server.pid)
        yield f"http://127.0.0.1:{port}", server


def _env(args: argparse.Namespace, store: str, tmp: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "MEMBERGRAPH_STORE": store,
        "MEMBERGRAPH_API_KEYS": orjson.dumps(KEYS).decode(),
    }
    if not args.warm:
        return env
    from membergraph.settings import Settings

    if "response_cache_warm_as" in Settings.model_fields:  # (a release that re-makes)
        env["MEMBERGRAPH_RESPONSE_CACHE_WARM"] = '["Profile"]'
        env["MEMBERGRAPH_RESPONSE_CACHE_WARM_AS"] = "personalization"
    return env | warm_env(QUERY, tmp)


async def measure(
    args: argparse.Namespace, workers: int, data: Path, store: str, emails: list[str], tmp: Path
) -> tuple[list[str], float]:
    """The floor, ``distinct`` (cold: no answer kept in the store) and ``hot``, served by
    ``workers`` workers: their rows, and the floor's req/s."""
    env = _env(args, store, tmp)
    if args.warm and not args.kept:
        empty_answers(store)
    floor_port = free_port()
    floor = f"http://127.0.0.1:{floor_port}"
    rows = []
    async with _serving(workers, data, env) as (base, server):
        async with httpx.AsyncClient(timeout=60) as probe:
            answer = await probe.post(
                base + "/graphql",
                json={"query": QUERY, "variables": {"value": emails[0]}},
                headers={"Authorization": f"Bearer {KEY}"},
            )
        assert answer.status_code == 200 and b'"errors"' not in answer.content, answer.text
        (tmp / "floor.json").write_bytes(answer.content)
        floor_env = {
            **os.environ,
            "PROFILE_FLOOR_BODY": str(tmp / "floor.json"),
            "PROFILE_FLOOR_TYPE": answer.headers["content-type"],
            "PYTHONPATH": str(Path(__file__).parent),
        }
        uvicorn = [sys.executable, "-m", "uvicorn", "--factory", "profile_query:floor_app"]
        floor_cmd = [*uvicorn, "--port", str(floor_port), "--workers", str(workers)]
        floor_cmd += ["--log-level", "warning", "--no-access-log"]
        with running(floor_cmd, floor_env) as floor_server:
            async with httpx.AsyncClient(timeout=60) as probe:
                await wait_ready(probe, floor + "/graphql")
            cpu = _cpu_seconds(floor_server.pid)
            floor_rate = run_wrk(floor + "/graphql", emails, args.clients, args.seconds, tmp, False)
            floor_cpu = _cpu_seconds(floor_server.pid) - cpu
        if not args.kept:  # (distinct warm is measured from a server's start, as with --warm)
            run_wrk(base + "/graphql", emails, args.clients, 2, tmp, True)  # warm-up
        if args.warm and not args.kept:  # the warm-up's answers are not the cold run's
            await asyncio.to_thread(settle, server.pid)
            empty_answers(store)
        rows.append(
            _row("floor", workers, floor_rate, floor_rate[0], (0,) * len(_COUNTS), floor_cpu, args)
        )
        hot = emails[: args.hot]
        distinct = "distinct warm" if args.kept else "distinct"
        for name, pool, unique in [(distinct, emails, True), (f"hot {args.hot}", hot, False)]:
            rows.append(
                await _run(args, name, workers, base, server, pool, unique, floor_rate, tmp)
            )
        if args.kept and args.changes_per_s:
            rows += await _changing(args, workers, base, server, data, emails, floor_rate, tmp)
    return rows, floor_rate[0]


async def _changing(
    args: argparse.Namespace,
    workers: int,
    base: str,
    server: subprocess.Popen[bytes],
    data: Path,
    emails: list[str],
    floor: tuple[float, float, float, int],
    tmp: Path,
) -> list[str]:
    """``changes``: the first ``--changes-pool`` e-mails asked while purchases on their
    members' cards arrive (``--changes-per-s``); its row, and what the pushes saw."""
    pool = emails[: args.changes_pool]
    cards = cards_of(newest_contacts(data), pool)
    name = f"changes {args.changes_per_s:g}/s"
    changes = Changes(base, FEEDER, cards, args.changes_per_s, f"{time.time_ns()}")
    row = await _run(args, name, workers, base, server, pool, True, floor, tmp, changes)
    return [row, f"  {changes.said()}"]


async def measure_warmed(
    args: argparse.Namespace,
    workers: int,
    data: Path,
    store: str,
    emails: list[str],
    tmp: Path,
    floor: float,
) -> str:
    """``distinct warm``: every e-mail asked again (new bodies all) of ``workers`` workers
    over the store a warm filled; its row against that worker count's floor."""
    async with _serving(workers, data, _env(args, store, tmp)) as (base, server):
        figures = (floor, 0.0, 0.0, 0)
        row = await _run(args, "distinct warm", workers, base, server, emails, True, figures, tmp)
        if args.changes_per_s:
            more = await _changing(args, workers, base, server, data, emails, figures, tmp)
            row = "\n".join([row, *more])
        return row


async def _run(
    args: argparse.Namespace,
    name: str,
    workers: int,
    base: str,
    server: subprocess.Popen[bytes],
    pool: list[str],
    unique: bool,
    floor: tuple[float, float, float, int],
    tmp: Path,
    during: contextlib.AbstractContextManager[object] | None = None,
) -> str:
    """One measured run of wrk over ``pool``: its row (a hot one after its fill);
    ``during``: entered for wrk's seconds only (the changes' pushes)."""
    if unique:
        before = await asyncio.to_thread(cache_counts, base, workers)
    else:
        before = await asyncio.to_thread(fill, base, pool, args.clients, workers, tmp, server.pid)
    cpu = _cpu_seconds(server.pid)
    with during or contextlib.nullcontext():
        figures = run_wrk(base + "/graphql", pool, args.clients, args.seconds, tmp, unique)
    cpu = _cpu_seconds(server.pid) - cpu
    after = await asyncio.to_thread(cache_counts, base, workers)
    counts = tuple(a - b for a, b in zip(after, before, strict=True))
    return _row(name, workers, figures, floor[0], counts, cpu, args)


def _row(
    name: str,
    workers: int,
    figures: tuple[float, float, float, int],
    floor: float,
    counts: tuple[int, ...],
    cpu: float,
    args: argparse.Namespace,
) -> str:
    rate, p50, p99, errors = figures
    hits, misses, invalidated, evicted, stored, _, stored_missed, remade = counts
    cpu_ms = cpu * 1000 / max(rate * args.seconds, 1)
    return (
        f"{name:<13} {workers:>7} {rate:>8.0f} {p50:>7.1f} {p99:>7.1f} {rate / floor:>6.3f}"
        f" {cpu_ms:>7.3f} {hits:>7} {misses:>7} {invalidated:>7} {evicted:>7} {stored:>7}"
        f" {stored_missed:>7} {remade:>7} {errors:>6}"
    )


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--members", type=int, default=10_000, help="demo people")
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", default="1,2", help="worker counts, comma-separated")
    parser.add_argument("--hot", type=int, default=50, help="members of the hot pool")
    parser.add_argument("--dir", type=Path, default=None, help="keep data and store here")
    parser.add_argument(
        "--warm", action="store_true", help="answers kept in the store: cold, then warmed"
    )
    parser.add_argument(
        "--kept",
        action="store_true",
        help="answers kept in the store by a warm of the code served (--dir of a --warm run):"
        " the floor, distinct warm and hot only",
    )
    parser.add_argument(
        "--warm-jobs", type=int, default=2, help="processes of the warm (membergraph warm --jobs)"
    )
    parser.add_argument(
        "--changes-per-s",
        type=float,
        default=0,
        help="with --warm/--kept: a run of purchases pushed at this rate while wrk asks",
    )
    parser.add_argument(
        "--changes-pool", type=int, default=5000, help="e-mails the changes run asks and changes"
    )
    args = parser.parse_args()
    args.warm = args.warm or args.kept
    from mixed_load import machine  # here: mixed_load imports this module

    if shutil.which("wrk") is None:
        print("wrk is needed: apt-get install wrk", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as scratch:
        tmp = Path(scratch)
        folder = args.dir or tmp
        folder.mkdir(parents=True, exist_ok=True)
        data, store = prepare(folder, args.members)
        emails = unique_emails(data)
        print(
            f"machine: {machine()}; {args.members} people ({len(emails)} e-mails asked),"
            f" {args.clients} connections (wrk), {args.seconds:g} s each"
        )
        print(
            f"{'lookup':<13} {'workers':>7} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7}"
            f" {'floor':>6} {'cpu ms':>7} {'hits':>7} {'misses':>7} {'invalid':>7}"
            f" {'evicted':>7} {'stored':>7} {'s.miss':>7} {'remade':>7} {'errors':>6}"
        )
        counts = [int(w) for w in args.workers.split(",")]
        floors = {}
        for workers in counts:
            rows, floors[workers] = await measure(args, workers, data, store, emails, tmp)
            for row in rows:
                print(row, flush=True)
        if args.warm and not args.kept:
            # Once for every worker count: the store's answers serve every worker alike.
            empty_answers(store)
            print(run_warm(data, _env(args, store, tmp), args.warm_jobs), flush=True)
            for workers in counts:
                row = await measure_warmed(args, workers, data, store, emails, tmp, floors[workers])
                print(row, flush=True)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))

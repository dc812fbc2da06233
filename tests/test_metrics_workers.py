"""``serve --workers N`` shares its workers' metrics: a scrape through any worker reads the
sum of all (prometheus_client's multiprocess files), the figures a worker reads from its own
state at scrape time (source calls, cache counts) included. Each "worker" here is a real
process, as uvicorn's are, with the directory ``serve`` sets for them."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

WORKER = textwrap.dedent(
    """
    import asyncio, sys
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
    from membergraph.observability import Telemetry

    class Held:  # what a part of the gateway counts itself, read at scrape time
        def __init__(self, calls, entries):
            self.calls, self.entries = calls, entries
        def collect(self):
            yield CounterMetricFamily("membergraph_test_calls", "calls", value=self.calls)
            yield GaugeMetricFamily("membergraph_response_cache_entries", "held", value=self.entries)

    telemetry = Telemetry()
    held = Held(int(sys.argv[1]), int(sys.argv[2]))
    telemetry.add(held)
    for _ in range(int(sys.argv[1])):
        telemetry.request_seconds("/graphql", "POST", 200).observe(0.01)

    async def serve():  # as a worker's lifespan runs it: no metrics port of its own here
        async with telemetry.own_port("127.0.0.1", None):
            await telemetry.scrape()  # a scrape through this worker writes its live figures
            held.calls += 2  # grown since: a scrape adds what it grew by, not all again
            print((await telemetry.scrape()).decode())

    asyncio.run(serve())
    """
)


def _value(text: str, name: str) -> float:
    return float(next(line.split()[-1] for line in text.splitlines() if line.startswith(name)))


def _env(figures: Path) -> dict[str, str]:
    """A worker's environment: the figures' directory ``serve`` sets for its workers."""
    return {
        "PROMETHEUS_MULTIPROC_DIR": str(figures),
        "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
    }


def _scraped_elsewhere(
    figures: Path, script: str, ready: str, name: str, want: float
) -> tuple[list[float | None], str]:
    """Runs ``script`` as a worker nobody scrapes through; once it prints ``ready``, reads
    every worker's figures as another worker's scrape would, every 0.1 s for 5 s at most,
    until ``name`` reads ``want``. Returns what each scrape read of ``name`` (None while it
    was absent) and the last scrape's text."""
    with subprocess.Popen(
        [sys.executable, "-c", script], env=_env(figures), stdout=subprocess.PIPE, text=True
    ) as worker:
        try:
            assert worker.stdout is not None and worker.stdout.readline().strip() == ready
            shared = CollectorRegistry()
            MultiProcessCollector(shared, path=str(figures))  # type: ignore[no-untyped-call]
            seen: list[float | None] = []
            for _ in range(50):
                text = generate_latest(shared).decode()
                seen.append(_value(text, name) if name in text else None)
                if seen[-1] == want:
                    break
                time.sleep(0.1)
            return seen, text
        finally:
            worker.kill()


def _worker(figures: Path, calls: int, entries: int) -> str:
    done = subprocess.run(
        [sys.executable, "-c", WORKER, str(calls), str(entries)],
        env=_env(figures),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_a_scrape_through_any_worker_reads_every_workers_figures(tmp_path: Path) -> None:
    # Given two workers that answered 3 and 4 requests, their parts counting 3 + 2 and 4 + 2
    # calls and holding 5 and 6 cache entries
    _worker(tmp_path, 3, 5)
    scraped = _worker(tmp_path, 4, 6)
    # Then the second's scrape counts both workers' requests and calls
    requests = 'membergraph_http_request_seconds_count{method="POST",route="/graphql",status="200"}'
    assert _value(scraped, requests) == 7.0
    assert _value(scraped, "membergraph_test_calls_total") == 11.0
    # and a gauge of live state is the live workers' (the first has ended: its counters
    # stay, its cache went with it)
    assert _value(scraped, "membergraph_response_cache_entries") == 6.0


GROWING = textwrap.dedent(
    """
    import asyncio
    from prometheus_client.core import CounterMetricFamily
    from membergraph.observability import Telemetry

    class Held:
        calls = 1
        def collect(self):
            yield CounterMetricFamily("membergraph_test_calls", "calls", value=self.calls)

    telemetry, held = Telemetry(), Held()
    telemetry.add(held)

    async def serve():  # a worker's lifespan, nobody scraping through it
        async with telemetry.own_port("127.0.0.1", None):
            await asyncio.sleep(0.5)
            held.calls = 5  # its part counted 4 more calls
            print("grown", flush=True)
            await asyncio.sleep(60)

    asyncio.run(serve())
    """
)


def test_a_scrape_through_another_worker_sees_a_workers_figures_within_seconds(
    tmp_path: Path,
) -> None:
    # Given a worker whose part counts 4 more calls while nobody scrapes through it
    # When another worker is scraped in the next 5 seconds (writes were 10 s apart)
    seen, _ = _scraped_elsewhere(tmp_path, GROWING, "grown", "membergraph_test_calls_total", 5.0)
    # Then it shows them: the worker wrote its figures within the feed's bound
    assert seen[-1] == 5.0, seen


COUNTING = textwrap.dedent(
    """
    import asyncio
    from types import SimpleNamespace
    from membergraph.observability import Telemetry

    class Store:  # the store's counts and feed, as a worker's gateway reads them
        members, head = 1, 10
        async def ping(self):
            return {"records": 2 * self.members, "members": self.members, "links": 0}
        async def feed_head(self):
            return self.head

    store = Store()
    gateway = SimpleNamespace(
        identity=SimpleNamespace(store=store), feed=SimpleNamespace(position=10), sources={}
    )
    telemetry = Telemetry()
    telemetry.watch(gateway)

    async def serve():  # a worker's lifespan, nobody scraping through it
        async with telemetry.own_port("127.0.0.1", None):
            await asyncio.sleep(1.5)
            store.members, store.head = 2, 11  # a member made: one change on the feed
            print("changed", flush=True)
            await asyncio.sleep(60)

    asyncio.run(serve())
    """
)


def test_the_stores_counts_are_as_fresh_as_a_workers_own_figures(tmp_path: Path) -> None:
    # Given a worker whose store gains a member (its feed moves) while nobody scrapes it
    # When the metrics port (another worker) is scraped in the next 5 seconds (the counts
    # were read 10 s apart)
    members = 'membergraph_identity{what="members"}'
    seen, text = _scraped_elsewhere(tmp_path, COUNTING, "changed", members, 2.0)
    # Then it shows the new count, within the feed's bound as the other figures
    assert seen[-1] == 2.0, seen
    assert _value(text, "membergraph_feed_behind_entries") == 1.0


FEEDING = textwrap.dedent(
    """
    import asyncio, sys
    from types import SimpleNamespace
    from membergraph.connectors.models import SourceName
    from membergraph.observability import Telemetry

    position, head, circuit, calls = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], 3

    class Store:  # the store's counts and feed, as a worker's gateway reads them
        async def ping(self):
            return {"records": 2, "members": 1, "links": 0}
        async def feed_head(self):
            return head

    gateway = SimpleNamespace(
        identity=SimpleNamespace(store=Store()),
        feed=SimpleNamespace(position=position, dropped=0, reads=1),
        sources={SourceName.CRM: SimpleNamespace(calls=calls, circuit=circuit)},
    )
    telemetry = Telemetry()
    telemetry.watch(gateway)

    async def serve():  # a worker's lifespan
        async with telemetry.own_port("127.0.0.1", None):
            text = (await telemetry.scrape()).decode()  # its live figures written
            print("written", flush=True)
            print(text, flush=True)
            await asyncio.sleep(60)

    asyncio.run(serve())
    """
)


def test_a_killed_workers_live_figures_leave_every_scrape(tmp_path: Path) -> None:
    # Given a worker whose feed is at 5 of 12, its source's circuit open, killed (kill -9:
    # no goodbye, its files left behind) after writing its figures
    args = [sys.executable, "-c", FEEDING]
    with subprocess.Popen(
        [*args, "5", "12", "open"], env=_env(tmp_path), stdout=subprocess.PIPE, text=True
    ) as dead:
        assert dead.stdout is not None and dead.stdout.readline().strip() == "written"
        dead.kill()
    assert any(p.name.startswith("gauge_live") for p in tmp_path.iterdir())
    # When the worker uvicorn starts in its place (feed read to the head, 20; circuit
    # closed) is scraped
    with subprocess.Popen(
        [*args, "20", "20", "closed"], env=_env(tmp_path), stdout=subprocess.PIPE, text=True
    ) as live:
        try:
            assert live.stdout is not None and live.stdout.readline().strip() == "written"
            text = "".join(iter(live.stdout.readline, "\n"))
        finally:
            live.kill()
    # Then the live-state gauges are the live worker's alone: the feed position is its, not
    # the dead one's 5 for good, nothing is behind, no circuit is open
    assert _value(text, "membergraph_feed_position") == 20.0
    assert _value(text, "membergraph_feed_behind_entries") == 0.0
    assert _value(text, 'membergraph_source_circuit{source="crm"}') == 0.0
    # and the counters keep what the dead worker counted (3 calls each)
    assert _value(text, 'membergraph_source_calls_total{source="crm"}') == 6.0

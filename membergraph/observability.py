"""What operators see: Prometheus metrics (each request's id, latency and access line:
:mod:`membergraph.request_telemetry`; the log lines themselves: :mod:`membergraph.logs`).

Each app has its own :class:`Telemetry` (its own registry, so several apps in one process,
as in the tests, never mix figures). Under ``serve --workers N`` the workers share their
figures through prometheus_client's multiprocess files (``PROMETHEUS_MULTIPROC_DIR``, which
``serve`` makes and removes): a scrape of ``/metrics`` through any worker, or of the metrics
port, reads the sum of all of them, so counters never jump back when another worker answers.
A gauge of live state counts the live workers only: a worker that ends removes its own, and
a worker killed (``kill -9``, the OOM killer: uvicorn starts another) is dropped at the next
scrape, its process gone (:class:`_LiveWorkers`).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import glob
import itertools
import logging
import os
import re
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Literal

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from membergraph.auth import caller_of
from membergraph.connectors.sources import SOURCES
from membergraph.ingest_answers import OUTCOMES, Pushed
from membergraph.metrics_server import serve_metrics
from membergraph.privacy.figures import ErasureFigures
from membergraph.processes import alive

if TYPE_CHECKING:
    from membergraph.gateway_parts import Gateway

__all__ = ["Telemetry", "metrics_endpoint"]

_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_CIRCUIT = {"closed": 0, "half_open": 1, "open": 2}

logger = logging.getLogger(__name__)


_KEPT_CHILDREN = 1024
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
"""Where the workers of ``serve --workers N`` keep their figures (prometheus_client reads it
when it is imported: set before the workers start)."""
_Merged = Literal["livemin", "livesum", "livemax"]
_MERGED: dict[
    str, _Merged
] = {  # how a live figure of each worker combines with the others' (default: livemax)
    "membergraph_feed_position": "livemin",  # the worker furthest behind
    "membergraph_response_cache_entries": "livesum",
    "membergraph_response_cache_bytes": "livesum",
}


class Telemetry:
    """The app's metrics. Request, source and error figures are counted as they happen;
    store and feed figures are read at scrape time (:meth:`scrape`)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.gateway: Gateway | None = None
        self.tracer: Any = None  # an OpenTelemetry tracer when traces are on
        r = self.registry
        self._request_seconds: dict[tuple[str, str, int], Any] = {}
        self.requests = Histogram(
            "membergraph_http_request_seconds",
            "HTTP requests by route, method and status, with their latency.",
            ["route", "method", "status"],
            buckets=_SECONDS,
            registry=r,
        )
        self.errors = Counter(
            "membergraph_graphql_errors",
            "GraphQL errors answered, by extensions.code.",
            ["code"],
            registry=r,
        )
        self.source_seconds = Histogram(
            "membergraph_source_call_seconds",
            "Batch calls to each source, by outcome (ok, timeout, error, refused).",
            ["source", "outcome"],
            buckets=_SECONDS,
            registry=r,
        )
        self.identity = Gauge(
            "membergraph_identity",
            "Records, members and active links in the identity store.",
            ["what"],
            registry=r,
            multiprocess_mode="mostrecent",  # the store's, whichever worker read it
        )
        self.feed_behind = Gauge(
            "membergraph_feed_behind_entries",
            "Change-feed entries the store holds that this process has not read yet.",
            registry=r,
            multiprocess_mode="livemax",
        )
        self.pushed_lines = Counter(
            "membergraph_ingest_lines",
            "Lines pushed to POST /ingest, by source and by what each was answered (created,"
            " updated, unchanged, stale, rejected, unattributed, suppressed).",
            ["source", "outcome"],
            registry=r,
        )
        for source, outcome in itertools.product(SOURCES, OUTCOMES):
            self.pushed_lines.labels(source.value, outcome)  # (each at 0 until it counts)
        self.as_sent_lines = Counter(
            "membergraph_ingest_lines_as_sent",
            "Purchase lines pushed in a currency with no exchange rate"
            " (MEMBERGRAPH_EXCHANGE_RATES), by currency: their amounts count in spend as sent.",
            ["currency"],
            registry=r,
        )
        self.live: list[Collector] = []
        """Collectors reading this process's state at scrape time (:meth:`add`)."""
        self.shared: CollectorRegistry | None = None
        """Every worker's figures, under ``serve --workers N`` (None: one process)."""
        self._mirror = _Mirror()
        if os.environ.get(MULTIPROCESS_DIR):
            self.shared = CollectorRegistry()
            _LiveWorkers(self.shared)  # type: ignore[no-untyped-call]
        self.add(_GatewayFigures(self))
        self.erasures = ErasureFigures()
        self.add(self.erasures)

    def add(self, collector: Collector) -> None:
        """Figures a part of the gateway keeps itself, read as they are at scrape time."""
        self.registry.register(collector)
        self.live.append(collector)

    def request_seconds(self, route: str, method: str, status: int) -> Any:
        """The latency histogram of one route, method and status. Its child is kept: each
        ``labels()`` call takes a lock and builds the label key again."""
        key = (route, method, status)
        found = self._request_seconds.get(key)
        if found is None:
            found = self.requests.labels(route, method, str(status))
            if len(self._request_seconds) < _KEPT_CHILDREN:  # methods are the client's words
                self._request_seconds[key] = found
        return found

    def watch(self, gateway: Gateway) -> None:
        """Read ``gateway``'s figures from now on, and time its sources' calls."""
        self.gateway = gateway
        for conn in gateway.sources.values():
            conn.observe = self.source_call

    def pushed(self, source: str, pushed: Pushed) -> None:
        """Count a push's lines by what each was answered, and those counted as sent."""
        for outcome, n in collections.Counter(line["status"] for line in pushed.lines).items():
            self.pushed_lines.labels(source, outcome).inc(n)
        for currency, n in pushed.as_sent.items():
            self.as_sent_lines.labels(currency).inc(n)

    def source_call(self, source: str, seconds: float, outcome: str) -> None:
        self.source_seconds.labels(source, outcome).observe(seconds)

    async def scrape(self) -> bytes:
        """The Prometheus text, after reading what only the store knows."""
        await self.refresh()
        return generate_latest(self.shared or self.registry)

    async def refresh(self) -> None:
        """Read the figures only the store knows (its counts, the feed's head); under
        ``serve --workers N``, also write this worker's live figures where the others read."""
        await self._read_store()
        if self.shared is not None:
            self._mirror.write(self.live)

    async def _read_store(self, seen: int | None = None) -> int | None:
        """Read the feed's head (how far behind this process is) and, unless the head is
        still ``seen``, the store's counts: every change to the store is on its feed, so
        the counts move only with the head. Returns the head (None: not read)."""
        gateway = self.gateway
        if gateway is None:
            return None
        from membergraph.identity.store import StoreError

        store = gateway.identity.store
        try:
            head = await store.feed_head()
            counts = await store.ping() if head != seen else {}
        except StoreError:
            return None
        for what, value in counts.items():
            self.identity.labels(what).set(value)
        if gateway.feed is not None:
            self.feed_behind.set(max(head - gateway.feed.position, 0))
        if counts:  # (read with the counts: at each scrape, and every 10 s when served)
            with contextlib.suppress(StoreError):
                await self.erasures.read(gateway)
        return head

    @contextlib.asynccontextmanager
    async def own_port(
        self, host: str, port: int | None, loopback_only: bool = False
    ) -> AsyncIterator[None]:
        """Serve ``/metrics`` without credentials on ``port`` (None: no port) for as long
        as the block runs; ``loopback_only`` (demo mode): to requests naming this machine's
        loopback as their host only, as the main port (:mod:`membergraph.metrics_server`).
        While it serves the port, or shares figures with other workers, the store's figures
        are read again every ``_MIRROR_S`` seconds: the feed's head each time, the counts
        when the head moved and every ``_STORE_EVERY`` turns whatever it says. Under ``serve
        --workers N`` one worker serves the port with the figures of all: each worker writes
        its own every ``_MIRROR_S`` seconds, and at a scrape through it."""
        server = thread = None
        if port is not None:
            try:
                registry = self.shared or self.registry
                server, thread = serve_metrics(host, port, registry, loopback_only)
            except OSError as exc:
                if self.shared is None:
                    logger.warning("metrics port %s:%d not served: %s", host, port, exc)
                # else another worker of `serve --workers N` serves it, all workers' figures
        task = None
        if server is not None or self.shared is not None:
            task = asyncio.create_task(self._refreshing(), name="metrics-refresh")
        try:
            yield
        finally:
            if task is not None:
                task.cancel()
            if server is not None and thread is not None:
                server.shutdown()
                server.server_close()
                thread.join(timeout=5)
            if self.shared is not None:  # its live figures leave with it
                mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    async def _refreshing(self) -> None:
        # A worker's own figures every second (a scrape through another worker is then no
        # staler than the feed a cache follows), and the store's as fresh: the feed's head
        # each second (an index read), the counts (a count of each table, linear in the
        # store's size) only when it moved, and every _STORE_EVERY turns whatever it says.
        seen: int | None = None
        for turn in itertools.count():
            with contextlib.suppress(Exception):
                seen = await self._read_store(None if turn % _STORE_EVERY == 0 else seen)
                if self.shared is not None:
                    self._mirror.write(self.live)
            await asyncio.sleep(_MIRROR_S)


class _LiveWorkers(MultiProcessCollector):
    """Every worker's figures, a gauge of live state (``live*`` modes) from the live workers
    only. A worker that ends well removes its gauges (``mark_process_dead``); one killed
    leaves its files behind, and its last figures would stay in every scrape for good (the
    furthest-behind feed position held at a dead worker's). A worker's files are named
    after its pid: they drop out when that process is gone. The pid, not the files' age: a
    worker busy for seconds on one request is alive and its figures true, and a file written
    through a memory map does not say reliably when it was last written."""

    def collect(self) -> Iterator[Metric]:
        files = []
        for path in glob.glob(os.path.join(self._path, "*.db")):
            found = _LIVE_FILE.fullmatch(os.path.basename(path))
            if found is not None and not alive(int(found[1])):
                with contextlib.suppress(OSError):  # another worker's scrape may remove it
                    os.remove(path)
                continue
            files.append(path)
        return self.merge(files, accumulate=True)  # type: ignore[no-untyped-call,no-any-return]


_LIVE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


_MIRROR_S = 1.0  # a worker's own figures written every second, at most this stale
_STORE_EVERY = 10  # the store's counts read every 10 s whatever the feed says


class _Mirror:
    """This process's live figures (collectors reading its state at scrape time) written to
    prometheus_client's multiprocess files, where a scrape through any worker reads them: a
    counter as what it grew by since the last write, a gauge as it is (combined across
    workers as ``_MERGED`` says)."""

    def __init__(self) -> None:
        self._metrics: dict[str, Any] = {}
        self._written: dict[tuple[str, tuple[str, ...]], float] = {}

    def write(self, collectors: list[Collector]) -> None:
        for collector in collectors:
            for family in collector.collect():
                for sample in family.samples:
                    if family.type == "counter" and not sample.name.endswith("_total"):
                        continue  # a counter's _created time: each worker has its own
                    names = tuple(sorted(sample.labels))
                    values = tuple(sample.labels[n] for n in names)
                    metric = self._metric(family, names)
                    child = metric.labels(*values) if names else metric
                    if family.type == "counter":
                        key = (sample.name, values)
                        grown = sample.value - self._written.get(key, 0.0)
                        if grown > 0:
                            child.inc(grown)
                        self._written[key] = sample.value
                    else:
                        child.set(sample.value)

    def _metric(self, family: Metric, labels: tuple[str, ...]) -> Any:
        found = self._metrics.get(family.name)
        if found is None:
            if family.type == "counter":
                found = Counter(family.name, family.documentation, labels, registry=None)
            else:
                mode: _Merged = _MERGED.get(family.name, "livemax")
                found = Gauge(
                    family.name, family.documentation, labels, registry=None,
                    multiprocess_mode=mode,
                )  # fmt: skip
            self._metrics[family.name] = found
        return found


async def metrics_endpoint(request: Request) -> Response:
    """``/metrics``: the Prometheus text of the app's :class:`Telemetry`; not for a token
    bound to a member (a frontend app's, held by every customer's browser), nor for a push
    source's key (``ingest:write`` alone, on every till): the figures span every member (how
    many there are, every route's traffic and errors)."""
    caller = caller_of(request)
    if caller.member_id is not None:
        whose = "a token bound to a member (its member_id claim)"
    elif caller.scopes == {"ingest:write"}:
        whose = "a push source's key (ingest:write alone: it pushes lines)"
    else:
        telemetry: Telemetry = request.app.state.telemetry
        return Response(await telemetry.scrape(), media_type=CONTENT_TYPE_LATEST)
    refused = (
        f"the metrics are refused to {whose}: they span every member; scrape them with an"
        " operator's key or on the metrics port"
    )
    return JSONResponse({"error": refused}, 403)


class _GatewayFigures(Collector):
    """Figures the gateway's parts keep themselves, read as they are at scrape time."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    def collect(self) -> Iterator[Metric]:
        gateway = self.telemetry.gateway
        if gateway is None:
            return
        calls = CounterMetricFamily(
            "membergraph_source_calls", "Batch calls made to each source.", labels=["source"]
        )
        circuit = GaugeMetricFamily(
            "membergraph_source_circuit",
            "Each source's circuit: 0 closed, 1 half open (one trial call), 2 open.",
            labels=["source"],
        )
        malformed = GaugeMetricFamily(
            "membergraph_source_malformed_lines",
            "Lines skipped as malformed at load.",
            labels=["source"],
        )
        for name, conn in gateway.sources.items():
            calls.add_metric([name.value], conn.calls)
            circuit.add_metric([name.value], _CIRCUIT.get(conn.circuit, 2))
            report = getattr(conn, "report", None)
            if report is not None:
                malformed.add_metric([name.value], report.malformed)
        yield from (calls, circuit, malformed)
        feed = gateway.feed
        position = GaugeMetricFamily(
            "membergraph_feed_position", "The newest change-feed cursor this process has read."
        )
        dropped = CounterMetricFamily(
            "membergraph_member_changes_dropped",
            "Subscriptions cut off for not keeping up with the changes (each resumes with after).",
        )
        reads = CounterMetricFamily(
            "membergraph_feed_reads",
            "Reads of the change feed (each poll and each catch-up after a local change).",
        )
        position.add_metric([], feed.position if feed else 0)
        dropped.add_metric([], feed.dropped if feed else 0)
        reads.add_metric([], feed.reads if feed else 0)
        yield from (position, dropped, reads)

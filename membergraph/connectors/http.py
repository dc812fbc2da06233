"""The HTTP backend: a source behind a JSON API (how real CRMs and call-center tools are reached).

The API a source must answer (a vendor's API, or a thin adapter in front of it)::

    GET {base_url}{lookup_path}?key=K1&key=K2...   -> a JSON array of lines (the DESIGN format)
    GET {base_url}{list_path}?limit=N[&after=C]    -> {"lines": [...], "next": C or null}
    GET {base_url}{list_path}?limit=N&{since_param}=T[&after=C]   (optional: changed lines)

``key`` is the record key a line belongs to (``C1``, ``loyalty:LD1``, an anonymous id...);
the gateway groups the answer by that key itself, so the API need not. The listing is read
by ``membergraph sync`` (:mod:`membergraph.sync`), never at a start; with ``since_param`` the
API answers only lines whose ``since_field`` is at or after ``T``, so a sync reads only what
changed since the one before. One request carries
up to ``batch_size`` keys (1 for an API that only looks up one at a time). Each request has
its own timeout, its whole answer read within it; a 5xx answer or a connection error is
retried ``retries`` times with exponential backoff; a 4xx, a timeout or an unreadable
answer is not. Every failure becomes one of our :class:`ConnectorError` types here, at the boundary.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
from pydantic import BaseModel, Field, SecretStr

from membergraph.connectors.base import (
    ConnectorError,
    SourceConnector,
    SourceTimeout,
    SourceUnavailable,
)
from membergraph.connectors.json_flaws import flawed_lines, strict_json
from membergraph.connectors.lines import LineError, Owner, parse_line
from membergraph.connectors.sources import SourceSpec
from membergraph.trace_spans import in_trace

__all__ = ["HttpSource", "HttpSourceConfig", "ListingPage", "ListingWalk"]

logger = logging.getLogger(__name__)
Param = str | int | float | bool | None
_RETRIED = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)


class _AnswerTooLarge(Exception):
    """An answer longer than the source's ``max_answer_bytes``."""


class HttpSourceConfig(BaseModel):
    """One source's API (``MEMBERGRAPH_HTTP_SOURCES='{"crm": {"base_url": ...}}'``)."""

    base_url: str = Field(pattern=r"^https?://")
    lookup_path: str = "/{source}/lines"
    list_path: str | None = "/{source}/all"
    batch_size: int = Field(default=100, ge=1, le=1000)
    page_size: int = Field(default=1000, ge=1, le=10_000)
    auth_header: str | None = None
    auth_value: SecretStr | None = None
    timeout: float = Field(default=2.0, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    backoff: float = Field(default=0.1, ge=0)
    since_param: str | None = Field(
        default=None,
        description="Query parameter of the listing that asks for lines changed at or after a"
        " time (e.g. updated_since); unset: every sync reads the whole listing.",
    )
    since_field: str = Field(
        default="updated_at",
        description="The lines' field the API compares with since_param (ISO 8601 times).",
    )
    list_timeout: float = Field(
        default=60.0,
        gt=0,
        description="The longest one listing page (sync, scan) may take to arrive whole; each"
        " read within it is bounded by timeout. A lookup's whole answer is bounded by timeout.",
    )
    max_answer_bytes: int = Field(
        default=64 << 20,
        ge=1024,
        description="The largest answer read, decompressed: a bigger one (a gzip bomb, a"
        " runaway listing) fails the request instead of the process's memory.",
    )

    def budget(self) -> float:
        """The longest one batch may take: every attempt's timeout and every backoff."""
        waits = sum(self.backoff * 2**n for n in range(self.retries))
        return float(self.timeout * (self.retries + 1) + waits)


@dataclass(frozen=True, slots=True)
class ListingPage:
    """One page of a source's listing, its lines as the API wrote them (each validated by
    whoever takes it); ``next``: the cursor of the following page, None after the last."""

    lines: list[Any]
    next: str | None


@dataclass(slots=True)
class ListingWalk:
    """What one pass over a listing has read: the cursors it was given (the one it starts
    at too, a checkpoint's), and a digest of each page's line ids."""

    cursors: set[str] = field(default_factory=set)
    pages: set[bytes] = field(default_factory=set)


def _page_digest(lines: list[Any], id_field: str) -> bytes | None:
    """What identifies a page's lines: a digest of their ids in order (None: none has one)."""
    ids = [line.get(id_field) if isinstance(line, dict) else None for line in lines]
    if all(found is None for found in ids):
        return None
    return hashlib.blake2b(repr(ids).encode(), digest_size=16).digest()


class HttpSource(SourceConnector):
    """A read-only source queried over HTTP through a shared ``httpx.AsyncClient``."""

    takes_pushes = False

    def __init__(
        self, spec: SourceSpec, owner: Owner, config: HttpSourceConfig, client: httpx.AsyncClient
    ) -> None:
        super().__init__(spec, owner, timeout=config.budget())
        self.config = config
        self.client = client
        self.requests = 0  # HTTP requests sent, retries included
        self.tracer: Any = None
        """An OpenTelemetry tracer while traces are on: a client span per request sent,
        whose W3C ``traceparent`` goes with it."""
        self.headers = {}
        if config.auth_header and config.auth_value:
            self.headers[config.auth_header] = config.auth_value.get_secret_value()

    def _url(self, path: str) -> str:
        return self.config.base_url.rstrip("/") + path.format(source=self.source.value)

    async def _get(
        self,
        path: str,
        params: list[tuple[str, Param]],
        within: float | None = None,
        bound: str = "timeout",
    ) -> Any:
        """One GET with its retries, each answer whole ``within`` seconds (None: the
        source's ``timeout``), the setting named ``bound``. Errors say what failed, and
        which of the source's settings bounded the wait, never the API's address (they
        reach GraphQL clients and ``/readyz``); the log has the address."""
        url, config = self._url(path), self.config
        within = config.timeout if within is None else within
        failure: ConnectorError = SourceUnavailable(self.source, "no attempt made")
        for attempt in range(config.retries + 1):
            if attempt:
                # Full jitter (AWS's "exponential backoff and jitter"): replicas that failed
                # together do not retry together and hammer a recovering API in step.
                await asyncio.sleep(random.uniform(0, config.backoff * 2 ** (attempt - 1)))
            self.requests += 1
            try:
                if self.tracer is None or not in_trace():
                    response, body = await self._fetch(url, params, within)
                else:
                    response, body = await self._traced_fetch(url, params, attempt, within)
            except _AnswerTooLarge:
                logger.warning("source %s: %s: answer over %d bytes", self.source, url,
                               config.max_answer_bytes)  # fmt: skip
                raise SourceUnavailable(
                    self.source, f"API answer over {config.max_answer_bytes} bytes"
                ) from None
            except _RETRIED as exc:
                logger.warning("source %s: %s: %r", self.source, url, exc)
                failure = SourceUnavailable(self.source, "API connection failed")
                continue
            except (httpx.TimeoutException, TimeoutError) as exc:
                # httpx's: one read (or the connection) waited the source's timeout; ours:
                # the answer did not come whole within its bound (a listing page's is its own).
                said = (
                    f"{config.timeout:g} s (timeout: each read)"
                    if isinstance(exc, httpx.TimeoutException)
                    else f"{within:g} s ({bound}: the whole answer)"
                )
                logger.warning("source %s: %s: timed out: %s", self.source, url, said)
                raise SourceTimeout(self.source, f"API gave no answer within {said}") from None
            except httpx.HTTPError as exc:
                logger.warning("source %s: %s: %r", self.source, url, exc)
                raise SourceUnavailable(
                    self.source, f"API request failed ({type(exc).__name__})"
                ) from exc
            status = response.status_code
            if 300 <= status < 400:
                # Not followed (an API that moved is configured by its final address): said
                # as what it is, not as malformed JSON.
                logger.warning(
                    "source %s: %s: HTTP %d to %s", self.source, url, status,
                    response.headers.get("location"),
                )  # fmt: skip
                raise SourceUnavailable(
                    self.source, f"API answered HTTP {status}, a redirect: configure its final URL"
                )
            if status >= 400:
                logger.warning(
                    "source %s: %s: HTTP %d %s", self.source, url, status, body[:200].decode(
                        errors="replace")
                )  # fmt: skip
                failure = SourceUnavailable(self.source, f"API answered HTTP {status}")
                if status >= 500:
                    continue  # the API's trouble, maybe passing: try again
                raise failure  # ours (a bad key, a bad path): trying again changes nothing
            try:
                # As httpx would (every digit, UTF-8/16/32), a line's NaN, 1e400 or key
                # named twice marked: that line is refused (json_flaws.py).
                return strict_json(body)
            except ValueError:
                logger.warning("source %s: %s: malformed JSON", self.source, url)
                raise SourceUnavailable(self.source, "API answered malformed JSON") from None
        logger.warning("source %s: giving up after %d attempts", self.source, config.retries + 1)
        raise failure

    async def _fetch(
        self,
        url: str,
        params: list[tuple[str, Param]],
        within: float,
        headers: dict[str, str] | None = None,
    ) -> tuple[httpx.Response, bytes]:
        """One GET and its body, decompressed, read no further than ``max_answer_bytes``,
        all ``within`` seconds: httpx's ``timeout`` bounds each read alone, and an API
        dripping its answer a byte at a time inside it would hold ``membergraph sync``
        (which has no deadline of its own) for as long as it drips."""
        async with asyncio.timeout(within):
            return await self._read(url, params, headers)

    async def _read(
        self, url: str, params: list[tuple[str, Param]], headers: dict[str, str] | None
    ) -> tuple[httpx.Response, bytes]:
        limit, body = self.config.max_answer_bytes, bytearray()
        request = self.client.build_request(
            "GET",
            url,
            params=params,
            headers=self.headers if headers is None else headers,
            timeout=self.config.timeout,
        )
        response = await self.client.send(request, stream=True)
        try:
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > limit:
                    raise _AnswerTooLarge
        finally:
            await response.aclose()
        return response, bytes(body)

    async def _traced_fetch(
        self, url: str, params: list[tuple[str, Param]], attempt: int, within: float
    ) -> tuple[httpx.Response, bytes]:
        """:meth:`_fetch` in a client span, the trace context in the request's headers. The
        span's URL has no query: lookups ask by e-mail or phone, which a collector must not
        hold (OpenTelemetry's httpx instrumentation keeps the query, for this reason it is
        not used here)."""
        from opentelemetry.propagate import inject
        from opentelemetry.trace import SpanKind, StatusCode

        attributes: dict[str, Any] = {
            "http.request.method": "GET",
            "url.full": url,
            "membergraph.source": self.source.value,
        }
        if attempt:
            attributes["http.request.resend_count"] = attempt
        with self.tracer.start_as_current_span(
            "GET", kind=SpanKind.CLIENT, attributes=attributes
        ) as span:
            headers = dict(self.headers)
            inject(headers)
            try:
                response, body = await self._fetch(url, params, within, headers)
            except Exception as exc:
                span.set_attribute("error.type", type(exc).__name__.lstrip("_"))
                raise
            status = response.status_code
            span.set_attribute("http.response.status_code", status)
            if status >= 400:
                span.set_attribute("error.type", str(status))
                span.set_status(StatusCode.ERROR)
            return response, body

    def _lines(self, answer: Any, where: str) -> list[tuple[BaseModel, str]]:
        if not isinstance(answer, list):
            raise SourceUnavailable(self.source, f"{where}: expected a JSON array of lines")
        good = []
        for number, raw in enumerate(flawed_lines(answer), start=1):
            parsed = parse_line(self.spec, raw, f"{where}, line {number}", self.owner)
            if isinstance(parsed, LineError):
                self.report.refuse(parsed)  # one bad line is skipped, not the whole answer
            else:
                good.append(parsed)
        return good

    async def _load_many(self, keys: Sequence[str]) -> Sequence[list[BaseModel]]:
        wanted = sorted(set(keys))
        size = self.config.batch_size
        batches = [wanted[i : i + size] for i in range(0, len(wanted), size)]
        answers = await asyncio.gather(
            *(self._get(self.config.lookup_path, [("key", k) for k in batch]) for batch in batches)
        )
        found: dict[str, list[BaseModel]] = defaultdict(list)
        asked = set(wanted)
        for answer in answers:
            for line, owner in self._lines(answer, "lookup answer"):
                if owner in asked:
                    found[owner].append(line)
        return [found.get(key, []) for key in keys]

    async def page(self, after: str | None = None, since: str | None = None) -> ListingPage:
        """One page of the listing: from ``after`` (a cursor the previous page gave), of the
        lines changed at or after ``since`` when the API offers ``since_param``.

        Raises:
            ConnectorError: the API failed, or answered something else than a page.
        """
        if self.config.list_path is None:
            return ListingPage([], None)  # a lookup-only API: its lines come by /ingest
        params: list[tuple[str, Param]] = [("limit", self.config.page_size)]
        if since is not None and self.config.since_param:
            params.append((self.config.since_param, since))
        if after is not None:
            params.append(("after", after))
        page = await self._get(
            self.config.list_path, params, self.config.list_timeout, "list_timeout"
        )
        if not isinstance(page, dict) or not isinstance(page.get("lines"), list):
            raise SourceUnavailable(self.source, 'listing: expected {"lines": [...]}')
        following = page.get("next")
        # A cursor that does not move would read the same page for ever: the listing ends.
        ended = following is None or str(following) == after
        return ListingPage(flawed_lines(page["lines"]), None if ended else str(following))

    def unvisited(self, page: ListingPage, walk: ListingWalk) -> ListingPage:
        """``page`` as a walk of the listing takes it (``walk``, to which this adds): ended
        when its ``next`` is a cursor the walk was given before, and not taken at all (no
        line, ended) when it holds the very lines of a page the walk read before. An API
        whose cursors come round (A, B, A: a listing that wraps at its end) held ``membergraph
        sync --once`` for ever, reading the same pages again; one whose last page named its
        first page's cursor (which the walk, starting with none, was never given) had its
        first page taken twice (user30 8g). Either is said in the log."""
        if (read := _page_digest(page.lines, self.spec.id_field)) is not None:
            if read in walk.pages:
                logger.warning(
                    "source %s: the listing came round: a page holds the lines of a page read"
                    " before in this pass (a cursor back to its start?): its end, the page not"
                    " taken again", self.source,
                )  # fmt: skip
                return ListingPage([], None)
            walk.pages.add(read)
        if page.next is None:
            return page
        if page.next in walk.cursors:
            logger.warning(
                "source %s: the listing's next cursor %r was given before in this pass: its"
                " end", self.source, page.next,
            )  # fmt: skip
            return ListingPage(page.lines, None)
        walk.cursors.add(page.next)
        return page

    async def scan(self) -> AsyncIterator[BaseModel]:
        self.report = report = type(self.report)()
        after: str | None = None
        walk = ListingWalk()
        while True:
            page = self.unvisited(await self.page(after), walk)
            report.lines += len(page.lines)
            for line, _ in self._lines(page.lines, "listing page"):
                report.accepted += 1
                yield line
            if page.next is None:
                return
            after = page.next

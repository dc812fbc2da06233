"""The HTTP backend against a real local server that is slow, failing or malformed."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr

from membergraph.connectors.base import SourceTimeout, SourceUnavailable
from membergraph.connectors.http import HttpSource, HttpSourceConfig
from tests.connectors.api_server import SourceApi
from tests.connectors.test_backends import SPEC, owner, owner_key_of, tx
from tests.support.http import free_port, serving
from tests.support.spans import recording_provider

# (from 1: LD00000000, one digit repeated, is a till's house card, which identifies no one)
CARDS = [f"LD{n:08d}" for n in range(1, 251)]


@pytest.fixture
def api() -> Iterator[tuple[SourceApi, str]]:
    source_api = SourceApi(
        "transactions", [tx(f"T{i}", card=c) for i, c in enumerate(CARDS)], owner_key_of
    )
    with serving(source_api.app) as address:
        yield source_api, f"http://{address}"


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as shared:
        yield shared


def source(client: httpx.AsyncClient, base_url: str, **config: Any) -> HttpSource:
    settings = {"timeout": 0.5, "retries": 2, "backoff": 0.01, **config}
    return HttpSource(SPEC, owner, HttpSourceConfig(base_url=base_url, **settings), client)


async def test_lookups_are_batched_and_carry_the_auth_header(
    api: tuple[SourceApi, str], client: httpx.AsyncClient
) -> None:
    server, url = api
    crm = source(
        client, url, batch_size=100, auth_header="Authorization", auth_value=SecretStr("Bearer k")
    )
    keys = [f"loyalty:{c}" for c in CARDS]
    answer = await crm.load_many(keys)
    assert [len(lines) for lines in answer] == [1] * 250  # type: ignore[arg-type]
    assert sorted(len(r["keys"]) for r in server.requests) == [50, 100, 100]
    assert {r["authorization"] for r in server.requests} == {"Bearer k"}


async def test_a_5xx_is_retried_with_backoff_and_then_answers(
    api: tuple[SourceApi, str], client: httpx.AsyncClient
) -> None:
    server, url = api
    server.failures = 2
    crm = source(client, url)
    [lines] = await crm.load_many([f"loyalty:{CARDS[0]}"])
    assert not isinstance(lines, Exception) and len(lines) == 1
    assert crm.requests == 3


async def test_retries_are_bounded_and_the_error_names_the_source(
    api: tuple[SourceApi, str], client: httpx.AsyncClient
) -> None:
    server, url = api
    server.failures = 100
    crm = source(client, url, retries=2)
    [error] = await crm.load_many([f"loyalty:{CARDS[0]}"])
    assert isinstance(error, SourceUnavailable)
    assert "source transactions" in str(error) and "HTTP 503" in str(error)
    assert crm.requests == 3


async def test_a_4xx_is_not_retried(api: tuple[SourceApi, str], client: httpx.AsyncClient) -> None:
    server, url = api
    server.status = 404
    crm = source(client, url)
    [error] = await crm.load_many(["loyalty:X"])
    assert isinstance(error, SourceUnavailable) and "HTTP 404" in str(error)
    assert crm.requests == 1
    assert "127.0.0.1" not in str(error), "the API's address stays in the log, out of answers"


async def test_a_slow_api_times_out_per_request_without_retrying(
    api: tuple[SourceApi, str], client: httpx.AsyncClient
) -> None:
    server, url = api
    server.delay = 1.0
    crm = source(client, url, timeout=0.2)
    [error] = await crm.load_many(["loyalty:X"])
    # The request's own 0.2 s; on a loop starved past it (a loaded machine), the whole
    # lookup's deadline (three tries and their waits: 0.63 s) says so in its stead
    assert isinstance(error, SourceTimeout), error
    assert re.search(r"no answer within 0\.(2|63) s", str(error)), error
    assert crm.requests == 1


async def test_an_answer_dripped_byte_by_byte_times_out_as_a_whole(
    api: tuple[SourceApi, str], client: httpx.AsyncClient
) -> None:
    # Adversarial pass (hostile19): each byte came within httpx's read timeout, so a
    # listing page dripped for as long as the API liked and `membergraph sync --once` hung
    # (over 40 s at 0.2 s a byte, timeout 2 s, no retries).
    server, url = api
    server.drip = 0.05  # 20 bytes a second: a page of 250 lines takes minutes
    crm = source(client, url, timeout=0.5, list_timeout=1.5, retries=0)
    # (on a loop starved past a read's 0.5 s, that read's timeout says so in its stead)
    with pytest.raises(SourceTimeout, match=r"within (1\.5 s \(list_timeout|0\.5 s \(timeout)"):
        async with asyncio.timeout(30):  # the old code: a TimeoutError here, not the source's
            await crm.page()
    assert crm.requests == 1


async def test_a_listing_page_slower_than_a_lookup_arrives_whole(
    api: tuple[SourceApi, str], client: httpx.AsyncClient
) -> None:
    # review19: bounded by the lookups' timeout, a listing page that streams for longer
    # than it (a slow API's 1,000 lines) failed every sync, and the sync never progressed.
    server, url = api
    server.drip = 0.002  # one line's page: a few hundred bytes, over half a second
    crm = source(client, url, timeout=0.2, retries=0, page_size=1)
    # When a page takes longer than the lookups' 0.2 s, each of its reads in time
    page = await crm.page()
    # Then it arrives whole, within the listing's own bound (60 s by default)
    assert len(page.lines) == 1 and page.next is not None


async def test_an_unreadable_answer_is_the_sources_error(
    api: tuple[SourceApi, str], client: httpx.AsyncClient
) -> None:
    server, url = api
    server.malformed = True
    [error] = await source(client, url).load_many(["loyalty:X"])
    assert isinstance(error, SourceUnavailable) and "malformed JSON" in str(error)


async def test_a_refused_connection_is_retried_then_reported(client: httpx.AsyncClient) -> None:
    crm = source(client, f"http://127.0.0.1:{free_port()}", retries=1)
    [error] = await crm.load_many(["loyalty:X"])
    assert isinstance(error, SourceUnavailable) and "connection failed" in str(error)
    assert crm.requests == 2


async def test_a_listing_follows_pages_to_the_end(
    api: tuple[SourceApi, str], client: httpx.AsyncClient
) -> None:
    server, url = api
    crm = source(client, url, page_size=100)
    listed = [line async for line in crm.scan()]
    assert len(listed) == 250 and crm.report.accepted == 250
    assert [r["path"] for r in server.requests] == ["/transactions/all"] * 3


async def test_a_listing_whose_cursors_come_round_ends_where_they_repeat(
    api: tuple[SourceApi, str], client: httpx.AsyncClient
) -> None:
    # Adversarial pass (hostile19): a listing whose last page named an earlier cursor next
    # (A, B, A) was read for ever: `membergraph sync --once` never ended, nor the
    # example query's look for a contact at a start over an HTTP CRM.
    server, url = api
    server.wrap_to = "100"  # the last page (from 200) names the second page's cursor again
    crm = source(client, url, page_size=100)
    async with asyncio.timeout(60):  # the old code: read on until this stops it
        listed = [line async for line in crm.scan()]
    assert len(listed) == 250 and [r["after"] for r in server.requests] == [None, "100", "200"]


async def test_a_listing_whose_last_page_points_back_to_its_start_takes_no_page_twice(
    api: tuple[SourceApi, str], client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # user30 8g: the last page named the first page's cursor ("0") next, one the walk (which
    # started with no cursor) was never given: the first page was taken a second time.
    server, url = api
    server.wrap_to = "0"
    crm = source(client, url, page_size=100)
    with caplog.at_level(logging.WARNING, logger="membergraph.connectors.http"):
        async with asyncio.timeout(60):
            listed = [line async for line in crm.scan()]
    # Then each line is taken once; the page that came round was asked, seen, and left
    assert len(listed) == 250 and len({line.transaction_id for line in listed}) == 250
    assert [r["after"] for r in server.requests] == [None, "100", "200", "0"]
    assert crm.report.lines == 250
    # and the log says why the listing ended there
    assert any("came round" in record.getMessage() for record in caplog.records)


async def test_a_listing_page_that_misses_its_read_timeout_names_that_timeout(
    api: tuple[SourceApi, str], client: httpx.AsyncClient
) -> None:
    # user30 8f: a page that did not come within the 2 s `timeout` was reported as "no
    # answer within 60 s", the listing's whole-page bound, which never ran out.
    server, url = api
    server.delay = 1.0
    crm = source(client, url, timeout=0.2, retries=0)  # list_timeout: 60 s by default
    with pytest.raises(SourceTimeout) as raised:
        await crm.page()
    assert "no answer within 0.2 s (timeout: each read)" in str(raised.value)
    assert "60" not in str(raised.value)


async def test_an_answers_line_holding_nan_or_a_key_twice_is_refused_its_neighbours_taken(
    api: tuple[SourceApi, str], client: httpx.AsyncClient
) -> None:
    # user30 8b, 8c, as a push and a load refuse them: the standard parser read NaN as a
    # float (stored null) and kept the last of two values under one key.
    server, url = api
    good = orjson.dumps(tx("T-1", card=CARDS[0]))
    flawed = [good[:-1] + b', "tip": NaN}', good[:-1] + b', "transaction_id": "T-2"}']
    server.raw = b"[" + b", ".join([good, *flawed]) + b"]"
    crm = source(client, url)
    [lines] = await crm.load_many([f"loyalty:{CARDS[0]}"])
    assert [line.transaction_id for line in lines] == ["T-1"]  # type: ignore[union-attr]
    assert [e.message.split(":")[0] for e in crm.report.errors] == ["tip", "transaction_id"]


async def test_an_answer_that_inflates_past_its_bound_fails_the_request_not_the_process(
    api: tuple[SourceApi, str], client: httpx.AsyncClient
) -> None:
    # Adversarial pass (adv7): a 400 KiB gzipped answer inflating to 400 MiB was read
    # whole (868 MB resident); a bigger one would take the gateway's memory.
    server, url = api
    server.gzip_bomb_mib = 8
    crm = source(client, url, max_answer_bytes=1 << 20)
    [error] = await crm.load_many([f"loyalty:{CARDS[0]}"])
    assert isinstance(error, SourceUnavailable)
    assert str(error) == "source transactions: API answer over 1048576 bytes"
    assert crm.requests == 1  # not retried: the same answer would come again


async def test_a_redirect_is_said_as_one_not_as_malformed_json(
    api: tuple[SourceApi, str], client: httpx.AsyncClient
) -> None:
    server, url = api
    server.status = 301
    crm = source(client, url)
    [error] = await crm.load_many([f"loyalty:{CARDS[0]}"])
    assert isinstance(error, SourceUnavailable)
    assert "HTTP 301, a redirect: configure its final URL" in str(error)
    assert crm.requests == 1


@pytest.mark.parametrize(
    ("status", "failed"), [pytest.param(None, False, id="ok"), pytest.param(404, True, id="404")]
)
async def test_a_traced_lookup_sends_its_trace_and_records_the_answer(
    api: tuple[SourceApi, str], client: httpx.AsyncClient, status: int | None, failed: bool
) -> None:
    from opentelemetry.trace import StatusCode

    # Given a source whose requests are traced, inside a request's span
    provider, exporter = recording_provider()
    tracer = provider.get_tracer("test")
    server, url = api
    server.status = status
    transactions = source(client, url)
    transactions.tracer = tracer
    # When it looks up a card (an identifier a collector must not hold)
    with tracer.start_as_current_span("POST /graphql") as request_span:
        answer = await transactions.load_many([f"loyalty:{CARDS[0]}"])
    # Then the API received the request's trace, and the client span says what came back
    trace_id = format(request_span.get_span_context().trace_id, "032x")
    assert [r["traceparent"].split("-")[1] for r in server.requests] == [trace_id]
    (call,) = [s for s in exporter.get_finished_spans() if s.name == "GET"]
    assert call.parent is not None
    assert call.parent.span_id == request_span.get_span_context().span_id
    assert call.attributes is not None
    assert call.attributes["http.response.status_code"] == (status or 200)
    assert call.attributes["url.full"] == f"{url}/transactions/lines"  # no keys in it
    assert (call.status.status_code == StatusCode.ERROR) is failed
    assert isinstance(answer[0], Exception) is failed


async def test_an_untraced_lookup_sends_no_trace(
    api: tuple[SourceApi, str], client: httpx.AsyncClient
) -> None:
    server, url = api
    await source(client, url).load_many([f"loyalty:{CARDS[0]}"])
    assert [r["traceparent"] for r in server.requests] == [None]

"""What an operator and an HTTP cache see, on a real server: a WebSocket's log lines name
its request id, the console is a route of its own in /metrics, and If-None-Match compares
ETags weakly, as RFC 9110 prescribes."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator

import httpx
import pytest
import websockets

from membergraph.app import create_app
from membergraph.logs import REQUEST_ID
from membergraph.settings import Settings
from tests.support.http import serving


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    with serving(create_app(settings)) as address:
        yield address


class _Ids(logging.Handler):
    """The request id in force when each line is logged, as the log formatters read it."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[tuple[str, str | None]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append((record.getMessage(), REQUEST_ID.get()))


def test_a_sockets_log_lines_name_its_request_id(server: str) -> None:
    async def bad_query() -> str:
        async with websockets.connect(
            f"ws://{server}/graphql",
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            additional_headers={"x-request-id": "socket-42"},
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            await ws.recv()
            subscribe = {"id": "1", "type": "subscribe", "payload": {"query": "{ nope }"}}
            await ws.send(json.dumps(subscribe))
            await ws.recv()
            assert ws.response is not None
            return str(ws.response.headers["x-request-id"])

    ids, strawberry = _Ids(), logging.getLogger("strawberry")
    strawberry.addHandler(ids)
    try:
        echoed = asyncio.run(bad_query())
    finally:
        strawberry.removeHandler(ids)
    assert echoed == "socket-42"
    logged = {request_id for line, request_id in ids.lines if "nope" in line}
    assert logged == {"socket-42"}, ids.lines


def test_console_requests_are_their_own_route_in_metrics(server: str) -> None:
    assert httpx.get(f"http://{server}/console").status_code == 200
    metrics = httpx.get(f"http://{server}/metrics").text
    assert 'route="/console"' in metrics
    assert 'route="other"' not in metrics


@pytest.mark.parametrize(
    "if_none_match",
    [
        pytest.param(lambda tag: [tag], id="strong"),
        pytest.param(lambda tag: [f"W/{tag}"], id="weak"),
        pytest.param(lambda tag: [f'"other", W/{tag}'], id="in-a-list"),
        pytest.param(lambda tag: ['"other"', f"W/{tag}"], id="on-two-lines"),
    ],
)
def test_if_none_match_compares_weakly(server: str, if_none_match: object) -> None:
    url = f"http://{server}/graphql"
    query = {"query": "{ members(first: 1) { totalCount } }"}
    first = httpx.get(url, params=query, headers={"accept": "application/json"})
    tag = first.headers["etag"]
    lines = [("accept", "application/json")]
    lines += [("if-none-match", value) for value in if_none_match(tag)]  # type: ignore[operator]
    again = httpx.get(url, params=query, headers=lines)
    assert again.status_code == 304, again.text
    assert again.content == b""

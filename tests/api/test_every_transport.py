"""The rules of a request hold on every transport: the persisted-query allow-list, the query
cost, depth and fragment limits and the choice of operation are the same over HTTP and over
graphql-transport-ws, on a real uvicorn server."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.support.http import serving

KEY = "analyst-key-000000000001"
KEYS = {KEY: {"name": "analyst", "scopes": ["profile:read", "analytics:read"]}}
LISTED = "{ members(first: 2) { totalCount } }"
UNLISTED = "{ members(first: 1) { totalCount } }"
TWO_OPERATIONS = "query A { a: __typename } query B { b: __typename }"
HEAVY = (
    "m{i}: members(first: 100) {{ edges {{ node {{ id "
    "transactions(first: 100) {{ edges {{ node {{ amountCents }} }} }} }} }} }}"
)


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _pq(text: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": _sha(text)}}


@pytest.fixture
def keyed(settings: Settings) -> Settings:
    # Depth 7: the heavy query below passes it, the deep one does not.
    return Settings.model_validate(
        {**settings.model_dump(), "api_keys": KEYS, "max_query_depth": 7}
    )


@pytest.fixture
def allow_listed(keyed: Settings, tmp_path: Path) -> Iterator[str]:
    manifest = tmp_path / "operations.json"
    operation = {"id": _sha(LISTED), "name": None, "type": "query", "body": LISTED}
    manifest.write_bytes(
        orjson.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": [operation]}
        )
    )
    only = keyed.model_copy(update={"persisted_queries": manifest, "persisted_queries_only": True})
    with serving(create_app(only)) as address:
        yield address


@pytest.fixture
def server(keyed: Settings) -> Iterator[str]:
    with serving(create_app(keyed)) as address:
        yield address


def _post(address: str, body: dict[str, Any], **headers: str) -> httpx.Response:
    return httpx.post(
        f"http://{address}/graphql", json=body, headers={"x-api-key": KEY, **headers}, timeout=30
    )


async def _over_ws(address: str, payload: dict[str, Any]) -> dict[str, Any]:
    """One operation over graphql-transport-ws, authenticated in ``connection_init``: its
    first answer (``next`` or ``error``), or ``{"closed": code, "reason": ...}``."""
    async with websockets.connect(
        f"ws://{address}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
    ) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {KEY}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        try:
            return dict(json.loads(await ws.recv()))
        except websockets.ConnectionClosed as closed:
            assert closed.rcvd is not None
            return {"closed": closed.rcvd.code, "reason": closed.rcvd.reason}


def _code(answer: dict[str, Any]) -> str:
    errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
    return str(errors[0]["extensions"]["code"])


async def test_the_allow_list_holds_over_websocket(allow_listed: str) -> None:
    # Given an allow-list of one operation, HTTP refuses any other ...
    refused = _post(allow_listed, {"query": UNLISTED}).json()
    assert refused["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"

    # ... and so does a socket, by text or by hash, with nothing run.
    by_text = await _over_ws(allow_listed, {"query": UNLISTED})
    by_hash = await _over_ws(allow_listed, {"extensions": _pq(UNLISTED)})
    for answer in (by_text, by_hash):
        assert answer["type"] == "error", answer
        assert _code(answer) == "PERSISTED_QUERY_NOT_IN_LIST"

    # The listed operation runs over the socket, by text or by its hash alone.
    for payload in ({"query": LISTED}, {"extensions": _pq(LISTED)}):
        ran = await _over_ws(allow_listed, payload)
        assert ran["type"] == "next", ran
        assert ran["payload"]["data"]["members"]["totalCount"] > 0


def test_an_unlisted_hash_is_not_in_the_list_over_http(allow_listed: str) -> None:
    # With the allow-list on, a hash not in it can never be registered: asking the client
    # for its text (PERSISTED_QUERY_NOT_FOUND) would only make it send it in vain.
    for url_or_body in ("post", "get"):
        if url_or_body == "post":
            answer = _post(allow_listed, {"extensions": _pq(UNLISTED)}).json()
        else:
            answer = httpx.get(
                f"http://{allow_listed}/graphql",
                params={"extensions": json.dumps(_pq(UNLISTED))},
                headers={"x-api-key": KEY, "accept": "application/json"},
            ).json()
        assert answer["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
        assert not answer.get("data")


@pytest.mark.parametrize(
    ("query", "code"),
    [
        pytest.param(
            "{" + " ".join(HEAVY.format(i=i) for i in range(10)) + "}",
            "QUERY_TOO_COSTLY",
            id="cost",
        ),
        pytest.param(
            "{ members { edges { node { activity { edges { node { transaction { items { sku }"
            " } } } } } } } }",
            "GRAPHQL_VALIDATION_FAILED",
            id="depth",
        ),
        pytest.param(
            " ".join(f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(19))
            + " fragment F19 on Query { __typename } query { ...F0 }",
            "QUERY_TOO_LARGE",
            id="fragments",
        ),
    ],
)
async def test_the_limits_hold_over_websocket(server: str, query: str, code: str) -> None:
    over_http = _post(server, {"query": query}).json()
    assert over_http["errors"][0]["extensions"]["code"] == code

    over_ws = await _over_ws(server, {"query": query})
    assert over_ws["type"] == "error", over_ws
    assert _code(over_ws) == code


def test_several_operations_without_a_name_are_a_request_error(server: str) -> None:
    # GraphQL's GetOperation: with two operations and no operationName, which to run is
    # unknown; running the first would answer a question the client may not have asked.
    for accept in ("application/json", "application/graphql-response+json"):
        posted = _post(server, {"query": TWO_OPERATIONS}, accept=accept)
        got = httpx.get(
            f"http://{server}/graphql",
            params={"query": TWO_OPERATIONS},
            headers={"x-api-key": KEY, "accept": accept},
        )
        for response in (posted, got):
            assert response.status_code == 400, response.text
            (error,) = response.json()["errors"]
            assert error["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"
            assert "operationName" in error["message"]
    named = _post(server, {"query": TWO_OPERATIONS, "operationName": "B"}).json()
    assert named["data"] == {"b": "Query"}


async def test_several_operations_without_a_name_close_a_socket(server: str) -> None:
    closed = await _over_ws(server, {"query": TWO_OPERATIONS})
    assert closed.get("closed") == 4400, closed
    assert "operationName" in closed["reason"]


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(TWO_OPERATIONS, id="two-operations-no-name"),
        pytest.param("fragment F on Query { __typename }", id="fragments-only"),
    ],
)
async def test_a_sockets_mistake_is_one_info_line_not_an_error(
    server: str, query: str, caplog: pytest.LogCaptureFixture
) -> None:
    # When a client subscribes with a document naming no operation to run (user27, r7)
    caplog.set_level(logging.INFO)
    closed = await _over_ws(server, {"query": query})
    # Then its socket is closed 4400, and the log holds one INFO line naming the code HTTP
    # answers it with: no ERROR and no traceback any client could fill the log with
    assert closed.get("closed") == 4400, closed
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [r.getMessage() for r in loud]
    said = [r for r in caplog.records if "OPERATION_RESOLUTION_FAILURE" in r.getMessage()]
    assert [r.levelno for r in said] == [logging.INFO], caplog.text


def test_a_post_that_accepts_only_html_is_not_acceptable(server: str) -> None:
    refused = _post(server, {"query": "{ __typename }"}, accept="text/html")
    assert refused.status_code == 406
    assert refused.json()["errors"][0]["extensions"]["code"] == "NOT_ACCEPTABLE"
    # A browser's usual Accept still gets JSON (through */*).
    browser = "text/html,application/xhtml+xml,*/*;q=0.8"
    assert _post(server, {"query": "{ __typename }"}, accept=browser).status_code == 200


def test_a_browser_get_still_opens_graphiql(settings: Settings) -> None:
    with serving(create_app(settings)) as address:  # demo mode: GraphiQL on
        page = httpx.get(f"http://{address}/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")


MALFORMED = [
    pytest.param({"query": "subscription {"}, id="syntax"),
    pytest.param({"query": "}}}"}, id="garbage"),
    pytest.param({"query": "# nothing but a comment"}, id="comment-only"),
    pytest.param({"query": ""}, id="empty"),
    pytest.param({"query": None}, id="null"),
    pytest.param({}, id="missing"),
    pytest.param({"query": "{" + " ".join(HEAVY.format(i=i) for i in range(10)) + "}"}, id="cost"),
    pytest.param(
        {
            "query": "{ members { edges { node { activity { edges { node { transaction { items"
            " { sku } } } } } } } } }"
        },
        id="depth",
    ),
    pytest.param({"extensions": _pq("{ __typename }")}, id="persisted-miss"),
]


async def test_every_malformed_subscribe_is_an_error_message_and_the_socket_lives_on(
    server: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given what HTTP answers each malformed request with
    payloads = [p.values[0] for p in MALFORMED]
    codes = [
        _post(server, payload).json()["errors"][0]["extensions"]["code"] for payload in payloads
    ]
    caplog.clear()
    caplog.set_level(logging.INFO)
    async with websockets.connect(
        f"ws://{server}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
    ) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {KEY}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        # When each is sent on one socket (user29, finding 4)
        for n, payload in enumerate(payloads):
            await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": payload}))
            answer = json.loads(await ws.recv())
            # Then each is one `error` message with the code HTTP answers
            assert answer["type"] == "error", (payload, answer)
            assert (answer["id"], _code(answer)) == (str(n), codes[n]), payload
        # ... and the socket still runs the next operation
        await ws.send(json.dumps({"id": "ok", "type": "subscribe", "payload": LISTED_PAYLOAD}))
        ran = json.loads(await ws.recv())
        assert ran["type"] == "next", ran
    # ... and the log holds one INFO line each, no ERROR and no traceback
    loud = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not loud, [r.getMessage() for r in loud]
    said = [r for r in caplog.records if r.getMessage().startswith("GraphQL error ")]
    assert sorted(r.getMessage().split()[2].rstrip(":") for r in said) == sorted(codes)
    assert {r.levelno for r in said} == {logging.INFO}


LISTED_PAYLOAD = {"query": LISTED}

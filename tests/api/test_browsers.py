"""A frontend in a browser, with API keys on: CORS for its origin, subscriptions that
authenticate in ``connection_init`` (a browser cannot set a WebSocket's headers), and the
start banner naming what ``/graphql`` really serves."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import orjson
import pytest
import websockets
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.support.http import free_port, serving
from tests.support.serve import serve_process

KEY = "frontend-bff-key-0000001"
KEYS = {KEY: {"name": "frontend-bff", "scopes": ["profile:read"]}}
SECRET = "browser-test-secret-of-32-bytes-long"
APP = "https://app.example.com"
ELSEWHERE = "https://evil.example.net"
MEMBERS = "{ members(first: 1) { edges { node { id } } } }"


@pytest.fixture
def keyed(data_dir: Path, tmp_path: Path) -> Settings:
    return Settings(
        data=data_dir,
        store=f"sqlite:///{tmp_path / 'identity.db'}",
        cache_dir=tmp_path / "cache",
        api_keys=KEYS,  # type: ignore[arg-type]
        jwt_secret=SECRET,  # type: ignore[arg-type]
        cors_origins=[APP + "/"],
    )


@pytest.fixture
def browser(keyed: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(keyed), base_url="http://127.0.0.1") as client:
        yield client


def _preflight(client: TestClient, origin: str) -> Any:
    return client.options(
        "/graphql",
        headers={
            "origin": origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type, x-membergraph-actor",
        },
    )


def test_a_preflight_from_an_allowed_origin_needs_no_key(browser: TestClient) -> None:
    response = _preflight(browser, APP)

    assert response.status_code in (200, 204), response.text
    assert response.headers["access-control-allow-origin"] == APP
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = {
        h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")
    }
    assert {"authorization", "content-type", "x-membergraph-actor"} <= allowed
    assert response.headers["access-control-allow-credentials"] == "true"
    assert int(response.headers["access-control-max-age"]) > 0


@pytest.mark.parametrize(
    ("asked", "refused"),
    [
        # Apollo Client names itself (user29: its preflight was refused).
        pytest.param("apollographql-client-name, apollographql-client-version, content-type",
                     None, id="apollo-client-awareness"),
        pytest.param("", None, id="a-blank-list"),
        pytest.param("authorization,,Content-Type", None, id="a-blank-name-in-the-list"),
        pytest.param("x-custom, authorization", "its headers x-custom are not allowed", id="another"),
    ],
)  # fmt: skip
def test_a_preflight_asks_for_the_headers_a_frontend_sends(
    browser: TestClient, asked: str, refused: str | None
) -> None:
    response = browser.options(
        "/graphql",
        headers={
            "origin": APP,
            "access-control-request-method": "POST",
            "access-control-request-headers": asked,
        },
    )
    if refused is None:
        assert response.status_code == 200, response.text
        assert response.headers["access-control-allow-origin"] == APP
        return
    assert response.status_code == 400
    said = response.json()["error"]
    assert refused in said
    allowed = said.rpartition("(allowed: ")[2].rstrip(")").split(", ")
    assert len(allowed) == len(set(allowed)), allowed  # content-type was listed twice


def test_a_preflight_from_another_origin_is_not_allowed(browser: TestClient) -> None:
    response = _preflight(browser, ELSEWHERE)

    assert response.status_code >= 400
    assert "access-control-allow-origin" not in response.headers


def test_an_origin_set_with_its_default_port_matches_what_browsers_send(
    data_dir: Path, tmp_path: Path
) -> None:
    # Adversarial pass: https://app.example.com:443 was accepted at start but never matched:
    # a browser's Origin leaves its scheme's default port out.
    settings = Settings(
        data=data_dir,
        store=f"sqlite:///{tmp_path / 'identity.db'}",
        cache_dir=tmp_path / "cache",
        api_keys=KEYS,  # type: ignore[arg-type]
        cors_origins=[APP + ":443"],
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        response = _preflight(client, APP)
    assert response.headers.get("access-control-allow-origin") == APP


@pytest.mark.parametrize(
    ("credential", "status"),
    [
        pytest.param({"authorization": f"Bearer {KEY}"}, 200, id="with-key"),
        pytest.param({}, 401, id="without-key-the-page-can-read-why"),
    ],
)
def test_an_allowed_origin_reads_the_answer(
    browser: TestClient, credential: dict[str, str], status: int
) -> None:
    response = browser.post(
        "/graphql", json={"query": MEMBERS}, headers={"origin": APP, **credential}
    )

    assert response.status_code == status
    assert response.headers["access-control-allow-origin"] == APP


def test_another_origin_gets_no_cors_header(browser: TestClient) -> None:
    response = browser.post(
        "/graphql",
        json={"query": MEMBERS},
        headers={"origin": ELSEWHERE, "authorization": f"Bearer {KEY}"},
    )

    assert response.status_code == 200, "CORS binds browsers, not servers"
    assert "access-control-allow-origin" not in response.headers


@pytest.fixture
def server(keyed: Settings) -> Iterator[str]:
    with serving(create_app(keyed)) as address:
        yield address


def _token() -> str:
    claims = {"sub": "member-app", "scope": "profile:read", "exp": int(time.time()) + 600}
    return jwt.encode(claims, SECRET, algorithm="HS256")


async def _open(server: str) -> websockets.ClientConnection:
    return await websockets.connect(
        f"ws://{server}/graphql",
        subprotocols=["graphql-transport-ws"],
        origin=APP,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({"Authorization": f"Bearer {KEY}"}, id="api-key"),
        pytest.param({"authorization": f"Bearer {KEY}"}, id="lower-case"),
        pytest.param("jwt", id="jwt"),
    ],
)
async def test_a_browser_socket_authenticates_in_connection_init(
    server: str, payload: dict[str, str] | str
) -> None:
    if payload == "jwt":
        payload = {"Authorization": f"Bearer {_token()}"}
    async with await _open(server) as ws:
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"

        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": MEMBERS}}))
        answer = json.loads(await ws.recv())

    assert answer["type"] == "next", answer
    assert "errors" not in answer["payload"], answer
    assert answer["payload"]["data"]["members"]["edges"], "read with the caller's scopes"


EXPIRED = jwt.encode({"sub": "x", "exp": 1}, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "init",
    [
        pytest.param({"type": "connection_init"}, id="no-payload"),
        pytest.param({"type": "connection_init", "payload": None}, id="null-payload"),
        pytest.param({"type": "connection_init", "payload": {}}, id="no-credential"),
        pytest.param(
            {"type": "connection_init", "payload": {"Authorization": "Bearer not-ours-00000000"}},
            id="wrong-key",
        ),
        pytest.param(
            {"type": "connection_init", "payload": {"Authorization": f"Bearer {EXPIRED}"}},
            id="expired-jwt",
        ),
    ],
)
async def test_an_unauthenticated_socket_is_closed_with_4403(
    server: str, init: dict[str, Any]
) -> None:
    # The handshake is accepted (not refused with HTTP 403): the browser sees the close code,
    # 4403 Forbidden, as graphql-transport-ws asks for a refused connection_init.
    async with await _open(server) as ws:
        await ws.send(json.dumps(init))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403


async def test_a_socket_that_subscribes_before_connection_init_is_closed(server: str) -> None:
    async with await _open(server) as ws:
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": MEMBERS}}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await ws.recv()

    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_a_browser_opening_graphql_with_graphiql_off_is_told_how_to_turn_it_on(
    browser: TestClient,
) -> None:
    # When a browser opens /graphql on a gateway with keys (GraphiQL off by default)
    html = {"accept": "text/html,application/xhtml+xml"}
    page = browser.get("/graphql", headers=html)
    # Then, without its key, it is refused as every request is (nothing answers without
    # credentials), not asked for a Basic login that would open nothing, and reads why
    assert page.status_code == 401
    assert "basic" not in page.headers.get("www-authenticate", "").lower()
    [refused] = page.json()["errors"]
    assert refused["extensions"]["code"] == "UNAUTHENTICATED"
    assert "GraphiQL is off" in refused["message"] and "MEMBERGRAPH_GRAPHIQL" in refused["message"]
    # and with its key, it is told the page is off and what to set
    keyed = browser.get("/graphql", headers={**html, "x-api-key": KEY})
    assert keyed.status_code == 404
    [error] = keyed.json()["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert "GraphiQL is off" in error["message"] and "MEMBERGRAPH_GRAPHIQL" in error["message"]
    # and a query over GET still needs its key, as before
    asked = browser.get("/graphql", params={"query": MEMBERS}, headers={"accept": "text/html"})
    assert asked.status_code == 401


def test_the_banner_names_the_endpoint_not_graphiql_when_it_is_off(
    data_dir: Path, tmp_path: Path
) -> None:
    port = free_port()
    keys = {"MEMBERGRAPH_API_KEYS": orjson.dumps(KEYS).decode()}
    with serve_process(data_dir, tmp_path / "id.db", port, keys) as process:
        assert process.stderr is not None
        banner = ""
        while "/graphql" not in banner:
            line = process.stderr.readline()
            assert line, f"serve stopped before its banner: {banner}"
            banner += line

    assert "GraphiQL" not in banner, banner
    assert f"GraphQL endpoint: http://127.0.0.1:{port}/graphql" in banner


@pytest.mark.parametrize("where", ["connection_init", "header"])
async def test_a_socket_is_closed_with_4401_when_its_jwt_expires(server: str, where: str) -> None:
    claims = {"sub": "member-app", "scope": "profile:read", "exp": int(time.time()) + 2}
    bearer = {"Authorization": f"Bearer {jwt.encode(claims, SECRET, algorithm='HS256')}"}
    ws = await websockets.connect(
        f"ws://{server}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        origin=APP,  # type: ignore[arg-type]
        additional_headers=bearer if where == "header" else None,
    )
    async with ws:
        payload = bearer if where == "connection_init" else {}
        await ws.send(json.dumps({"type": "connection_init", "payload": payload}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        subscribe = {"query": "subscription { memberChanged { kind } }"}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            async with asyncio.timeout(30):  # the token lives 2 s; the socket no longer
                while True:
                    await ws.recv()
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "the token has expired")

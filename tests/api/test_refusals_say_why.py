"""A refused caller is told what is wrong with what it sent, on a real server: a token not
valid yet, unsigned or for another audience, a member-bound token asking for an export, a
page on an origin the settings do not list."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jwt
import pytest
import websockets

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.support.http import serving

SECRET = "refusal-test-secret-of-32-bytes-long!"
APP = "https://app.example.com"


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    secured = Settings.model_validate(
        {
            **settings.model_dump(),
            "jwt_secret": SECRET,
            "jwt_audience": "membergraph",
            "cors_origins": [APP],
        }
    )
    with serving(create_app(secured)) as address:
        yield address


def _token(algorithm: str = "HS256", **claims: Any) -> str:
    now = int(time.time())
    base = {"sub": "svc", "aud": "membergraph", "iat": now, "exp": now + 600}
    base["scope"] = "profile:read analytics:read privacy:admin"
    key = SECRET if algorithm == "HS256" else None
    return jwt.encode({**base, **claims}, key, algorithm=algorithm)


@pytest.mark.parametrize(
    ("token", "says"),
    [
        pytest.param(
            lambda: _token(iat=int(time.time()) + 3600, exp=int(time.time()) + 4000),
            "iat is in the future",
            id="iat-in-the-future",
        ),
        pytest.param(lambda: _token(nbf=int(time.time()) + 3600), "nbf is in the future", id="nbf"),
        pytest.param(lambda: _token("none"), "unsigned (alg none)", id="alg-none"),
        pytest.param(lambda: _token(aud="another"), "aud is not membergraph", id="audience"),
    ],
)
def test_a_refused_token_is_told_what_is_wrong(server: str, token: Any, says: str) -> None:
    refused = httpx.post(
        f"http://{server}/graphql",
        json={"query": "{ __typename }"},
        headers={"authorization": f"Bearer {token()}"},
    )
    assert refused.status_code == 401
    (error,) = refused.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    assert says in error["message"], error["message"]


@pytest.mark.parametrize(
    "path", ["/export/members.csv", "/privacy/members/m_anyone/export"], ids=["csv", "privacy"]
)
def test_a_member_bound_token_is_told_the_binding_not_the_scope_refuses_it(
    server: str, path: str
) -> None:
    bound = _token(member_id="m_someone")
    refused = httpx.get(f"http://{server}{path}", headers={"authorization": f"Bearer {bound}"})
    assert refused.status_code == 403
    message = refused.json()["error"]
    assert "bound to a member" in message and "needs the" not in message


def test_a_refused_websocket_origin_names_the_setting(
    server: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def handshake() -> None:
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(
                f"ws://{server}/graphql",
                subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
                origin="https://evil.example.net",  # type: ignore[arg-type]
            )
        assert refused.value.response.status_code == 403

    with caplog.at_level(logging.INFO):
        asyncio.run(handshake())
    (line,) = [r.getMessage() for r in caplog.records if "evil.example.net" in r.getMessage()]
    assert "MEMBERGRAPH_CORS_ORIGINS" in line and "allowed_origins" not in line


def test_a_preflight_from_an_unlisted_origin_is_refused_in_json_naming_the_setting(
    server: str,
) -> None:
    # When a page of another origin asks whether it may POST to /graphql
    asked = {"origin": "https://evil.example", "access-control-request-method": "POST"}
    said = httpx.options(f"http://{server}/graphql", headers=asked)
    # Then the refusal is JSON as every refusal is, naming the origin and the setting
    assert said.status_code == 400 and said.headers["content-type"] == "application/json"
    error = said.json()["error"]
    assert "https://evil.example" in error and "MEMBERGRAPH_CORS_ORIGINS" in error
    assert "access-control-allow-origin" not in said.headers
    # and the listed origin's preflight is allowed as before
    listed = httpx.options(f"http://{server}/graphql", headers={**asked, "origin": APP})
    assert listed.status_code == 200 and listed.headers["access-control-allow-origin"] == APP

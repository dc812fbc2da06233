"""JWTs verified by the keys an identity provider publishes at a JWKS URL, served for real:
the key a token's kid names, one fetch on a key rotation, and a provider that fails or hangs
answered with a coded 503 while the gateway keeps serving everyone else."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from membergraph.app import create_app
from membergraph.settings import Settings, SettingsError, load_settings
from tests.support.http import free_port, serving
from tests.support.identity_provider import JWKS_PATH, IdentityProvider, SigningKey

API_KEY = "personalization-key-0001"
QUERY = {"query": "{ __typename }"}


@pytest.fixture
def provider() -> Iterator[tuple[IdentityProvider, str]]:
    idp = IdentityProvider([SigningKey("2026-a")])
    with serving(idp.app) as address:
        yield idp, f"http://{address}{JWKS_PATH}"


def _secured(settings: Settings, url: str, **more: Any) -> Settings:
    keys = Settings(api_keys={API_KEY: {"name": "svc", "scopes": ["profile:read"]}}).api_keys
    return settings.model_copy(update={"jwt_jwks_url": url, "api_keys": keys, **more})


def _bearer(client: TestClient, token: str) -> httpx.Response:
    return client.post("/graphql", json=QUERY, headers={"authorization": f"Bearer {token}"})


def test_a_token_is_verified_by_the_key_its_kid_names(
    settings: Settings, provider: tuple[IdentityProvider, str]
) -> None:
    idp, url = provider
    (key_a,) = idp.keys
    with TestClient(create_app(_secured(settings, url)), base_url="http://127.0.0.1") as client:
        for _ in range(5):
            assert _bearer(client, key_a.token()).status_code == 200
        # Another key claiming kid 2026-a, or naming no kid, is refused by the published key.
        stranger = SigningKey("2026-a")
        assert _bearer(client, stranger.token()).status_code == 401
        assert _bearer(client, stranger.token(kid=None)).status_code == 401
        assert _bearer(client, key_a.token(kid=None)).status_code == 200
    # One fetch served every token (the start's), and it named the gateway, not urllib.
    assert idp.requests == 1
    assert idp.user_agents[0].startswith("membergraph/")


def test_a_rotated_key_is_fetched_once_when_its_first_token_arrives(
    settings: Settings, provider: tuple[IdentityProvider, str]
) -> None:
    idp, url = provider
    (old,) = idp.keys
    new = SigningKey("2026-b")
    secured = _secured(settings, url, jwt_jwks_cooldown_s=0)
    with TestClient(create_app(secured), base_url="http://127.0.0.1") as client:
        assert _bearer(client, old.token()).status_code == 200
        assert idp.requests == 1
        idp.publish(old, new)  # the provider rotates: both keys published
        for _ in range(3):
            assert _bearer(client, new.token()).status_code == 200
        assert idp.requests == 2
        assert _bearer(client, old.token()).status_code == 200
        idp.publish(new)  # the old key withdrawn: its tokens stop at the next fetch
        forged = SigningKey("2026-x")
        assert _bearer(client, forged.token()).status_code == 401
        assert idp.requests == 3


def test_unknown_kids_within_the_cooldown_cost_the_provider_nothing(
    settings: Settings, provider: tuple[IdentityProvider, str]
) -> None:
    idp, url = provider
    secured = _secured(settings, url, jwt_jwks_cooldown_s=3600)
    with TestClient(create_app(secured), base_url="http://127.0.0.1") as client:
        assert _bearer(client, idp.keys[0].token()).status_code == 200
        for n in range(10):
            refused = _bearer(client, SigningKey(f"forged-{n}").token())
            assert refused.status_code == 401
            assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert idp.requests == 1


@pytest.mark.parametrize(
    "status", [pytest.param(500, id="5xx"), pytest.param(None, id="no-server")]
)
def test_a_provider_that_fails_is_a_coded_503_and_keys_still_work(
    settings: Settings, status: int | None
) -> None:
    idp = IdentityProvider([SigningKey("2026-a")], status=status)
    port = free_port()
    url = f"http://127.0.0.1:{port}{JWKS_PATH}"
    secured = _secured(settings, url, jwt_jwks_cooldown_s=0)
    server = serving(idp.app, port) if status is not None else None
    with (
        server if server is not None else contextlib.nullcontext(),
        TestClient(create_app(secured), base_url="http://127.0.0.1") as client,
    ):
        answer = _bearer(client, idp.keys[0].token())
        assert answer.status_code == 503, answer.text
        assert answer.headers["content-type"] == "application/json"
        assert answer.headers["retry-after"]
        error = answer.json()["errors"][0]
        assert error["extensions"]["code"] == "AUTH_UNAVAILABLE"
        assert "Traceback" not in answer.text and "urlopen" not in error["message"]
        by_key = client.post("/graphql", json=QUERY, headers={"x-api-key": API_KEY})
        assert by_key.status_code == 200
        # A browser's socket, its token in connection_init: 1013 Try Again Later.
        with (
            pytest.raises(WebSocketDisconnect) as closed,
            client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws,
        ):
            ws.send_json(
                {
                    "type": "connection_init",
                    "payload": {"Authorization": f"Bearer {idp.keys[0].token()}"},
                }
            )
            ws.receive_json()
        assert closed.value.code == 1013


def test_a_hanging_provider_holds_a_request_no_longer_than_the_timeout_nor_the_loop(
    settings: Settings,
) -> None:
    idp = IdentityProvider([SigningKey("2026-a")], delay=30)
    # The others must be answered while that request waits: 6 s leaves a loaded machine room
    # to answer three (2 s did not always, at load 7).
    secured = _secured(settings, "", jwt_jwks_timeout_s=6.0, jwt_jwks_cooldown_s=0)
    with serving(idp.app) as idp_address:
        secured = secured.model_copy(update={"jwt_jwks_url": f"http://{idp_address}{JWKS_PATH}"})
        with serving(create_app(secured)) as gateway:
            answers: list[httpx.Response] = []
            token = idp.keys[0].token()
            waiting = threading.Thread(
                target=lambda: answers.append(
                    httpx.post(
                        f"http://{gateway}/graphql",
                        json=QUERY,
                        headers={"authorization": f"Bearer {token}"},
                        timeout=20,
                    )
                )
            )
            waiting.start()
            # While that request waits for the provider, the gateway answers others.
            served = [
                httpx.post(
                    f"http://{gateway}/graphql", json=QUERY, headers={"x-api-key": API_KEY}
                ).status_code
                for _ in range(3)
            ]
            others_first = waiting.is_alive()
            waiting.join(timeout=20)
    assert served == [200, 200, 200] and others_first
    assert answers[0].status_code == 503
    assert answers[0].json()["errors"][0]["extensions"]["code"] == "AUTH_UNAVAILABLE"
    # One fetch in flight at a time: the start's, which the request waited for.
    assert idp.requests == 1


@pytest.mark.parametrize(
    ("url", "accepted"),
    [
        pytest.param("https://idp.example/.well-known/jwks.json", True, id="https"),
        pytest.param("http://127.0.0.1:9/jwks.json", True, id="http-loopback"),
        pytest.param("http://idp.example/jwks.json", False, id="http-elsewhere"),
        pytest.param("file:///etc/jwks.json", False, id="file"),
    ],
)
def test_the_jwks_url_must_be_one_no_one_on_the_way_can_alter(url: str, accepted: bool) -> None:
    if accepted:
        assert load_settings(jwt_jwks_url=url).has_credentials
    else:
        with pytest.raises(SettingsError, match="MEMBERGRAPH_JWT_JWKS_URL"):
            load_settings(jwt_jwks_url=url)

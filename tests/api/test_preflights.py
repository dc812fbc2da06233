"""A browser's preflight (user27, r2 and r6): it carries no credentials, so it is answered
before authentication in every mode, and a refused one says what was refused and grants
nothing (no ``Access-Control-Allow-Origin``)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings

KEYS = {"pers-key-0123456789abcdefgh": {"name": "perso", "scopes": ["profile:read"]}}
APP = "https://app.example.com"
DEV = "http://localhost:5173"


def _client(data_dir: Path, tmp_path: Path, **settings: object) -> TestClient:
    return TestClient(
        create_app(
            Settings(
                data=data_dir,
                store=f"sqlite:///{tmp_path / 'identity.db'}",
                cache_dir=tmp_path / "cache",
                **settings,  # type: ignore[arg-type]
            )
        ),
        base_url="http://127.0.0.1",
    )


def _preflight(client: TestClient, path: str, origin: str, method: str = "POST") -> httpx.Response:
    return client.options(
        path,
        headers={
            "origin": origin,
            "access-control-request-method": method,
            "access-control-request-headers": "authorization, content-type",
        },
    )


@pytest.mark.parametrize(
    "settings",
    [
        pytest.param({}, id="demo"),
        pytest.param({"api_keys": KEYS}, id="keys"),
    ],
)
@pytest.mark.parametrize("path", ["/graphql", "/ingest/crm", "/export/members.csv"])
def test_a_preflight_without_a_cors_list_is_refused_naming_the_setting(
    data_dir: Path, tmp_path: Path, settings: dict[str, object], path: str
) -> None:
    # Given a gateway that lists no browser origin (demo mode, or API keys)
    with _client(data_dir, tmp_path, **settings) as client:
        # When a page on a developer's machine asks whether it may POST
        said = _preflight(client, path, DEV)
        # Then it is the documented refusal, never a 405 nor a demand for credentials
        assert said.status_code == 400, said.text
        error = said.json()["error"]
        assert DEV in error and "MEMBERGRAPH_CORS_ORIGINS" in error
        assert "access-control-allow-origin" not in said.headers
        # and a request that is no preflight is what it was (no CORS header is added)
        plain = client.get("/healthz", headers={"origin": DEV})
        assert plain.status_code == 200 and "vary" not in plain.headers


def test_a_preflight_asking_another_method_names_it_and_grants_nothing(
    data_dir: Path, tmp_path: Path
) -> None:
    # Given a listed origin
    with _client(data_dir, tmp_path, api_keys=KEYS, cors_origins=[APP]) as client:
        # When its page asks whether it may PUT
        said = _preflight(client, "/graphql", APP, method="PUT")
    # Then the refusal names the method and those allowed, and allows the origin nothing
    assert said.status_code == 400
    error = said.json()["error"]
    assert "PUT" in error and "GET, POST" in error
    assert "access-control-allow-origin" not in said.headers

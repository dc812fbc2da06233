"""Every refusal a client of ``/graphql`` may meet, on a real server: one shape
(``errors[].extensions.code``), in the media type the client asked for (user32 8)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.support.http import serving

KEY = "refusal-shapes-key-0123456789abcdef"
SPEC = "application/graphql-response+json"
TWO_OPERATIONS = orjson.dumps({"query": "query A { __typename } query B { __typename }"})


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, demo_source: object) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("shapes")
    keys = {KEY: {"name": "ui", "scopes": ["profile:read"]}}
    settings = Settings(
        data=demo_source,
        store=f"sqlite:///{folder / 'identity.db'}",
        cache_dir=folder / "cache",
        api_keys=keys,
    )
    with serving(create_app(settings)) as address:
        yield address


def _ask(server: str, method: str, path: str, body: bytes = b"", **headers: str) -> httpx.Response:
    sent = {"authorization": f"Bearer {KEY}", "content-type": "application/json", **headers}
    return httpx.request(method, f"http://{server}{path}", content=body or None, headers=sent)


def _code(answer: httpx.Response) -> str:
    (error,) = answer.json()["errors"]
    assert error["message"], answer.text
    return str(error["extensions"]["code"])


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "code"),
    [
        pytest.param(
            "POST",
            "/graphql",
            TWO_OPERATIONS,
            {},
            400,
            "OPERATION_RESOLUTION_FAILURE",
            id="two-ops",
        ),
        pytest.param("POST", "/graphql", b"{}", {}, 400, "BAD_REQUEST", id="no-query"),
        pytest.param("POST", "/graphql", b'{"query":', {}, 400, "BAD_REQUEST", id="not-json"),
        pytest.param(
            "POST",
            "/graphql",
            b"{}",
            {"content-type": "text/plain"},
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            id="text-plain",
        ),
        pytest.param(
            "GET",
            "/graphql?query=mutation%7B__typename%7D",
            b"",
            {},
            405,
            "METHOD_NOT_ALLOWED",
            id="mutation-over-get",
        ),
        pytest.param(
            "POST", "/graphql", b" " * (1 << 21), {}, 413, "PAYLOAD_TOO_LARGE", id="body-too-big"
        ),
        pytest.param(
            "POST",
            "/graphql",
            b"{}",
            {"authorization": "Bearer nope"},
            401,
            "UNAUTHENTICATED",
            id="bad-key",
        ),
    ],
)
@pytest.mark.parametrize(
    ("accept", "media"),
    [
        pytest.param(SPEC, SPEC, id="asks-graphql-response"),
        pytest.param("application/json", "application/json", id="asks-json"),
    ],
)
def test_a_refusal_on_graphql_is_coded_in_the_media_type_asked_for(  # noqa: PLR0913
    server: str,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    code: str,
    accept: str,
    media: str,
) -> None:
    # When a client that asked for `accept` is refused
    answer = _ask(server, method, path, body, **{"accept": accept, **headers})
    # Then the refusal has its status, its code in errors[], and the media type asked for,
    # as a parse error's answer has
    assert answer.status_code == status, answer.text
    assert _code(answer) == code
    assert answer.headers["content-type"] == media


def test_a_parse_error_and_two_operations_answer_alike(server: str) -> None:
    # Given a client of the GraphQL media type, a document that does not parse and one of
    # two operations without a name
    parse = _ask(server, "POST", "/graphql", b'{"query": "{"}', accept=SPEC)
    two = _ask(server, "POST", "/graphql", TWO_OPERATIONS, accept=SPEC)
    # Then both are 400 in the same media type, with no data entry
    assert (parse.status_code, two.status_code) == (400, 400)
    assert parse.headers["content-type"] == two.headers["content-type"] == SPEC
    assert "data" not in parse.json() and "data" not in two.json()


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        pytest.param("POST", "/graphq", 404, "NOT_FOUND", id="path-mistyped"),
        pytest.param("DELETE", "/readyz", 405, "METHOD_NOT_ALLOWED", id="method-of-a-route"),
    ],
)
def test_the_routers_refusals_carry_both_shapes(
    server: str, method: str, path: str, status: int, code: str
) -> None:
    # When a client asks a path no route has, or a method a route does not take
    answer = _ask(server, method, path, b"{}", accept="application/json")
    # Then the answer reads as a GraphQL refusal (errors[], coded) and as the other routes'
    # (error), in JSON
    assert answer.status_code == status, answer.text
    assert _code(answer) == code
    assert answer.json()["error"] == answer.json()["errors"][0]["message"]
    assert answer.headers["content-type"] == "application/json"

"""Who the console's page and files are served to: a caller whose scopes it can use (over a
real server, as a browser asks for them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.console.support import ANALYST, COUNTER, READER, STEWARD, TILL, served


@pytest.fixture(scope="module")
def address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with served(Path(tmp_path_factory.mktemp("console"))) as found:
        yield found


@pytest.mark.parametrize(
    "key",
    [
        pytest.param(READER, id="profile-read"),
        pytest.param(STEWARD, id="identity-write"),
        pytest.param(ANALYST, id="analyst"),
        pytest.param(COUNTER, id="analytics-read-only"),
    ],
)
def test_a_key_the_console_can_use_gets_its_page_and_files(address: str, key: str) -> None:
    for path in ("/console", "/console/console.js"):
        answer = httpx.get(f"http://{address}{path}", headers={"x-api-key": key}, timeout=30)
        assert answer.status_code == 200, (path, answer.text)


def test_a_key_with_only_ingest_write_is_refused_the_console_as_the_api_refuses_it(
    address: str,
) -> None:
    # user30 8i: a till's key (ingest:write only) got GET /console 200, the page, while
    # every query it could make from it is refused.
    for path in ("/console", "/console/console.js"):
        answer = httpx.get(f"http://{address}{path}", headers={"x-api-key": TILL}, timeout=30)
        assert answer.status_code == 403, path
        assert "profile:read" in answer.json()["error"]
    graphql = httpx.post(
        f"http://{address}/graphql",
        json={"query": "{ members(first: 1) { totalCount } }"},
        headers={"x-api-key": TILL},
        timeout=30,
    )
    assert "FORBIDDEN" in graphql.text  # the API refuses the same key

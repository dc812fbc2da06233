"""Fixtures of the API tests that serve a gateway over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.api.test_response_cache import MASKED, Client


@pytest.fixture
def connect() -> Iterator[Callable[..., Client]]:
    """Clients of served gateways, closed when the test ends."""
    made: list[Client] = []

    def client(address: str, key: str | None = MASKED) -> Client:
        made.append(Client(address, key))
        return made[-1]

    yield client
    for each in made:
        each.http.close()

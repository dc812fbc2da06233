"""A source that sleeps, raises or answers garbage: its fields are null with an error naming it;
everything else still resolves, in bounded time; a dead source trips its circuit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.connectors.base import FakeConnector
from membergraph.connectors.models import SourceName
from membergraph.gateway import open_gateway
from membergraph.settings import Settings
from tests.conftest import gql


async def _sleeps(keys: Sequence[str]) -> list[list[Any]]:
    await asyncio.sleep(5)
    return [[] for _ in keys]


def _raises(keys: Sequence[str]) -> list[list[Any]]:
    raise ConnectionResetError("peer reset")


def _garbage(keys: Sequence[str]) -> list[Any]:
    return ["not a list of lines"][: len(keys) - 1]


@pytest.fixture
def broken_client(settings: Settings, request: pytest.FixtureRequest) -> Iterator[TestClient]:
    handler: Callable[..., Any] = request.param
    holder: dict[str, Any] = {}

    async def build() -> None:
        gateway, sources, _ = await open_gateway(settings)
        holder["sources"] = sources
        gateway.sources = {
            **gateway.sources,
            SourceName.TRANSACTIONS: FakeConnector(
                SourceName.TRANSACTIONS, handler, timeout=0.3, failure_threshold=3, cooldown=60
            ),
        }
        holder["gateway"] = gateway

    asyncio.run(build())
    with TestClient(
        create_app(settings, gateway=holder["gateway"]), base_url="http://127.0.0.1"
    ) as client:
        yield client
    asyncio.run(_close(holder))


async def _close(holder: dict[str, Any]) -> None:
    await holder["gateway"].identity.store.aclose()
    await holder["sources"].aclose()  # the source table's connection, a thread of its own


QUERY = """{ members(first: 5, filter: {source: TRANSACTIONS}) { edges { node {
  id profile { firstName } records { source } loyalty { pointsBalance } transactions { totalCount } } } } }"""


@pytest.mark.parametrize(
    ("broken_client", "code"),
    [
        pytest.param(_sleeps, "SOURCE_TIMEOUT", id="sleeps"),
        pytest.param(_raises, "SOURCE_UNAVAILABLE", id="raises"),
        pytest.param(_garbage, "SOURCE_UNAVAILABLE", id="garbage"),
    ],
    indirect=["broken_client"],
)
def test_a_failing_source_nulls_only_its_fields(broken_client: TestClient, code: str) -> None:
    started = time.monotonic()
    answer = gql(broken_client, QUERY)
    elapsed = time.monotonic() - started
    nodes = [e["node"] for e in answer["data"]["members"]["edges"]]  # type: ignore[index]
    assert len(nodes) == 5
    for node in nodes:
        assert node["records"] and node["transactions"] is None and node["loyalty"] is None
    errors = answer["errors"]  # type: ignore[index]
    assert {e["extensions"]["code"] for e in errors} == {code}  # type: ignore[index]
    assert all(e["extensions"]["source"] == "transactions" for e in errors)  # type: ignore[index]
    assert all("Traceback" not in e["message"] for e in errors)  # type: ignore[index]
    assert elapsed < 5, "one timeout per request, not one per member"


@pytest.mark.parametrize("broken_client", [_raises], indirect=True)
def test_a_dead_source_trips_its_circuit_and_readyz_says_so(broken_client: TestClient) -> None:
    gateway = broken_client.app.state.gateway  # type: ignore[attr-defined]
    for _ in range(3):
        gql(broken_client, QUERY)
    calls = gateway.sources[SourceName.TRANSACTIONS].calls
    answer = gql(broken_client, QUERY)
    assert gateway.sources[SourceName.TRANSACTIONS].calls == calls, "no call while open"
    assert "circuit open" in answer["errors"][0]["message"]  # type: ignore[index]
    assert broken_client.get("/readyz").json()["sources"]["transactions"]["circuit"] == "open"


def test_a_request_over_its_time_budget_answers_a_coded_timeout(settings: Settings) -> None:
    async def slow(keys: Sequence[str]) -> list[list[Any]]:
        await asyncio.sleep(2)
        return [[] for _ in keys]

    budget = settings.model_copy(update={"request_timeout": 0.3})
    holder: dict[str, Any] = {}

    async def build() -> None:
        gateway, sources, _ = await open_gateway(budget)
        holder["sources"] = sources
        gateway.sources = {
            **gateway.sources,
            SourceName.TRANSACTIONS: FakeConnector(SourceName.TRANSACTIONS, slow, timeout=10),
        }
        holder["gateway"] = gateway

    asyncio.run(build())
    with TestClient(
        create_app(budget, gateway=holder["gateway"]), base_url="http://127.0.0.1"
    ) as client:
        started = time.monotonic()
        answer = gql(client, QUERY)
        assert time.monotonic() - started < 2
    asyncio.run(_close(holder))
    assert answer["errors"][0]["extensions"]["code"] == "TIMEOUT"  # type: ignore[index]

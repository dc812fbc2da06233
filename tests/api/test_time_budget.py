"""The request's time budget (``MEMBERGRAPH_REQUEST_TIMEOUT``) on a real uvicorn server: a
query over HTTP and the same query over graphql-transport-ws both answer ``TIMEOUT`` once it
is spent, while a subscription on that socket lives on past it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import websockets

from membergraph.app import create_app
from membergraph.connectors.base import FakeConnector
from membergraph.connectors.models import SourceName
from membergraph.gateway import open_gateway
from membergraph.settings import Settings
from tests.support.http import serving
from tests.support.sockets import served

BUDGET = 0.5
SLOW = 5.0  # the purchases source answers after this long: far past the budget
QUERY = "{ members(first: 2, filter: {source: TRANSACTIONS}) { edges { node { id transactions { totalCount } } } } }"
FAST = "{ members(first: 1) { edges { node { id } } } }"


async def _slow(keys: Sequence[str]) -> list[list[Any]]:
    await asyncio.sleep(SLOW)
    return [[] for _ in keys]


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    budget = settings.model_copy(update={"request_timeout": BUDGET})
    holder: dict[str, Any] = {}

    async def build() -> None:
        gateway, sources, _ = await open_gateway(budget)
        slow = FakeConnector(SourceName.TRANSACTIONS, _slow, timeout=SLOW * 2)
        gateway.sources = {**gateway.sources, SourceName.TRANSACTIONS: slow}
        holder.update(gateway=gateway, sources=sources)

    async def close() -> None:
        await holder["gateway"].identity.store.aclose()
        await holder["sources"].aclose()

    asyncio.run(build())
    try:
        with serving(create_app(budget, gateway=holder["gateway"])) as address:
            yield address
    finally:
        asyncio.run(close())


def _code(errors: list[dict[str, Any]]) -> str:
    return str(errors[0]["extensions"]["code"])


def _logged_timeouts(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "time budget" in r.getMessage()
    ]


def test_a_query_over_http_answers_timeout_past_its_budget(
    server: str, caplog: pytest.LogCaptureFixture
) -> None:
    answer = httpx.post(f"http://{server}/graphql", json={"query": QUERY}, timeout=SLOW * 2)
    body = answer.json()
    assert _code(body["errors"]) == "TIMEOUT"
    assert f"{BUDGET:g} s" in body["errors"][0]["message"]
    assert len(_logged_timeouts(caplog)) == 1  # and the operator sees it, in one line


async def _next_messages(ws: Any, operation: str, limit: float) -> list[dict[str, Any]]:
    """The messages of ``operation`` until its ``complete`` (or ``error``), within ``limit``."""
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(limit):
        while True:
            message = json.loads(await ws.recv())
            if message.get("id") != operation:
                continue
            seen.append(message)
            if message["type"] in ("complete", "error"):
                return seen


async def test_a_query_over_websocket_answers_timeout_past_its_budget(
    server: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with websockets.connect(
        f"ws://{server}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
    ) as ws:
        await served(ws)
        # When a query whose source is slower than the budget is sent over the socket
        await ws.send(json.dumps({"id": "q", "type": "subscribe", "payload": {"query": QUERY}}))
        # Then it answers TIMEOUT, as over HTTP, and completes, long before the source would
        first, last = await _next_messages(ws, "q", limit=SLOW - 1)
        assert first["type"] == "next" and first["payload"]["data"] is None
        assert _code(first["payload"]["errors"]) == "TIMEOUT"
        assert last == {"id": "q", "type": "complete"}
        assert len(_logged_timeouts(caplog)) == 1
        # and the socket goes on: the same id is free again, a quick query answers
        await ws.send(json.dumps({"id": "q", "type": "subscribe", "payload": {"query": FAST}}))
        answer, done = await _next_messages(ws, "q", limit=SLOW - 1)
        assert answer["payload"]["data"]["members"]["edges"] and done["type"] == "complete"


async def test_a_subscription_outlives_the_budget(server: str) -> None:
    http = httpx.AsyncClient(base_url=f"http://{server}", timeout=30)
    async with (
        http,
        websockets.connect(
            f"ws://{server}/graphql",
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        ) as ws,
    ):
        # A member with a CRM contact: its newer version is what changes it below.
        with_contact = "{ members(first: 1, filter: {source: CRM}) { edges { node { id } } } }"
        found = (await http.post("/graphql", json={"query": with_contact})).json()
        member_id = found["data"]["members"]["edges"][0]["node"]["id"]
        await served(ws)
        subscription = "subscription ($id: ID!) { memberChanged(id: $id) { kind memberIds } }"
        payload = {"query": subscription, "variables": {"id": member_id}}
        await ws.send(json.dumps({"id": "s", "type": "subscribe", "payload": payload}))
        # Given the subscription has been open for several budgets
        await asyncio.sleep(BUDGET * 3)
        # When the member changes: a newer version of its CRM contact is pushed
        records = f'{{ member(id: "{member_id}") {{ records {{ source key }} }} }}'
        held = (await http.post("/graphql", json={"query": records})).json()
        contact = next(r["key"] for r in held["data"]["member"]["records"] if r["source"] == "CRM")
        line = {
            "contact_id": contact,
            "first_name": "Renamed",
            "updated_at": datetime.now(UTC).isoformat(),
        }
        pushed = await http.post("/ingest/crm", json=[line])
        assert pushed.status_code == 200, pushed.text
        # Then the subscription still hears it
        async with asyncio.timeout(30):
            while True:
                message = json.loads(await ws.recv())
                if message.get("id") == "s":
                    break
        assert message["type"] == "next", message
        assert member_id in message["payload"]["data"]["memberChanged"]["memberIds"]

"""What an operator sees: Prometheus metrics that parse and count what happened, a request
id on every answer and log line, an access log, JSON logs, /metrics on its own port, and a
circuit that tries one call when its cooldown is over."""

from __future__ import annotations

import asyncio
import logging
import re
import socket
import time
from collections.abc import Sequence
from typing import Any

import httpx
import orjson
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.connectors.base import FakeConnector, SourceUnavailable
from membergraph.connectors.models import SourceName
from membergraph.logs import JsonFormatter
from membergraph.observability import Telemetry
from membergraph.settings import Settings
from tests.support.http import free_port, serving

PROFILE = "{ members(first: 3) { edges { node { id loyalty { pointsBalance } } } } }"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_errors_and_source_calls(client: TestClient) -> None:
    before = _samples(client.get("/metrics").text)
    for _ in range(3):
        assert client.post("/graphql", json={"query": PROFILE}).status_code == 200
    client.post(
        "/graphql", json={"query": '{ memberByIdentifier(kind: PHONE, value: "abc") { id } }'}
    )
    after = _samples(client.get("/metrics").text)

    ok = {"route": "/graphql", "method": "POST", "status": "200"}
    count = "membergraph_http_request_seconds_count"
    assert _value(after, count, **ok) - _value(before, count, **ok) == 4
    errors = "membergraph_graphql_errors_total"
    assert (
        _value(after, errors, code="BAD_USER_INPUT") - _value(before, errors, code="BAD_USER_INPUT")
        == 1
    )
    calls = "membergraph_source_call_seconds_count"
    assert _value(after, calls, source="transactions", outcome="ok") > _value(
        before, calls, source="transactions", outcome="ok"
    )
    assert _value(after, "membergraph_identity", what="members") > 0
    assert _value(after, "membergraph_source_circuit", source="crm") == 0


def test_metrics_count_erasures_by_outcome_and_requests_by_state(client: TestClient) -> None:
    # user31 11c: no metric counted erasures, nor the requests left PARTIAL
    before = _samples(client.get("/metrics").text)
    assert _value(before, "membergraph_erasures_total", outcome="done") == 0
    assert _value(before, "membergraph_privacy_requests", state="pending") == 0
    members = client.post("/graphql", json={"query": PROFILE}).json()["data"]["members"]
    erase = 'mutation($id: ID!) { eraseMember(id: $id, reason: "DPO-11") { state } }'
    for edge in members["edges"][:2]:
        asked = {"query": erase, "variables": {"id": edge["node"]["id"]}}
        assert client.post("/graphql", json=asked).json()["data"]["eraseMember"]["state"] == "DONE"
    after = _samples(client.get("/metrics").text)
    for outcome, n in (("done", 2), ("partial", 0), ("failed", 0), ("awaiting_sources", 0)):
        assert _value(after, "membergraph_erasures_total", outcome=outcome) == n, outcome
    for state, n in (("done", 2), ("pending", 0), ("partial", 0), ("awaiting_sources", 0)):
        assert _value(after, "membergraph_privacy_requests", state=state) == n, state
    assert ("membergraph_privacy_requests", (("state", "partial"),)) in after


def test_a_routes_latency_child_is_kept_and_every_request_still_counted() -> None:
    # Given the latency histogram, when requests of one route, method and status are
    # observed, then they go to the one child kept for them; and past the kept ones (a
    # client's invented methods), every request is still counted under its labels.
    telemetry = Telemetry()
    kept = telemetry.request_seconds("/graphql", "POST", 200)
    assert telemetry.request_seconds("/graphql", "POST", 200) is kept
    for n in range(2400):
        telemetry.request_seconds("other", f"M{n % 1200}", 405).observe(0.001)
    count = "membergraph_http_request_seconds_count"
    found = _samples(generate_latest(telemetry.registry).decode())
    for method in ("M1", "M1100"):  # kept, and first seen after a thousand others
        assert _value(found, count, route="other", method=method, status="405") == 2


def test_a_request_id_is_echoed_made_when_missing_and_never_taken_raw(client: TestClient) -> None:
    given = client.get("/healthz", headers={"x-request-id": "lb-7f3a.42"})
    assert given.headers["x-request-id"] == "lb-7f3a.42"
    made = client.get("/healthz")
    hostile = client.get("/healthz", headers={"x-request-id": "x\r\nSet-Cookie: a=b" + "y" * 200})
    for response in (made, hostile):
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])
    assert made.headers["x-request-id"] != hostile.headers["x-request-id"]


def test_each_request_writes_one_access_line_with_its_id(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="membergraph.access"):
        response = client.post("/graphql", json={"query": PROFILE}, headers={"x-request-id": "r-1"})
    [line] = [r for r in caplog.records if r.name == "membergraph.access"]
    assert (line.method, line.path, line.status) == ("POST", "/graphql", response.status_code)
    entry = orjson.loads(JsonFormatter().format(line))
    assert entry["message"].startswith("POST /graphql 200")
    assert entry["status"] == 200 and entry["ms"] >= 0
    assert set(entry) >= {"time", "level", "logger", "request_id"}


def test_metrics_on_their_own_port_answer_without_credentials(settings: Settings) -> None:
    port = free_port()
    keyed = Settings.model_validate(
        {
            **settings.model_dump(),
            "metrics_port": port,
            "api_keys": {"ops-key-000000000001": {"name": "ops", "scopes": ["profile:read"]}},
        }
    )
    with TestClient(create_app(keyed), base_url="http://127.0.0.1") as client:
        assert client.get("/metrics").status_code == 401
        scraped = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert scraped.status_code == 200
        assert "membergraph_source_calls_total" in scraped.text
    with pytest.raises(httpx.TransportError):  # closed with the app
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_a_half_open_circuit_lets_one_trial_call_through() -> None:
    healthy = {"now": False}
    started = asyncio.Event()

    async def handler(keys: Sequence[str]) -> list[list[Any]]:
        if not healthy["now"]:
            raise ConnectionResetError("down")
        started.set()
        await asyncio.sleep(0.05)
        return [[] for _ in keys]

    async def scenario() -> None:
        conn = FakeConnector(SourceName.CRM, handler, failure_threshold=2, cooldown=0)
        for _ in range(2):
            await conn.load_many(["a"])
        assert conn.circuit == "half_open"  # cooldown 0: over at once
        failed_probe = await conn.load_many(["a"])
        assert isinstance(failed_probe[0], SourceUnavailable)
        assert conn.circuit == "half_open" and conn.calls == 3
        healthy["now"] = True
        probe = asyncio.create_task(conn.load_many(["a"]))
        await started.wait()
        refused = await conn.load_many(["b"])  # while the trial call is in flight
        assert "circuit open" in str(refused[0])
        assert await probe == [[]]
        assert conn.circuit == "closed" and conn.calls == 4

    asyncio.run(scenario())


@pytest.mark.parametrize("path", ["/graphql", "/ingest/transactions"])
def test_a_client_hanging_up_mid_body_is_no_server_error(
    settings: Settings, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a client that sends half its body and closes the connection (a phone losing
    # signal), over a real socket
    with serving(create_app(settings)) as address, caplog.at_level(logging.INFO):
        host, port = address.split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                "Content-Length: 1000\r\n\r\n{".encode()
            )
        metrics = ""
        for _ in range(100):  # until the server has read the hang-up
            metrics = httpx.get(f"http://{address}/metrics").text
            if 'status="499"' in metrics:
                break
            time.sleep(0.05)
    # Then it is counted as the client's (499), never as a 500, and no traceback is logged
    samples = _samples(metrics)
    route = path if path == "/graphql" else "/ingest"
    count = "membergraph_http_request_seconds_count"
    assert _value(samples, count, route=route, method="POST", status="499") == 1
    assert 'status="500"' not in metrics
    assert not [r for r in caplog.records if r.exc_info], [r.getMessage() for r in caplog.records]

"""Demo mode (no credentials: every caller may do everything) is safe only on this machine.
A page of another site whose DNS name is pointed at 127.0.0.1 (DNS rebinding) is "same
origin" with the gateway in the browser's eyes; the gateway tells it apart by the host its
requests name."""

from __future__ import annotations

import httpx
import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from membergraph.app import create_app
from membergraph.settings import ApiKey, Settings
from tests.support.http import free_port

QUERY = {"query": "{ members(first: 1) { totalCount } }"}


@pytest.mark.parametrize("host", ["evil.example:8000", "evil.example", "192.168.1.20:8000"])
def test_demo_mode_refuses_a_request_naming_another_host(client: TestClient, host: str) -> None:
    # Adversarial pass (adv6): a POST with Host and Origin http://evil.example:8000, as a
    # rebound page sends it, read every member's name and phone, and could erase them.
    origin = f"http://{host}"
    refused = client.post("/graphql", json=QUERY, headers={"host": host, "origin": origin})
    assert refused.status_code == 403
    assert "demo mode" in refused.json()["error"]
    pushed = client.post("/ingest/crm", json=[], headers={"host": host, "origin": origin})
    assert pushed.status_code == 403
    with (
        pytest.raises(WebSocketDisconnect),
        client.websocket_connect(
            "/graphql", subprotocols=["graphql-transport-ws"], headers={"origin": origin}
        ) as ws,
    ):
        ws.send_json({"type": "connection_init", "payload": {}})
        ws.receive_json()


@pytest.mark.parametrize(
    "host", ["127.0.0.1:8000", "localhost:8000", "LOCALHOST", "[::1]:8000", "app.localhost"]
)
def test_demo_mode_answers_requests_naming_this_machine(client: TestClient, host: str) -> None:
    answer = client.post("/graphql", json=QUERY, headers={"host": host})
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["members"]["totalCount"] > 0


def test_with_credentials_any_host_name_is_served(settings: Settings) -> None:
    key = "a-long-enough-key-for-the-host-test"
    secured = settings.model_copy(
        update={"api_keys": {key: ApiKey(name="ops", scopes=["profile:read"])}}
    )
    with TestClient(create_app(secured), base_url="http://127.0.0.1") as client:
        answer = client.post(
            "/graphql",
            json=QUERY,
            headers={"host": "members.example.com", "authorization": f"Bearer {key}"},
        )
    assert answer.status_code == 200, answer.text


def test_demo_mode_metrics_port_refuses_another_host_as_the_main_port(settings: Settings) -> None:
    # user30 8h: the metrics port answered Host: evil.example with every figure while the
    # main port refused it (403): a rebound page could read the one it cannot read the other.
    port = free_port()
    demo = settings.model_copy(update={"metrics_port": port})
    with TestClient(create_app(demo), base_url="http://127.0.0.1"):
        url = f"http://127.0.0.1:{port}/metrics"
        refused = httpx.get(url, headers={"host": f"evil.example:{port}"}, timeout=5)
        assert refused.status_code == 403
        assert "demo mode" in refused.json()["error"]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "[::1]"):
            scraped = httpx.get(url, headers={"host": host}, timeout=5)
            assert scraped.status_code == 200, host
            assert "membergraph_" in scraped.text


def test_with_credentials_the_metrics_port_answers_any_host(settings: Settings) -> None:
    # A Prometheus server scrapes a pod by its address or its DNS name: no host is foreign.
    port = free_port()
    key = "a-long-enough-key-for-the-host-test"
    secured = settings.model_copy(
        update={"metrics_port": port, "api_keys": {key: ApiKey(name="ops", scopes=[])}}
    )
    with TestClient(create_app(secured), base_url="http://127.0.0.1"):
        scraped = httpx.get(
            f"http://127.0.0.1:{port}/metrics", headers={"host": "pod-7.example"}, timeout=5
        )
    assert scraped.status_code == 200

"""A frontend on another origin, in a real headless Chromium (Debian's, driven by
Playwright): with keys on and its origin listed, the page calls ``/graphql`` (a preflight,
its key in a header), reads the request id back, and subscribes over graphql-transport-ws
with the key in ``connection_init``, hearing a change made elsewhere; a page on an origin
not listed gets neither."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.support.browser import NEEDS_CHROMIUM, playwright_chromium
from tests.support.http import free_port, serving

playwright = pytest.importorskip("playwright.sync_api")
pytestmark = NEEDS_CHROMIUM
FRONTEND = "frontend-app-key-000000001"
PUSH = "pos-terminal-key-000000001"
KEYS = {
    FRONTEND: {"name": "frontend", "scopes": ["profile:read"]},
    PUSH: {"name": "pos", "scopes": ["ingest:write", "profile:read"]},
}

# The frontend's page: everything it does lands in window.seen for the test to read.
PAGE = """<!doctype html><meta charset="utf-8"><title>frontend</title><script>
const gateway = "%(gateway)s", key = "%(key)s";
window.seen = {};
(async () => {
  const answer = await fetch(`http://${gateway}/graphql`, {
    method: "POST",
    headers: {"content-type": "application/json", authorization: `Bearer ${key}`,
              "x-request-id": "frontend-call-1"},
    body: JSON.stringify({query: "{ members(first: 1, filter: {source: CRM}) { edges { node { id } } } }"}),
  });
  seen.status = answer.status;
  seen.requestId = answer.headers.get("x-request-id");
  const member = (await answer.json()).data.members.edges[0].node.id;
  seen.member = member;
  const socket = new WebSocket(`ws://${gateway}/graphql`, "graphql-transport-ws");
  socket.onopen = () => socket.send(JSON.stringify(
    {type: "connection_init", payload: {Authorization: `Bearer ${key}`}}));
  socket.onclose = (event) => { seen.closed = event.code; };
  socket.onmessage = (message) => {
    const data = JSON.parse(message.data);
    if (data.type === "connection_ack") {
      seen.acknowledged = true;
      socket.send(JSON.stringify({id: "1", type: "subscribe", payload: {
        query: "subscription ($id: ID!) { memberChanged(id: $id) { kind memberIds } }",
        variables: {id: member}}}));
    } else if (data.type === "next") {
      seen.change = data.payload.data.memberChanged;
    }
  };
})().catch((error) => { seen.error = String(error); });
</script>"""


@pytest.fixture
def gateway(data_dir: Path, tmp_path: Path) -> Iterator[tuple[str, int]]:
    """The gateway on 127.0.0.1 with keys on; the frontend's origin is localhost on the port
    yielded with it (another origin: another host and port)."""
    page_port = free_port()
    settings = Settings(
        data=data_dir,
        store=f"sqlite:///{tmp_path / 'identity.db'}",
        cache_dir=tmp_path / "cache",
        api_keys=KEYS,  # type: ignore[arg-type]
        cors_origins=[f"http://localhost:{page_port}"],
    )
    with serving(create_app(settings)) as address:
        yield address, page_port


def _frontend(gateway: str) -> Starlette:
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE % {"gateway": gateway, "key": FRONTEND})

    return Starlette(routes=[Route("/", page)])


def _seen(page: Any, what: str, limit: float = 60) -> Any:
    page.wait_for_function(
        f"() => window.seen && (window.seen.{what} || window.seen.error)", timeout=limit * 1000
    )
    seen = page.evaluate("window.seen")
    assert "error" not in seen, seen
    return seen


def _change(gateway: str, member: str) -> None:
    """A newer version of the member's CRM contact, pushed by the till's key."""
    http = httpx.Client(base_url=f"http://{gateway}", headers={"x-api-key": PUSH}, timeout=30)
    with http:
        query = f'{{ member(id: "{member}") {{ records {{ source key }} }} }}'
        records = http.post("/graphql", json={"query": query}).json()["data"]["member"]["records"]
        contact = next(r["key"] for r in records if r["source"] == "CRM")
        line = {
            "contact_id": contact,
            "first_name": "Renamed",
            "updated_at": datetime.now(UTC).isoformat(),
        }
        assert http.post("/ingest/crm", json=[line]).status_code == 200


@pytest.fixture
def browser() -> Iterator[Any]:
    with playwright_chromium() as launched:
        yield launched


def test_a_page_on_a_listed_origin_calls_and_subscribes(
    gateway: tuple[str, int], browser: Any
) -> None:
    address, page_port = gateway
    with serving(_frontend(address), page_port):
        page = browser.new_page()
        page.goto(f"http://localhost:{page_port}/")
        # The call crossed its preflight, carried its key, and the page reads the request id
        seen = _seen(page, "acknowledged")
        assert seen["status"] == 200 and seen["requestId"] == "frontend-call-1"
        # The socket authenticated in connection_init; a change made elsewhere reaches it
        for _ in range(3):  # the subscription starts just after the acknowledgement
            time.sleep(0.5)
            _change(address, seen["member"])
            try:
                seen = _seen(page, "change", limit=10)
                break
            except playwright.TimeoutError:
                continue
        assert seen["member"] in seen["change"]["memberIds"], seen


def test_a_page_on_another_origin_gets_nothing(gateway: tuple[str, int], browser: Any) -> None:
    address, _ = gateway
    with serving(_frontend(address)) as unlisted:  # same page, an origin not listed
        page = browser.new_page()
        page.goto(f"http://{unlisted.replace('127.0.0.1', 'localhost')}/")
        page.wait_for_function("() => window.seen && window.seen.error", timeout=60_000)
        seen = page.evaluate("window.seen")
        # The browser kept the answer from it (no Access-Control-Allow-Origin): a failed fetch
        assert "status" not in seen and "Failed to fetch" in seen["error"], seen
        # and a socket from it is refused at the handshake
        closed = page.evaluate(
            f"""() => new Promise((done) => {{
              const socket = new WebSocket("ws://{address}/graphql", "graphql-transport-ws");
              socket.onopen = () => done("open");
              socket.onclose = (event) => done(event.code);
            }})"""
        )
        assert closed == 1006, closed

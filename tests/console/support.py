"""What the console's browser tests share: a served gateway over a few people, its keys, the
API as another desk uses it, and a console page whose every request is routed and checked."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.api.test_call_center_story import ANN, BOB, CALL
from tests.support.http import serving

SHOTS = os.environ.get("MEMBERGRAPH_SCREENSHOTS")  # a folder: the console's screenshots
READER = "reviewer-key-00000001"
STEWARD = "steward-key-000000001"
AGENT = "agent-nine-key-000001"
TILL = "crm-feed-key-00000001"
ANALYST = "analyst-key-000000001"
COUNTER = "counter-key-000000001"  # lists and counts, no member's profile
KEYS = {
    AGENT: {"name": "agent-9", "scopes": ["profile:read", "identity:write"]},
    READER: {"name": "reviewer", "scopes": ["profile:read"]},
    STEWARD: {"name": "steward", "scopes": ["profile:read", "pii:read", "identity:write"]},
    TILL: {"name": "crm-feed", "scopes": ["ingest:write"]},
    ANALYST: {"name": "analyst", "scopes": ["profile:read", "analytics:read"]},
    COUNTER: {"name": "counter", "scopes": ["analytics:read"]},
}
WHO = (
    """query ($v: String!) { memberByIdentifier(kind: CRM_ID, value: $v) { id records { key } } }"""
)

# Two people apart from Ann and Bob, and a call whose caller's phone (Cy's) and the account
# the agent typed (Di's) disagree: a conflict for the stewards' queue.
CY = {"contact_id": "C-CY", "first_name": "Cy", "phones": ["+1 415 555 0333"]}
DI = {"contact_id": "C-DI", "first_name": "Di", "phones": ["+1 415 555 0444"]}
MIXED_CALL = {
    **CALL,
    "interaction_id": "I-CY-1",
    "caller_phone": "4155550333",
    "account_ref": {"kind": "crm_id", "value": "C-DI"},
}
__all__ = ["ANN", "BOB", "CALL", "CY", "DI", "MIXED_CALL"]


def settings_for(tmp_path: Path, **sources: list[dict[str, Any]]) -> Settings:
    """A gateway over a folder holding ``sources`` (name: lines), with the test's keys."""
    data = tmp_path / "data"
    data.mkdir()
    for name, lines in sources.items():
        (data / f"{name}.jsonl").write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return Settings(data=data, store=f"sqlite:///{tmp_path / 'id.db'}", api_keys=KEYS)


@contextlib.contextmanager
def served(tmp_path: Path, **sources: list[dict[str, Any]]) -> Iterator[str]:
    """A real server over ``sources`` (:func:`settings_for`); yields its address."""
    with serving(create_app(settings_for(tmp_path, **sources))) as address:
        yield address


class Api:
    """The GraphQL API as another desk uses it (the agent's key unless told)."""

    def __init__(self, address: str, key: str = AGENT) -> None:
        self.address = address
        self.client = httpx.Client(
            base_url=f"http://{address}", headers={"x-api-key": key}, timeout=60
        )

    def __call__(self, query: str, **variables: object) -> dict[str, Any]:
        body = self.client.post("/graphql", json={"query": query, "variables": variables}).json()
        assert "errors" not in body, body
        return body["data"]  # type: ignore[no-any-return]

    def member_of(self, crm_id: str) -> dict[str, Any]:
        return self(WHO, v=crm_id)["memberByIdentifier"]  # type: ignore[no-any-return]

    def cross(self) -> str:
        """The agent links Ann's call to Bob's account; the merged member's ID."""
        linked = self(
            """mutation { linkRecords(a: {source: CALL_CENTER, key: "I-ANN-1"},
            b: {source: CRM, key: "C-BOB"}, reason: "caller gave this account") { id } }"""
        )
        return str(linked["linkRecords"][0]["id"])

    def ingest(self, source: str, *lines: dict[str, Any]) -> None:
        pushed = httpx.post(
            f"http://{self.address}/ingest/{source}", json=list(lines), headers={"x-api-key": TILL}
        )
        assert pushed.status_code == 200, pushed.text


@dataclass
class Watch:
    """Everything the page asked for (every request routed through the test, every
    WebSocket), what its Content-Security-Policy refused and the errors it threw."""

    address: str
    hosts: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def route(self, route: Any) -> None:
        host = urlsplit(route.request.url).netloc
        self.hosts.append(host)
        if host == self.address:
            route.continue_()
        else:  # never reaches another host, and the test says it tried
            route.abort()

    def only_here(self, page: Any) -> None:
        """No request, socket or refused load for another host; no error in the page."""
        refused = page.evaluate("window.__refused")
        assert set(self.hosts) == {self.address}, self.hosts
        assert {urlsplit(url).netloc for url in self.sockets} <= {self.address}, self.sockets
        assert refused == [] and self.errors == [], (refused, self.errors)


REFUSALS = """window.__refused = [];
document.addEventListener("securitypolicyviolation", (e) => window.__refused.push(e.blockedURI));"""


def open_console(browser: Any, address: str, key: str, width: int = 1280, height: int = 800) -> Any:
    """The console as a person opens it (the browser asks for the key: HTTP Basic, the key as
    password), every request routed through a :class:`Watch` (``page.watch``)."""
    context = browser.new_context(
        http_credentials={"username": "steward", "password": key},
        viewport={"width": width, "height": height},
    )
    context.set_default_timeout(90_000)  # generous: CI machines are shared and slow
    watch = Watch(address)
    context.route("**/*", watch.route)
    context.add_init_script(REFUSALS)
    page = context.new_page()
    page.on("websocket", lambda socket: watch.sockets.append(socket.url))
    page.on("pageerror", lambda error: watch.errors.append(str(error)))
    page.watch = watch
    page.goto(f"http://{address}/console")
    page.wait_for_selector("body[data-ready=true]")
    return page


def find(page: Any, kind: str, value: str) -> None:
    page.select_option("#kind", kind)
    page.fill("#value", value)
    page.click("#find button[type=submit]")
    page.wait_for_selector("#member:not([hidden]) #records tbody tr")


ANNS = ("C-ANN", "loyalty:LD11110001", "I-ANN-1")  # Ann's records on the crossed member


def preview_split_of_ann(page: Any, crossed: str) -> None:
    """The steward picks Ann's records on the crossed member, previews the split and starts
    to say why."""
    find(page, "MEMBER", crossed)
    for key in ANNS:
        page.check(f"#records tbody tr[data-key='{key}'] .pick-record")
    page.click("#preview-split")
    page.wait_for_selector("#preview:not([hidden]) .member-card")
    page.fill("#reason", "two people")


def fits_the_screen(page: Any, width: int) -> None:
    """No sideways scrolling: the page is no wider than the screen."""
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"the page is {wide} px wide on a {width} px screen"


def on_screen(locator: Any, width: int) -> None:
    box = locator.bounding_box()
    assert locator.is_visible() and box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box


def shot(page: Any, name: str, full_page: bool = True) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=full_page)


def undo_offered(page: Any) -> dict[str, set[bool]]:
    """Each kind of event in the member's history: whether its rows offer an Undo."""
    rows = page.locator("#history tbody tr").evaluate_all(
        "rows => rows.map(r => [r.cells[1].textContent, !!r.querySelector('button')])"
    )
    offered: dict[str, set[bool]] = {}
    for kind, has_button in rows:
        offered.setdefault(kind, set()).add(has_button)
    return offered

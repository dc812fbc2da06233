"""GraphiQL works offline: the page names no external host, every asset it loads is served
by the gateway itself, byte for byte the file its integrity hash pins; in a real headless
Chromium (when installed) the example query runs and its answer shows on the page."""

from __future__ import annotations

import base64
import hashlib
import re

from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.graphiql import ASSETS
from membergraph.settings import Settings
from tests.support.browser import chromium
from tests.support.http import serving

HTML = {"accept": "text/html"}


def _assets(page: str) -> list[tuple[str, str]]:
    """(URL, integrity) of every script and stylesheet the page loads."""
    tags = re.findall(r"<(?:script|link)\b[^>]*>", page)
    found = []
    for tag in tags:
        url = re.search(r'\b(?:src|href)="([^"]+)"', tag)
        if url and not url.group(1).startswith("data:"):
            integrity = re.search(r'integrity="([^"]+)"', tag)
            found.append((url.group(1), integrity.group(1) if integrity else ""))
    return found


def test_the_page_loads_nothing_from_another_host(client: TestClient) -> None:
    page = client.get("/graphql", headers=HTML).text
    assets = _assets(page)
    assert len(assets) == len(ASSETS)
    assert all(url.startswith("/graphiql/") for url, _ in assets), assets
    assert "unpkg.com" not in page


def test_every_asset_is_the_file_its_integrity_hash_pins(client: TestClient) -> None:
    page = client.get("/graphql", headers=HTML).text
    for url, integrity in _assets(page):
        zipped = client.get(url, headers={"accept-encoding": "gzip"})
        plain = client.get(url, headers={"accept-encoding": "identity"})
        assert zipped.status_code == plain.status_code == 200
        assert zipped.headers["content-encoding"] == "gzip"
        assert "content-encoding" not in plain.headers
        assert zipped.content == plain.content  # the client unzipped the first
        digest = base64.b64encode(hashlib.sha384(plain.content).digest()).decode()
        assert integrity == f"sha384-{digest}", url
        assert "immutable" in plain.headers["cache-control"]


def test_an_unknown_asset_is_404(client: TestClient) -> None:
    assert client.get("/graphiql/react@99.js").status_code == 404
    assert client.get("/graphiql/..%2Fapp.py").status_code == 404


def test_graphiql_runs_the_example_query_in_a_real_browser(settings: Settings) -> None:
    with chromium() as page, serving(create_app(settings)) as address:
        page.call("Page.navigate", url=f"http://{address}/graphql")
        page.wait_for("document.querySelector('.graphiql-execute-button') !== null")
        # The editor holds the example: a real demo member looked up by e-mail.
        assert "memberByIdentifier" in page.evaluate(
            "document.querySelector('.graphiql-query-editor').innerText"
        )
        page.evaluate("document.querySelector('.graphiql-execute-button').click()")
        shown = page.wait_for(
            "(() => { const text = (document.querySelector('.result-window') || {}).innerText;"
            " return text && text.includes('memberByIdentifier') ? text : ''; })()"
        )
        assert re.search(r'"id":\s*"m_', shown), shown

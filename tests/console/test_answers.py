"""What the console tells a person of what it cannot show: a key that may not read members,
a gateway a proxy answers for, and a score never rounded up to a certainty (in a real
headless Chromium)."""

from __future__ import annotations

from typing import Any

import orjson

from tests.console.support import COUNTER, STEWARD
from tests.support.browser import NEEDS_CHROMIUM

pytestmark = NEEDS_CHROMIUM

PROXY_PAGE = "<html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"


def _answering(page: Any, asked: str, **reply: Any) -> None:
    """The page's GraphQL requests that ask ``asked`` answered with ``reply`` (as
    Playwright's ``route.fulfill`` takes it); the others go to the gateway."""

    def handle(route: Any) -> None:
        if asked in (route.request.post_data or ""):
            route.fulfill(**reply)
        else:
            route.fallback()

    page.route("**/graphql", handle)


def test_a_key_that_may_not_read_members_is_told_what_it_may_do(server: str, console: Any) -> None:
    # Adversarial pass (hostile19): a key without profile:read read "may look, not change",
    # though every search it made was refused.
    page = console(server, COUNTER)
    said = page.inner_text("#viewer")
    assert "may not look members up (the key lacks profile:read)" in said, said
    assert "may read the conflicts queue" in said and "may look" not in said, said
    assert page.locator("#tab-conflicts").is_visible()
    page.watch.only_here(page)


def test_a_proxys_error_page_is_said_with_its_status(server: str, console: Any) -> None:
    # Adversarial pass (hostile19): a proxy's HTML 502 made the page's request throw, and the
    # search showed nothing at all.
    page = console(server, STEWARD)
    _answering(page, "memberByIdentifier", status=502, content_type="text/html", body=PROXY_PAGE)
    page.select_option("#kind", "CRM_ID")
    page.fill("#value", "C-ANN")
    page.click("#find button[type=submit]")
    page.wait_for_selector("#message:not([hidden])")
    said = page.inner_text("#message")
    assert "HTTP 502" in said and "did not answer" in said, said
    assert page.watch.errors == []


def test_a_near_certain_score_is_not_shown_as_certain(server: str, console: Any) -> None:
    # Adversarial pass (hostile19): a 0.99999 suggestion read "score 1.00".
    pair = {
        "a": {"source": "CRM", "key": "C-CY"},
        "b": {"source": "CRM", "key": "C-DI"},
        "memberIds": ["m_a", "m_b"],
        "score": 0.99999,
        "since": "2026-12-01T10:00:00+00:00",
        "evidence": [{"field": "PHONE", "level": "exact", "weight": 9.5, "a": "x", "b": "y"}],
    }
    page_info = {"endCursor": "c1", "hasNextPage": False}
    found = {"totalCount": 1, "pageInfo": page_info, "edges": [{"node": pair}]}
    answer = {"data": {"matchSuggestions": found}}
    page = console(server, STEWARD)
    _answering(
        page,
        "edges { node { a {",
        status=200,
        content_type="application/json",
        body=orjson.dumps(answer).decode(),
    )
    page.click("#tab-suggestions")
    title = page.locator("article.suggestion h3").first
    title.wait_for()
    assert "score 0.99 " in title.inner_text(), title.inner_text()

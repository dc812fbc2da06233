"""``Accept`` is read as RFC 9110 says (ranges and qualities), not by substring."""

from __future__ import annotations

import pytest

from membergraph.http_rules import _answerable, wants_graphql_response

SPEC = "application/graphql-response+json"


@pytest.mark.parametrize(
    ("accept", "spec", "answerable"),
    [
        ("", True, True),
        (SPEC, True, True),
        ("application/json", False, True),
        (f"{SPEC}, application/json;q=0.9", True, True),
        (f"application/json, {SPEC};q=0.9", False, True),
        (f"{SPEC};q=0, application/json", False, True),
        ("*/*", False, True),
        ("application/*", False, True),
        ("text/html,application/xhtml+xml,*/*;q=0.8", False, True),
        ("application/json;q=0", False, False),
        ("text/plain", False, False),
        ("image/png, */*;q=0", False, False),
        ("application/json;q=oops", False, False),
    ],
)
def test_accept_is_read_by_range_and_quality(accept: str, spec: bool, answerable: bool) -> None:
    assert wants_graphql_response(accept) is spec
    if accept:
        assert _answerable(accept, "POST") is answerable
        assert _answerable(accept, "GET") is answerable


@pytest.mark.parametrize(
    ("method", "answerable"),
    [pytest.param("GET", True, id="get-is-graphiql"), pytest.param("POST", False, id="post")],
)
def test_html_alone_is_answered_to_a_get_only(method: str, answerable: bool) -> None:
    assert _answerable("text/html", method) is answerable

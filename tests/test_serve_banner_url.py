"""The URL `serve` prints is one a browser on this machine opens: never `0.0.0.0` (a user
behind credentials serving on every address pasted it), and an IPv6 host in brackets."""

from __future__ import annotations

import pytest

from membergraph.serve_banner import local_url as _local_url


@pytest.mark.parametrize(
    ("host", "url", "every"),
    [
        ("127.0.0.1", "http://127.0.0.1:8000/graphql", False),
        ("localhost", "http://localhost:8000/graphql", False),
        ("::1", "http://[::1]:8000/graphql", False),
        ("0.0.0.0", "http://127.0.0.1:8000/graphql", True),
        ("::", "http://[::1]:8000/graphql", True),
        ("10.1.2.3", "http://10.1.2.3:8000/graphql", False),
    ],
)
def test_the_banner_url_opens_in_a_browser_here(host: str, url: str, every: bool) -> None:
    assert _local_url(host, 8000) == (url, every)

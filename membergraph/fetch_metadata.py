"""Requests another site's page makes without CORS, refused (Fetch Metadata).

A browser that holds the gateway's HTTP credentials (the Basic login GraphiQL and the steward
console ask for) sends them with every request to it, an ``<img>`` or ``<script>`` of any
site's page included. The page cannot read the answer, but the request runs in that user's
name: a query or an export writes the PII audit's entries for reads she never made, and an
export of every member costs as much as one she asked for. Browsers say such a request is one
(``Sec-Fetch-Mode: no-cors`` from a ``cross-site`` or ``same-site`` page), and no client of the
gateway makes one: pages of listed origins call in CORS mode, the gateway's own pages are
same-origin, and servers send no Fetch Metadata at all.
"""

from __future__ import annotations

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from membergraph.asgi_headers import named_headers

__all__ = ["REFUSAL", "OtherSitesPages", "from_another_sites_page"]

_READ = frozenset({b"sec-fetch-mode", b"sec-fetch-site"})
_OTHER_SITES = frozenset({"cross-site", "same-site"})
REFUSAL = (
    "a page of another site may not call the gateway without CORS (Sec-Fetch-Mode: no-cors):"
    " call from a listed origin (MEMBERGRAPH_CORS_ORIGINS)"
)
_OPEN = frozenset({"/healthz", "/readyz"})  # they hold nothing: probes may come from anywhere


def from_another_sites_page(scope: Scope) -> bool:
    """Whether a request is an ``<img>``, ``<script>`` or the like of another site's page."""
    said = named_headers(scope, _READ)
    return said.get("sec-fetch-mode") == "no-cors" and said.get("sec-fetch-site") in _OTHER_SITES


class OtherSitesPages:
    """Refuses (403, JSON) what another site's page asks without CORS, before credentials
    are read; ``/graphql`` is left to :class:`~membergraph.http_rules.GraphQLHttpRules`, which
    refuses it in GraphQL's shape."""

    def __init__(self, app: ASGIApp, graphql: str = "/graphql") -> None:
        self.app = app
        self.graphql = graphql

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if (
            scope["type"] != "http"
            or path == self.graphql
            or path in _OPEN
            or not from_another_sites_page(scope)
        ):
            await self.app(scope, receive, send)
            return
        body = orjson.dumps({"error": REFUSAL})
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 403, "headers": headers})
        await send({"type": "http.response.body", "body": body})

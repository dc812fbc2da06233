"""``/console``: the steward console, a small single-page app served by the gateway itself.

Its files live in ``static/console/`` (no build step, no framework, nothing fetched from
another host: a Content-Security-Policy of ``'self'`` makes the browser refuse anything
else). It is a client of the public GraphQL API like any other; the gateway's scopes decide
what it may see and do (``profile:read`` to look, ``identity:write`` to act), and the
authentication in front of every path covers it too.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

__all__ = ["asset", "page"]

_FOLDER = Path(__file__).parent / "static" / "console"
_FILES = {
    "console.js": "text/javascript; charset=utf-8",
    "lib.js": "text/javascript; charset=utf-8",
    "graph.js": "text/javascript; charset=utf-8",
    "queues.js": "text/javascript; charset=utf-8",
    "live.js": "text/javascript; charset=utf-8",
    "member.js": "text/javascript; charset=utf-8",
    "refusals.js": "text/javascript; charset=utf-8",
    "console.css": "text/css; charset=utf-8",
}
_POLICY = (
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
    "style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
_HEADERS = {"content-security-policy": _POLICY, "x-content-type-options": "nosniff"}


@cache
def _read(name: str) -> bytes:
    return (_FOLDER / name).read_bytes()


async def page(request: Request) -> Response:
    """``GET /console``: the app's page."""
    headers = {**_HEADERS, "cache-control": "no-cache"}
    return Response(_read("index.html"), media_type="text/html; charset=utf-8", headers=headers)


async def asset(request: Request) -> Response:
    """``GET /console/{name}``: its scripts (ES modules) and style sheet."""
    name = request.path_params["name"]
    if name not in _FILES:
        return JSONResponse({"error": "no such console file"}, status_code=404)
    headers = {**_HEADERS, "cache-control": "no-cache"}
    return Response(_read(name), media_type=_FILES[name], headers=headers)

"""``/console``: the steward console, a small single-page app served by the gateway itself.

Its files live in ``static/console/`` (no build step, no framework, nothing fetched from
another host: a Content-Security-Policy of ``'self'`` makes the browser refuse anything
else). It is a client of the public GraphQL API like any other; the gateway's scopes decide
what it may see and do (``profile:read`` to look, ``identity:write`` to act), and the
authentication in front of every path covers it too. A caller none of whose scopes the
console uses (a till's ``ingest:write`` key) is refused it (403), as the API refuses it.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from membergraph.auth import caller_of

__all__ = ["CONSOLE_SCOPES", "asset", "page"]

CONSOLE_SCOPES = ("profile:read", "identity:write", "analytics:read")
"""What the console does with a key: look members up, review the queues and act, read the
conflicts queue. A key with none of them could open the page and do nothing on it."""
_REFUSED = {"error": "the steward console needs one of the scopes " + ", ".join(CONSOLE_SCOPES)}

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


def _refused(request: Request) -> Response | None:
    """403 for a caller none of whose scopes the console uses (None: it may open it)."""
    caller = caller_of(request)
    if any(caller.can(scope) for scope in CONSOLE_SCOPES):
        return None
    return JSONResponse(_REFUSED, status_code=403, headers=_HEADERS)


async def page(request: Request) -> Response:
    """``GET /console``: the app's page (403 to a caller it would be of no use to)."""
    if (refused := _refused(request)) is not None:
        return refused
    headers = {**_HEADERS, "cache-control": "no-cache"}
    return Response(_read("index.html"), media_type="text/html; charset=utf-8", headers=headers)


async def asset(request: Request) -> Response:
    """``GET /console/{name}``: its scripts (ES modules) and style sheet."""
    if (refused := _refused(request)) is not None:
        return refused
    name = request.path_params["name"]
    if name not in _FILES:
        return JSONResponse({"error": "no such console file"}, status_code=404)
    headers = {**_HEADERS, "cache-control": "no-cache"}
    return Response(_read(name), media_type=_FILES[name], headers=headers)

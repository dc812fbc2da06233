"""Starlette's CORS middleware, its preflight refusal said in JSON as every refusal is.

It runs in every mode, a list of origins or none: a browser sends no credentials on a
preflight, so a preflight is never asked for them (401) nor left to a route that knows no
``OPTIONS`` (405); from an origin not listed it is the 400 that names the origin and
``MEMBERGRAPH_CORS_ORIGINS``. With no origin listed, every other request passes untouched.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

__all__ = ["JsonCORSMiddleware"]


class JsonCORSMiddleware(CORSMiddleware):
    """A preflight refused (400) answers ``{"error": ...}`` naming what was not allowed (the
    origin and where origins are allowed, the method or headers and those allowed), instead
    of Starlette's plain "Disallowed CORS origin", and carries no ``Access-Control-Allow-*``
    header (a refusal grants nothing)."""

    async def simple_response(
        self, scope: Scope, receive: Receive, send: Send, request_headers: Headers
    ) -> None:
        if not self.allow_origins and self.allow_origin_regex is None:
            await self.app(scope, receive, send)  # no origin allowed: nothing to add
            return
        await super().simple_response(scope, receive, send, request_headers)

    def preflight_response(self, request_headers: Headers) -> Response:
        request_headers = _without_blank_names(request_headers)
        said = super().preflight_response(request_headers)
        if said.status_code != 400:
            return said
        failures = bytes(said.body).decode().removeprefix("Disallowed CORS ").split(", ")
        refused = [self._refused(failure, request_headers) for failure in failures]
        error = "cross-origin request refused: " + "; ".join(refused)
        return JSONResponse({"error": error}, 400, headers={"Vary": said.headers["vary"]})

    def _refused(self, failure: str, request_headers: Headers) -> str:
        """What one failure of a preflight says to the developer who reads it."""
        if failure == "origin":
            origin = request_headers.get("origin")
            if not self.allow_origins:
                return f"its origin {origin} is not allowed (MEMBERGRAPH_CORS_ORIGINS lists none)"
            return f"its origin {origin} is not allowed (list it in MEMBERGRAPH_CORS_ORIGINS)"
        if failure == "method":
            method = request_headers.get("access-control-request-method")
            return f"its method {method} is not allowed (allowed: {', '.join(self.allow_methods)})"
        if failure == "headers":
            asked = (request_headers.get("access-control-request-headers") or "").split(",")
            extra = [h.strip() for h in asked if h.strip().lower() not in self.allow_headers]
            allowed = ", ".join(self.allow_headers)
            return f"its headers {', '.join(extra)} are not allowed (allowed: {allowed})"
        return f"its {failure} is not allowed"


_ASKED = b"access-control-request-headers"


def _without_blank_names(request_headers: Headers) -> Headers:
    """The preflight's headers with no blank name in the list of headers it asks for (a
    blank list asks for none, ``a,,b`` for two): Starlette refused the empty name."""
    asked = request_headers.get("access-control-request-headers")
    if asked is None:
        return request_headers
    names = [name.strip() for name in asked.split(",") if name.strip()]
    raw = [(k, v) for k, v in request_headers.raw if k != _ASKED]
    if names:
        raw.append((_ASKED, ", ".join(names).encode("latin-1")))
    return Headers(raw=raw)

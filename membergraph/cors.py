"""Starlette's CORS middleware, its preflight refusal said in JSON as every refusal is."""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse, Response

__all__ = ["JsonCORSMiddleware"]


class JsonCORSMiddleware(CORSMiddleware):
    """A preflight refused (400) answers ``{"error": ...}`` naming what was not allowed and
    where origins are allowed, instead of Starlette's plain "Disallowed CORS origin"."""

    def preflight_response(self, request_headers: Headers) -> Response:
        said = super().preflight_response(request_headers)
        if said.status_code != 400:
            return said
        failures = bytes(said.body).decode().removeprefix("Disallowed CORS ")
        error = f"cross-origin request refused: its {failures} not allowed"
        if "origin" in failures:
            error += f" (origin {request_headers.get('origin')}: MEMBERGRAPH_CORS_ORIGINS)"
        body = ("content-type", "content-length")  # (the JSON's own)
        kept = {k: v for k, v in said.headers.items() if k not in body}
        return JSONResponse({"error": error}, 400, headers=kept)

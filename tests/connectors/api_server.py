"""A small source API for tests (Starlette), speaking what ``HttpSource`` expects, that can be
made slow, failing or malformed, and that records every request it gets."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route


@dataclass
class SourceApi:
    source: str
    lines: list[dict[str, Any]]
    owner_of: Callable[[dict[str, Any]], str | None]
    failures: int = 0  # answer 500 to this many requests first
    status: int | None = None  # answer every request with this status
    delay: float = 0.0  # seconds before answering
    malformed: bool = False  # answer text that is not JSON
    gzip_bomb_mib: int = 0  # answer this many MiB of JSON, gzipped to a few KiB
    stall_after: str | None = None  # a listing page from this cursor waits for ever
    drip: float = 0.0  # seconds between the bytes of an answer (each read well in time)
    wrap_to: str | None = None  # the listing's last page names this cursor next, not null
    raw: bytes | None = None  # answer every request with this text, as JSON
    lookups_left: int | None = None  # answer this many lookups, then go down (``down``)
    down: Callable[[], None] | None = None  # stops the server (``serving_server``)
    requests: list[dict[str, Any]] = field(default_factory=list)

    @property
    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route(f"/{self.source}/lines", self._lookup),
                Route(f"/{self.source}/all", self._listing),
            ]
        )

    async def _misbehave(self, request: Request) -> Response | None:
        self.requests.append(
            {
                "path": request.url.path,
                "keys": request.query_params.getlist("key"),
                "authorization": request.headers.get("authorization"),
                "traceparent": request.headers.get("traceparent"),
                "after": request.query_params.get("after"),
                "since": request.query_params.get("updated_since"),
            }
        )
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.failures > 0:
            self.failures -= 1
            return PlainTextResponse("upstream hiccup", status_code=503)
        if self.status is not None:
            return PlainTextResponse("no such thing", status_code=self.status)
        if self.malformed:
            return PlainTextResponse("<html>not json</html>", media_type="application/json")
        if self.raw is not None:
            return Response(self.raw, media_type="application/json")
        if self.gzip_bomb_mib:
            body = gzip.compress(b"[" + b" " * (self.gzip_bomb_mib << 20) + b"]")
            return Response(
                body, media_type="application/json", headers={"content-encoding": "gzip"}
            )
        return None

    async def _lookup(self, request: Request) -> Response:
        if (trouble := await self._misbehave(request)) is not None:
            return trouble
        if self.lookups_left is not None:
            if self.lookups_left == 0 and self.down is not None:
                self.down()  # the server stops: this answer is its last
                return PlainTextResponse("going down", status_code=503)
            self.lookups_left -= 1
        keys = set(request.query_params.getlist("key"))
        return JSONResponse([line for line in self.lines if self.owner_of(line) in keys])

    async def _listing(self, request: Request) -> Response:
        if (trouble := await self._misbehave(request)) is not None:
            return trouble
        if self.stall_after is not None and request.query_params.get("after") == self.stall_after:
            await asyncio.sleep(3600)
        limit = int(request.query_params["limit"])
        start = int(request.query_params.get("after", 0))
        lines = self.lines
        if (since := request.query_params.get("updated_since")) is not None:
            # Changed lines, in the order they changed (ISO 8601 UTC times sort as text).
            lines = sorted(
                (line for line in lines if str(line.get("updated_at", "")) >= since),
                key=lambda line: str(line.get("updated_at", "")),
            )
        page = lines[start : start + limit]
        following: int | str | None = start + limit if start + limit < len(lines) else None
        if following is None and self.wrap_to is not None:
            following = self.wrap_to  # a listing that comes round at its end
        if self.drip:
            return StreamingResponse(
                self._dripped(orjson.dumps({"lines": page, "next": following})),
                media_type="application/json",
            )
        return JSONResponse({"lines": page, "next": following})

    async def _dripped(self, body: bytes) -> AsyncIterator[bytes]:
        for n in range(len(body)):
            yield body[n : n + 1]
            await asyncio.sleep(self.drip)

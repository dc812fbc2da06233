"""One limit on request bodies, for every route that reads one: a declared ``Content-Length``
over it is refused before a byte is read, and a body sent without one (chunked) is counted as
it arrives and refused at the first chunk past it, never buffered whole first. Each route
keeps its own answer's shape (GraphQL's ``errors``, an ingest's ``error``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from membergraph.asgi_headers import named_headers

__all__ = ["BodyLimit", "BodyRule", "send_json"]


Refuse = Callable[[Send, int], Awaitable[None]]
"""Answer 413 in the route's own shape, given the limit."""


@dataclass(frozen=True, slots=True)
class BodyRule:
    """The largest body a route takes: ``path`` itself, or every path under it when it ends
    with ``/``."""

    path: str
    max_bytes: int
    refuse: Refuse

    def covers(self, path: str) -> bool:
        return path.startswith(self.path) if self.path.endswith("/") else path == self.path


class _TooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, rules: Sequence[BodyRule]) -> None:
        self.app = app
        self.rules = tuple(rules)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rule = None
        if scope["type"] == "http":
            rule = next((r for r in self.rules if r.covers(scope["path"])), None)
        if rule is None:
            await self.app(scope, receive, send)
            return
        limit = rule.max_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await rule.refuse(send, limit)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, tracking)
        except _TooLarge:
            if not started:
                await rule.refuse(send, limit)


def _content_length(scope: Scope) -> int | None:
    declared = named_headers(scope, _LENGTH).get("content-length", "")
    return int(declared) if declared.isdigit() else None


_LENGTH = frozenset({b"content-length"})


async def send_json(
    send: Send, status: int, payload: object, headers: Sequence[tuple[bytes, bytes]] = ()
) -> None:
    """A whole JSON answer, sent in two ASGI messages."""
    body = orjson.dumps(payload)
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        *headers,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

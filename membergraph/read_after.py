"""Reading your own writes on any process: the feed position as a consistency token.

Each process keeps answers (the response cache) true by following the store's change feed,
which it reads every ``MEMBERGRAPH_FEED_POLL_S`` (0.2 s) and at once after its own writes: a
write through one process is in another's answers once that one has read the feed through
it. So a write answers where it reached: ``POST /ingest/{source}`` and every mutation over
HTTP carry ``Membergraph-Feed-Position``, the feed cursor through which that process has
read, its write's entries included. A request carrying it back in ``Membergraph-Read-After``
is answered, from the cache or afresh, once the process answering it has read the feed
through that position (read now, not at the next poll: about one read of the feed), on any
process; if that takes longer than :data:`WAIT_S` (the store slow or unreachable), it is
answered afresh, never from the cache.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from membergraph.asgi_headers import header
from membergraph.http_rules import send_error
from membergraph.identity.feed import FeedFollower
from membergraph.response_cache import HttpResponseCache

__all__ = ["FEED_POSITION", "READ_AFTER", "WAIT_S", "ReadAfter"]

FEED_POSITION = "membergraph-feed-position"
"""The response header of a write: the feed position its process has read through."""
READ_AFTER = "membergraph-read-after"
"""The request header: answer only once this process has read the feed through it."""
WAIT_S = 2.0
"""The longest a request waits for its process to read the feed through its position."""

_LONGEST = 19  # digits of a cursor (a 64-bit integer)


class ReadAfter:
    """Pure ASGI middleware inside authentication, outside the response cache: a request's
    ``Membergraph-Read-After`` waited for, a write's ``Membergraph-Feed-Position`` told."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        follower: FeedFollower | None = scope["app"].state.gateway.feed
        asked = header(scope, READ_AFTER.encode())
        if asked is not None:
            position = asked.strip()
            if not (position.isascii() and position.isdigit() and len(position) <= _LONGEST):
                reason = (
                    f"{READ_AFTER.title()} takes a feed position: the digits a write "
                    f"answered in {FEED_POSITION.title()}"
                )
                await send_error(send, 400, reason, code="BAD_REQUEST")
                return
            if follower is None or not await follower.reached(int(position), WAIT_S):
                # Not known to be true here yet: answered afresh, never from the cache.
                scope.setdefault("state", {})[HttpResponseCache.REFRESH] = True
        if follower is None or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        await self.app(scope, receive, _telling_position(scope, send, follower))


def _telling_position(scope: Scope, send: Send, follower: FeedFollower) -> Send:
    """``send`` adding ``Membergraph-Feed-Position`` to the answer of a write: a push, or a
    mutation (known by the plan the response cache made of it). The writes caught the
    process's follower up before answering, so it is past their entries."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start" and _wrote(scope):
            headers = [*message.get("headers", []), _position_header(follower)]
            message = {**message, "headers": headers}
        await send(message)

    return sending


def _wrote(scope: Scope) -> bool:
    if str(scope["path"]).startswith("/ingest/"):
        return True
    ticket: Any = scope.get("state", {}).get(HttpResponseCache.STATE)
    return bool(getattr(getattr(ticket, "plan", None), "mutation", False))


def _position_header(follower: FeedFollower) -> tuple[bytes, bytes]:
    return FEED_POSITION.encode(), str(follower.delivered).encode()

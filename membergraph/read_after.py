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

from starlette.types import ASGIApp, Receive, Scope, Send

from membergraph.asgi_headers import header
from membergraph.http_rules import send_error
from membergraph.identity.feed import FeedFollower
from membergraph.response_cache import HttpResponseCache

__all__ = ["FEED_POSITION", "READ_AFTER", "WAIT_S", "ReadAfter", "feed_position"]

FEED_POSITION = "membergraph-feed-position"
"""The response header of a write: the feed position its process has read through."""
READ_AFTER = "membergraph-read-after"
"""The request header: answer only once this process has read the feed through it."""
WAIT_S = 2.0
"""The longest a request waits for its process to read the feed through its position."""

_LONGEST = 19  # digits of a cursor (a 64-bit integer)
_ASKED = READ_AFTER.encode()


class ReadAfter:
    """Pure ASGI middleware inside authentication, outside the response cache: a request's
    ``Membergraph-Read-After`` waited for (the writes tell their position themselves,
    :func:`feed_position`, where they answer)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and (asked := header(scope, _ASKED)) is not None:
            position = asked.strip()
            if not (position.isascii() and position.isdigit() and len(position) <= _LONGEST):
                reason = (
                    f"{READ_AFTER.title()} takes a feed position: the digits a write "
                    f"answered in {FEED_POSITION.title()}"
                )
                await send_error(send, 400, reason, code="BAD_REQUEST")
                return
            follower: FeedFollower | None = scope["app"].state.gateway.feed
            if follower is None or not await follower.reached(int(position), WAIT_S):
                # Not known to be true here yet: answered afresh, never from the cache.
                scope.setdefault("state", {})[HttpResponseCache.REFRESH] = True
        await self.app(scope, receive, send)


def feed_position(follower: FeedFollower | None) -> dict[str, str]:
    """The header a write answers with (none without a follower): the cursor through which
    this process has delivered the feed. A write catches the follower up before it
    answers, so it is past the write's own entries."""
    return {} if follower is None else {FEED_POSITION: str(follower.delivered)}

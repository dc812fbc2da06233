"""graphql-transport-ws for browsers and long-lived sockets.

A browser cannot set a WebSocket's headers, so the credential may come in ``connection_init``
(``{"Authorization": "Bearer ..."}``); a socket without a valid one is closed with 4403
(Forbidden: the protocol's close for a refused ``connection_init``; one that subscribes before
it, 4401). A socket authenticated by a JWT lives no longer than the token: at its ``exp`` it
closes with 4401.
Persisted queries hold here as over HTTP: in allow-list mode an operation the manifest does
not list is answered with an ``error`` message, and a hash alone runs its registered text.
A query or mutation sent over the socket has the time budget it has over HTTP.
A subscriber that stops reading is cut off, never waited for: a change that waits
:data:`SEND_WAIT` seconds for a socket that takes nothing (its buffers full) ends the socket's
subscriptions (counted and logged by the feed, :meth:`FeedFollower.fell_behind`) and closes it
with :data:`FELL_BEHIND` once the socket takes the close, behind the changes already on their
way; a subscription whose changes pile up in the process (1,000 unread) is answered
``FEED_EXPIRED`` instead (``identity/feed.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

from graphql import GraphQLError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
    SubscribeMessage,
)
from strawberry.types.graphql import OperationType

from membergraph.auth import ANONYMOUS, InvalidToken, KeysUnavailable
from membergraph.http_rules import wrong_shape
from membergraph.persisted import PersistedQueryError
from membergraph.resolvers.context import RequestContext
from membergraph.resolvers.errors import over_time_budget
from membergraph.schema.operation import MAX_TOKENS, operation_type, parse_document
from membergraph.write_budget import within

__all__ = ["FELL_BEHIND", "NO_QUERY", "SEND_WAIT", "OriginRefusalNamesTheSetting", "TransportWS"]

SEND_WAIT = 5.0
"""Seconds an operation's message may wait for a socket that takes nothing before the client
is taken to have stopped reading (well under the 20 s of uvicorn's keepalive, whose ping sits
behind the unread changes and would close the socket with no word of why)."""
FELL_BEHIND = (1013, "subscriber fell behind; resume with `after` its last cursor")
"""The close of a socket that stopped taking its changes: 1013 Try Again Later (a client
such as graphql-ws reconnects), and what to resume with."""

NO_QUERY = "no GraphQL query in the request"
"""What a request without a query is refused with, over HTTP and WebSocket alike."""


class _FellBehind(BaseException):
    """Ends a subscription whose client took nothing for :data:`SEND_WAIT`: past Strawberry's
    ``except Exception`` in ``run_operation`` (which would log it as a failure and send a
    ``complete`` into the same full queue), caught in ours. (Strawberry's own class for an
    operation ending itself is private.)"""


class TransportWS(BaseGraphQLTransportWSHandler[RequestContext, None]):
    """graphql-transport-ws whose ``connection_init`` may carry the credential, as browsers
    send it (they cannot set a WebSocket's headers): ``{"Authorization": "Bearer ..."}``."""

    view: Any  # the app's GraphQL view: its authenticator checks the credential

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        state = self.context.request.scope["state"]
        payload = message.get("payload") or {}
        if (
            state.get("caller") is ANONYMOUS
            and not self.connection_init_received
            and not self.connection_timed_out
            and isinstance(payload, dict)  # else the protocol's 4400, from the base class
        ):
            given = {str(k).lower(): v for k, v in payload.items() if isinstance(v, str)}
            try:
                caller = await self.view.authenticator.caller(given)
            except InvalidToken as refused:
                await self.websocket.close(code=4403, reason=str(refused)[:120])
                return
            except KeysUnavailable as down:
                # 1013 Try Again Later: the token may be valid, its keys could not be read.
                await self.websocket.close(code=1013, reason=str(down)[:120])
                return
            if caller is None:
                await self.websocket.close(code=4403, reason="Forbidden")
                return
            state["caller"] = caller
        await super().handle_connection_init(message)
        expires = getattr(state.get("caller"), "expires_at", None)
        if expires is not None and self.expiry is None:
            self.expiry = asyncio.create_task(self._close_when_expired(expires))

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message.get("payload")
        if self.connection_acknowledged and "payload" in message and not isinstance(payload, dict):
            # Strawberry indexes it as an object: a string or a list was a traceback and a
            # socket dropped without a close code.
            reason = f"Invalid subscribe payload: an object, not {type(payload).__name__}"
            await self.websocket.close(code=4400, reason=reason)
            return
        if (
            self.connection_acknowledged
            and isinstance(payload, dict)
            and message.get("id") not in self.operations  # else the protocol's 4409
        ):
            wrong = wrong_shape(payload)
            if wrong is not None:  # the protocol's answer to an invalid message
                await self.websocket.close(code=4400, reason=f"Invalid subscribe payload: {wrong}")
                return
            try:
                query = self.view.persisted.query_for(
                    payload.get("query"), payload.get("extensions")
                )
            except PersistedQueryError as unknown:
                error = GraphQLError(str(unknown), extensions={"code": unknown.code})
                await self._refuse(message["id"], error)
                return
            refused = _request_error(query)
            if refused is not None:
                await self._refuse(message["id"], refused)
                return
            message = {**message, "payload": {**payload, "query": query}}
        await super().handle_subscribe(message)

    async def _refuse(self, operation_id: str, error: GraphQLError) -> None:
        """A subscribe refused before it runs: one ``error`` message with the code HTTP
        answers, one INFO line (the log filter's), and the socket open for the next one."""
        self.schema.process_errors([error])
        await self.send_message({"id": operation_id, "type": "error", "payload": [error.formatted]})

    async def run_operation(self, operation: Operation[RequestContext, None]) -> None:
        with contextlib.suppress(_FellBehind):
            await self._run(operation)

    async def _run(self, operation: Operation[RequestContext, None]) -> None:
        # A subscription lives as long as its client wants; a query or a mutation has the
        # request's time budget, as over HTTP, and past it answers TIMEOUT, then completes.
        kind = operation_type(operation.query, operation.operation_name)
        if kind is OperationType.SUBSCRIPTION:
            await super().run_operation(operation)
            return
        budget = self.view.timeout
        try:
            async with within(budget):  # (a write it makes stops it: write_budget)
                await super().run_operation(operation)
        except TimeoutError:
            error = over_time_budget(budget).formatted
            await operation.send_operation_message(
                {"id": operation.id, "type": "next", "payload": {"data": None, "errors": [error]}}
            )
            await operation.send_operation_message({"id": operation.id, "type": "complete"})

    async def send_message(self, message: Message) -> None:
        # Errors carry the codes clients switch on, as over HTTP.
        if message["type"] == "error":
            self.view.code_errors(message["payload"])
        elif message["type"] == "next" and message["payload"].get("errors"):
            self.view.code_errors(message["payload"]["errors"])
        if message["type"] != "next":
            await super().send_message(message)
            return
        try:
            async with asyncio.timeout(SEND_WAIT):
                await super().send_message(message)
        except TimeoutError:
            # Nothing of the message was written (the wait is for room to write it whole).
            self._fell_behind(message["id"])
            raise _FellBehind from None

    closing: asyncio.Task[None] | None = None

    def _fell_behind(self, operation_id: str) -> None:
        """Ends the operation whose message waited past :data:`SEND_WAIT`, and closes the
        socket, once, when it next takes anything (a client that never reads again is
        closed by the keepalive instead)."""
        self.operations.pop(operation_id, None)
        feed = self.context.gateway.feed
        if feed is not None:
            why = f"its socket took nothing for {SEND_WAIT:g} s"
            feed.fell_behind(asyncio.current_task(), why)
        if self.closing is None:
            self.closing = asyncio.create_task(self._close_behind())

    async def _close_behind(self) -> None:
        with contextlib.suppress(Exception):
            await self.websocket.close(code=FELL_BEHIND[0], reason=FELL_BEHIND[1])

    expiry: asyncio.Task[None] | None = None

    async def _close_when_expired(self, expires_at: float) -> None:
        """A socket lives no longer than its token: at ``exp`` it is closed with 4401, as a
        new request with that token would be refused (the client reconnects with a new one)."""
        await asyncio.sleep(max(expires_at - time.time(), 0))
        with contextlib.suppress(Exception):
            await self.websocket.close(code=4401, reason="the token has expired")

    async def shutdown(self) -> None:
        for task in (self.expiry, self.closing):
            if task is not None:
                task.cancel()
        await super().shutdown()


def _request_error(query: object) -> GraphQLError | None:
    """What ``POST /graphql`` refuses a request with before it runs (no query: 400
    ``BAD_REQUEST``; a document that does not parse: ``GRAPHQL_PARSE_FAILED``), or None.
    Strawberry's socket handler lets the first through to a masked error and the second to
    a traceback and a bare ``complete``. The document is parsed through the cache the schema
    parses with, so it is parsed once."""
    if query is None or query == "":
        return GraphQLError(NO_QUERY, extensions={"code": "BAD_REQUEST"})
    if not isinstance(query, str):
        return None  # the shape check closed it (4400) before
    try:
        parse_document(query, max_tokens=MAX_TOKENS)
    except GraphQLError as error:
        return error
    return None


class OriginRefusalNamesTheSetting(logging.Filter):
    """Strawberry logs a refused WebSocket origin with advice to add it to its view's
    ``allowed_origins``; here the origins come from ``MEMBERGRAPH_CORS_ORIGINS``."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("Rejected WebSocket connection from origin"):
            record.msg = (
                "refused a WebSocket from origin %r to host %r: if pages on that origin may "
                "connect, list it in MEMBERGRAPH_CORS_ORIGINS"
            )
        return True

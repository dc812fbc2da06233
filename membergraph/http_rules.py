"""GraphQL-over-HTTP rules Strawberry's view leaves to us, as pure ASGI middleware.

On ``/graphql``: a body over the limit is 413, a POST that is not JSON is 415 (Strawberry
says 400), an ``Accept`` header that admits no media type we can answer is 406.
"""

from __future__ import annotations

from urllib.parse import parse_qs

import orjson
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["GraphQLHttpRules", "GRAPHQL_RESPONSE"]

GRAPHQL_RESPONSE = "application/graphql-response+json"
_ANSWERABLE = ("application/json", GRAPHQL_RESPONSE, "application/*", "*/*", "text/html")


class _TooLarge(Exception):
    pass


class GraphQLHttpRules:
    def __init__(self, app: ASGIApp, path: str = "/graphql", max_body: int = 1 << 20) -> None:
        self.app = app
        self.path = path
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        accept = headers.get("accept", "")
        if accept and not any(kind in accept for kind in _ANSWERABLE):
            await _error(
                send, 406, f"cannot answer {accept}; accept application/json or {GRAPHQL_RESPONSE}"
            )
            return
        if scope["method"] == "GET" and _is_mutation(scope.get("query_string", b"")):
            # GET must not change anything: the spec answers 405, and says what is allowed.
            await _error(send, 405, "mutations are only allowed over POST", allow=b"POST")
            return
        if scope["method"] == "POST":
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in ("application/json", GRAPHQL_RESPONSE):
                await _error(
                    send,
                    415,
                    f"send GraphQL requests as application/json, not {content_type or 'nothing'}",
                )
                return
            length = headers.get("content-length")
            if length and length.isdigit() and int(length) > self.max_body:
                await _error(send, 413, f"request body over {self.max_body} bytes")
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
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
                await _error(send, 413, f"request body over {self.max_body} bytes")


def _is_mutation(query_string: bytes) -> bool:
    query = parse_qs(query_string.decode("latin-1")).get("query", [""])[0]
    try:
        document = parse(query)
    except GraphQLError:
        return False  # the view answers a parse error precisely
    return any(
        isinstance(d, OperationDefinitionNode) and d.operation is OperationType.MUTATION
        for d in document.definitions
    )


async def _error(send: Send, status: int, message: str, allow: bytes | None = None) -> None:
    code = {
        405: "METHOD_NOT_ALLOWED",
        406: "NOT_ACCEPTABLE",
        413: "PAYLOAD_TOO_LARGE",
        415: "UNSUPPORTED_MEDIA_TYPE",
    }[status]
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if allow:
        headers.append((b"allow", allow))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

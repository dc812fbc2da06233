"""GraphQL-over-HTTP rules Strawberry's view leaves to us, as pure ASGI middleware.

On ``/graphql``: a body over the limit is 413 (:mod:`membergraph.body_limit` counts it), a
POST that is not JSON is 415 (Strawberry
says 400), an ``Accept`` header that admits no media type we can answer is 406, a HEAD is
answered as its GET would be, without the body.
Every refusal is JSON with ``errors[].extensions.code`` (:func:`send_error`, which the
GraphQL view uses too), logged in one line, in the GraphQL media type to a client asking
for it (:func:`refusals_as_asked`); :func:`decode_json` is how request JSON is read.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

import orjson
from graphql import GraphQLError, OperationDefinitionNode, OperationType, parse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from membergraph.asgi_headers import named_headers
from membergraph.body_limit import send_json
from membergraph.connectors.lines import deeper_than
from membergraph.fetch_metadata import REFUSAL, from_another_sites_page

__all__ = [
    "GRAPHIQL_OFF",
    "GRAPHQL_RESPONSE",
    "MAX_GRAPHQL_BYTES",
    "MAX_JSON_DEPTH",
    "GraphQLHttpRules",
    "GraphiQLOff",
    "compressed",
    "decode_json",
    "opens_the_ide",
    "refusals_as_asked",
    "graphql_too_large",
    "is_request_error",
    "request_error_code",
    "send_error",
    "wants_graphql_response",
    "wrong_shape",
]

logger = logging.getLogger(__name__)

GRAPHQL_RESPONSE = "application/graphql-response+json"
# A GraphQL request's JSON needs a handful of levels; graphql-core coerces variables
# recursively, so a deep value would exhaust Python's stack long before 1 MiB.
MAX_JSON_DEPTH = 64


def wants_graphql_response(accept: str) -> bool:
    """The GraphQL-over-HTTP media type when the client names it and prefers it at least as
    much as plain JSON (or says nothing at all): request errors then answer 400. Plain
    application/json and */* clients keep application/json and 200, as the spec says."""
    if not accept.strip():
        return True
    ranges = _ranges(accept)
    # Named, not reached through */*: a client that accepts anything gets application/json.
    spec = ranges.get(GRAPHQL_RESPONSE, 0.0)
    return spec > 0 and spec >= _quality(ranges, "application/json")


def _answerable(accept: str, method: str) -> bool:
    """Whether a media type we can answer ``method`` with is acceptable: JSON always, HTML
    only for a GET (a browser opening GraphiQL); a POST is answered in JSON alone."""
    ranges = _ranges(accept)
    kinds: tuple[str, ...] = (GRAPHQL_RESPONSE, "application/json")
    if method in ("GET", "HEAD"):
        kinds += ("text/html",)
    return any(_quality(ranges, kind) > 0 for kind in kinds)


def _ranges(accept: str) -> dict[str, float]:
    """``Accept`` as media range → quality (RFC 9110 12.5.1); a malformed q counts as 0.

    Written here rather than taken from python-mimeparse or Werkzeug: the gateway asks two
    questions only (is one of three types acceptable; is the GraphQL type preferred at
    least as much as JSON, named, not through ``*/*``), which are the lines below and
    :func:`_quality`; a library's "best match" answers neither directly, and Werkzeug
    would be a web framework installed for twenty lines. The audit in ``scripts/`` and
    the bad-input table hold them to the spec.
    """
    ranges: dict[str, float] = {}
    for part in accept.split(","):
        kind, *params = (piece.strip() for piece in part.split(";"))
        if not kind:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges[kind.lower()] = quality
    return ranges


def _quality(ranges: dict[str, float], kind: str) -> float:
    """The quality the most specific range matching ``kind`` gives it (0: not accepted)."""
    major = kind.split("/")[0]
    for candidate in (kind, f"{major}/*", "*/*"):
        if candidate in ranges:
            return ranges[candidate]
    return 0.0


_MESSAGE_TOO_BIG = 1009  # RFC 6455: a message too big to process
MAX_GRAPHQL_BYTES = 1 << 20
"""The largest GraphQL request: a POST body, and a WebSocket message (uvicorn is told it too,
``ws_max_size``, so a bigger one is refused before it is read whole)."""


_READ = frozenset({b"accept", b"content-type", b"content-length", b"content-encoding"})


class GraphQLHttpRules:
    def __init__(
        self, app: ASGIApp, path: str = "/graphql", max_body: int = MAX_GRAPHQL_BYTES
    ) -> None:
        self.app = app
        self.path = path
        self.max_body = max_body

    def _messages_capped(self, receive: Receive, send: Send) -> Receive:
        """A socket's messages bounded as a POST body is: a bigger one closes the socket
        (1009) instead of being parsed on the event loop (16 MiB per message otherwise)."""

        async def capped() -> Message:
            message = await receive()
            if message["type"] == "websocket.receive":
                size = len(message.get("text") or message.get("bytes") or b"")
                if size > self.max_body:
                    reason = f"message over {self.max_body} bytes"
                    await send(
                        {"type": "websocket.close", "code": _MESSAGE_TOO_BIG, "reason": reason}
                    )
                    return {"type": "websocket.disconnect", "code": _MESSAGE_TOO_BIG}
            return message

        return capped

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == self.path:
            await self.app(scope, self._messages_capped(receive, send), send)
            return
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        if scope["method"] == "HEAD":
            # GET without its body (RFC 9110 9.3.2): the same checks, status and headers
            # (ETag, Content-Length, a 304 too). Strawberry's view knows GET and POST only.
            scope, send = {**scope, "method": "GET"}, _headers_only(send)
        headers = named_headers(scope, _READ)
        send = refusals_as_asked(scope, send, self.path)  # these below, and the view's
        if from_another_sites_page(scope):  # an <img> of another site (fetch_metadata.py)
            await send_error(send, 403, REFUSAL)
            return
        accept = headers.get("accept", "")
        if accept.strip() and not _answerable(accept, scope["method"]):
            await send_error(
                send, 406, f"cannot answer {accept}; accept application/json or {GRAPHQL_RESPONSE}"
            )
            return
        if scope["method"] not in ("GET", "HEAD", "POST"):
            await send_error(
                send,
                405,
                f"GraphQL is served over GET and POST, not {scope['method']}",
                allow=b"GET, POST",
            )
            return
        if scope["method"] == "GET" and _is_mutation(scope.get("query_string", b"")):
            # GET must not change anything: the spec answers 405, and says what is allowed.
            await send_error(send, 405, "mutations are only allowed over POST", allow=b"POST")
            return
        if scope["method"] == "POST":
            content_type = headers.get("content-type", "").split(";")[0].strip().lower()
            if content_type not in ("application/json", GRAPHQL_RESPONSE):
                await send_error(
                    send,
                    415,
                    f"send GraphQL requests as application/json, not {content_type or 'nothing'}",
                )
                return
            if (refused := compressed(headers.get("content-encoding"))) is not None:
                await send_error(send, 415, refused)
                return
            if (charset := foreign_charset(headers.get("content-type"))) is not None:
                # Read as UTF-8, a Latin-1 body was "str is not valid UTF-8" (user29).
                await send_error(
                    send, 415, f"send GraphQL requests in UTF-8, not charset={charset}"
                )
                return
        # (The body's size: :mod:`membergraph.body_limit`, for every route that reads one.)
        await self.app(scope, receive, send)


GRAPHIQL_OFF = (
    "GraphiQL is off: it is served in demo mode only, unless MEMBERGRAPH_GRAPHIQL=true "
    "(docs/settings.md); send GraphQL requests with POST, or GET with ?query="
)


class GraphiQLOff:
    """A browser opening ``/graphql`` while GraphiQL is off is told so (404), once its
    credentials are read: without them it is refused (401) as every request is, told the
    same, and not asked for a Basic login that would open nothing (:mod:`.auth`)."""

    def __init__(self, app: ASGIApp, path: str = "/graphql") -> None:
        self.app = app
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if opens_the_ide(scope, self.path):
            await send_error(send, 404, GRAPHIQL_OFF)
            return
        await self.app(scope, receive, send)


def opens_the_ide(scope: Scope, path: str = "/graphql") -> bool:
    """What the view at ``path`` would answer with its IDE: a GET with no ``query`` nor
    ``extensions`` (:meth:`GraphQLEndpoint.should_render_graphql_ide`), accepting HTML or
    anything."""
    if scope["type"] != "http" or scope["path"] != path or scope["method"] != "GET":
        return False
    asked = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    if "query" in asked or "extensions" in asked:  # (a persisted query asks for data)
        return False
    accept = named_headers(scope, _READ).get("accept", "")
    return "text/html" in accept or "*/*" in accept


def foreign_charset(content_type: str | None) -> str | None:
    """A ``charset`` a ``Content-Type`` declares other than UTF-8 (JSON is UTF-8, RFC
    8259), or None."""
    for part in (content_type or "").split(";")[1:]:
        name, _, value = part.partition("=")
        charset = value.strip().strip('"').lower()
        if name.strip().lower() == "charset" and charset not in ("utf-8", "utf8"):
            return charset
    return None


def compressed(encoding: str | None) -> str | None:
    """Why a body sent with this ``Content-Encoding`` is refused (415), or None: bodies are
    read as they came, and a compressed one would be refused as "not a JSON object", or its
    bytes blamed on a file's encoding."""
    said = (encoding or "").strip().lower()
    if said in ("", "identity"):
        return None
    return f"send the body uncompressed: Content-Encoding {said} is not taken"


def refusals_as_asked(scope: Scope, send: Send, path: str = "/graphql") -> Send:
    """``send`` for a request to ``path`` whose client asked for the GraphQL media type: a
    refusal answered in JSON (401, 415, 405, 413, a request the view refused before it ran)
    is answered in that type, as a parse or validation error is, so a client reads every
    4xx and 5xx alike. Other requests' ``send`` as it is."""
    accept = named_headers(scope, _ACCEPT).get("accept", "")
    if scope["type"] != "http" or scope["path"] != path or not wants_graphql_response(accept):
        return send

    async def in_graphql_response(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] >= 400:
            headers = [
                (name, _GRAPHQL_RESPONSE_BYTES)
                if (name, value) == (b"content-type", b"application/json")
                else (name, value)
                for name, value in message.get("headers", [])
            ]
            message = {**message, "headers": headers}
        await send(message)

    return in_graphql_response


_GRAPHQL_RESPONSE_BYTES = GRAPHQL_RESPONSE.encode()
_ACCEPT = frozenset({b"accept"})


def _headers_only(send: Send) -> Send:
    """``send`` for a HEAD request: the answer's status and headers, an empty body."""

    async def without_body(message: Message) -> None:
        if message["type"] == "http.response.body" and message.get("body"):
            message = {**message, "body": b""}
        await send(message)

    return without_body


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


def decode_json(data: str | bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The JSON of a request or a WebSocket message, or ``json.JSONDecodeError`` saying why not.

    orjson refuses what the standard library lets through: invalid UTF-8 and lone surrogates
    (``"\\ud800"``), which no store or encoder can write later. It does not recurse in Python
    either; values nested deeper than ``max_depth`` are refused here, before graphql-core
    recurses over them.
    """
    value = orjson.loads(data)
    if deeper_than(value, max_depth):
        raise json.JSONDecodeError(f"nested deeper than {max_depth} levels", "", 0)
    return value


_CODES = {
    400: "BAD_REQUEST",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    413: "PAYLOAD_TOO_LARGE",
    415: "UNSUPPORTED_MEDIA_TYPE",
}


async def send_error(
    send: Send, status: int, message: str, code: str | None = None, allow: bytes | None = None
) -> None:
    """Answer a refused HTTP request: JSON, coded, and one log line (the client's fault,
    not ours: no traceback)."""
    code = code or _CODES.get(status, "BAD_REQUEST")
    logger.info("refused a GraphQL request: %s %s (%s)", status, code, message)
    payload = {"errors": [{"message": message, "extensions": {"code": code}}]}
    await send_json(send, status, payload, [(b"allow", allow)] if allow else [])


async def graphql_too_large(send: Send, limit: int) -> None:
    """A GraphQL request's body over ``limit`` (:mod:`membergraph.body_limit`)."""
    await send_error(send, 413, f"request body over {limit} bytes")


_SHAPES = (("query", str), ("operationName", str), ("variables", dict), ("extensions", dict))


def wrong_shape(request: Mapping[str, Any]) -> str | None:
    """What is wrong with a GraphQL request's fields (a POST body, a subscribe payload), as
    ``POST /graphql`` refuses it (None: each is absent, null or of its type)."""
    for key, kind in _SHAPES:
        value = request.get(key)
        if value is not None and not isinstance(value, kind):
            return f"{key} must be {'a string' if kind is str else 'an object'}"
    return None


# graphql-core's messages for a variable's value that cannot be bound; its validation rules
# messages about variables ("Variable '$v' is never used.", "... is not defined.", "... used
# in position expecting ...") also start with "Variable '$", and are validation failures.
_BINDING = re.compile(
    r"Variable '\$\w+' (has invalid value|of required type .* was not provided"
    r"|of non-null type .* must not be null)"
)


# ... and for an argument's, raised as the field runs (a field error with a path): a
# nullable variable sent null for a non-null argument that has a default (user31b 10a).
_ARGUMENT = re.compile(
    r"Argument '\w+' (has invalid value|of non-null type .* must not be null"
    r"|of required type .* was not provided)"
)


def request_error_code(error: Mapping[str, Any]) -> str:
    """Codes for the errors graphql-core raises before execution, and as it binds a field's
    arguments (ours carry their own)."""
    message = str(error.get("message", ""))
    if message.startswith("Syntax Error"):
        return "GRAPHQL_PARSE_FAILED"
    if _BINDING.match(message) or _ARGUMENT.match(message):
        return "BAD_USER_INPUT"  # the document is valid; a variable's value is not
    if error.get("path"):
        return "INTERNAL_SERVER_ERROR"  # a masked unexpected error
    return "GRAPHQL_VALIDATION_FAILED"


def is_request_error(data: Any) -> bool:
    """Parse, validation and variable errors: no data at all and no error has a path."""
    if not isinstance(data, dict) or data.get("data") is not None or not data.get("errors"):
        return False
    return all(not error.get("path") for error in data["errors"])

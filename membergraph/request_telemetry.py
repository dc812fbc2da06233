"""Every request's id (the client's ``X-Request-ID`` or a new one, echoed and set for the
logs), its latency in the metrics, its span when tracing is on, and its access line."""

from __future__ import annotations

import logging
import os
import random
import re
import secrets
import time

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from membergraph.asgi_headers import header
from membergraph.logs import REQUEST_ID, access_line
from membergraph.observability import Telemetry
from membergraph.tracing import server_span

__all__ = ["CLIENT_CLOSED", "RequestTelemetry"]

logger = logging.getLogger(__name__)
# What the access log and the metrics say of a request its client hung up on before its body
# was all sent (nginx's "client closed request"): not a server error, no alert.
CLIENT_CLOSED = 499

_GOOD_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_ROUTES = (
    "/graphql",
    "/graphiql",
    "/console",
    "/ingest",
    "/healthz",
    "/readyz",
    "/metrics",
    "/privacy",
    "/export",
)


class RequestTelemetry:
    """ASGI middleware: a request id for every HTTP request (the client's ``X-Request-ID``
    when it is a plain token of at most 128 characters, else a new one), echoed in the
    answer and set for the logs; the request's latency in the histogram; one access-log
    line per request."""

    def __init__(self, app: ASGIApp, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await self._socket(scope, receive, send)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        echoed = (b"x-request-id", request_id.encode("latin-1"))
        token = REQUEST_ID.set(request_id)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", [])
                if not isinstance(headers, list):  # ASGI allows any iterable
                    headers = list(headers)
                headers.append(echoed)
                message["headers"] = headers
            await send(message)

        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        route = _route(path)
        tracer = self.telemetry.tracer
        try:
            if tracer is None:
                await self.app(scope, receive, send_with_id)
            else:
                with server_span(tracer, scope, f"{method} {route}", request_id) as span:
                    await self.app(scope, receive, send_with_id)
                    span.set_attribute("http.response.status_code", status)
        except ClientDisconnect:
            # The client hung up before the exchange ended (a phone losing signal, a load
            # balancer cutting an upload, a tab closed on an export): nobody to answer, and
            # no fault of the server's.
            status = CLIENT_CLOSED
            logger.info("%s %s: the client closed the connection before the answer ended",
                        method, path)  # fmt: skip
        finally:
            seconds = time.perf_counter() - started
            self.telemetry.request_seconds(route, method, status).observe(seconds)
            access_line(method, path, status, seconds * 1000)
            REQUEST_ID.reset(token)

    async def _socket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A WebSocket is one long request: every line logged while serving it names its id,
        which its handshake's answer carries as ``X-Request-ID``."""
        request_id = _request_id(scope)
        token = REQUEST_ID.set(request_id)

        async def send_with_id(message: Message) -> None:
            if message["type"] == "websocket.accept":
                headers = list(message.get("headers") or [])
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            REQUEST_ID.reset(token)


def _request_id(scope: Scope) -> str:
    """The client's ``X-Request-ID`` when it is a plain token, else a new one."""
    given = header(scope, b"x-request-id")
    return given if given and _GOOD_ID.fullmatch(given) else _new_request_id()


_IDS = random.Random(secrets.randbits(128))
# A forked worker (a server preloading the app) must not repeat its parent's ids.
os.register_at_fork(after_in_child=lambda: _IDS.seed(secrets.randbits(128)))


def _new_request_id() -> str:
    """32 random hex digits, as a uuid4's hex. An id tells requests apart in logs and
    traces and guards nothing, so it comes from a generator seeded once per process from
    the system's randomness, not from a system call per request."""
    return f"{_IDS.getrandbits(128):032x}"


def _route(path: str) -> str:
    for route in _ROUTES:
        if path.startswith(route):
            return route
    return "other"

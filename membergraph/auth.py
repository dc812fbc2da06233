"""Who is calling, and what they may see: API keys and JWT bearer tokens mapped to scopes.

With no keys and no JWT key configured the gateway is in demo mode: it serves loopback only
(the CLI refuses any other address) and every caller has every scope. Once credentials are
configured, nothing but ``/healthz`` and ``/readyz`` answers without them
(``Authorization: Bearer KEY-OR-JWT``, ``X-API-Key: KEY``, or HTTP Basic with the key as
the password, which is how a browser opening GraphiQL sends it), and each carries its scopes:

=================  ==========================================================================
profile:read       read members: profiles, loyalty, facts, consents
pii:read           see e-mails, phones, birth dates and addresses unmasked
analytics:read     segments, segment counts, identity conflicts
identity:write     stewards' mutations (linkRecords, splitMember, undoMerge)
ingest:write       push source lines to ``POST /ingest/{source}`` (a POS, a call-center hook)
privacy:admin      export, erase, suppress; privacy requests and the audit of who read what
=================  ==========================================================================

Roles are sets of scopes: a personalization service has ``profile:read``; an analyst
``profile:read analytics:read`` (personal data masked) or with ``pii:read``; a data steward
adds ``identity:write``.

A frontend app's JWT is bound to one member (its ``member_id`` claim): whatever its scopes,
it reads that member only and nothing that spans members (lists, counts, conflicts, steward
mutations, other members' changes), see :mod:`membergraph.schema.permissions`, and pushes no
source line (an identifier in a line links whoever carries it to the pusher's member).

A browser cannot set headers on a WebSocket, so a socket without a credential in its headers
is let through as :data:`ANONYMOUS` (no scopes) and authenticated by the GraphQL view from its
graphql-transport-ws ``connection_init`` payload, ``{"Authorization": "Bearer KEY-OR-JWT"}``
(see :meth:`Authenticator.caller`); without one there it is closed with 4403.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
from collections.abc import Mapping
from typing import Any

import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from membergraph.asgi_headers import named_headers
from membergraph.http_rules import GRAPHIQL_OFF, opens_the_ide, refusals_as_asked
from membergraph.jwks import KeysUnavailable
from membergraph.scopes import ALL_SCOPES, Caller
from membergraph.tokens import InvalidToken, TokenVerifier

__all__ = [
    "ALL_SCOPES",
    "ANONYMOUS",
    "ApiKeyMiddleware",
    "Authenticator",
    "Caller",
    "DEMO_FOREIGN_HOST",
    "InvalidToken",
    "KeysUnavailable",
    "TokenVerifier",
    "loopback_host",
]

OPEN_PATHS = frozenset({"/healthz", "/readyz"})
_CREDENTIALS = frozenset({b"authorization", b"x-api-key"})
_REQUIRED = "an API key or a valid token is required"


DEMO_CALLER = Caller("local", ALL_SCOPES)
ANONYMOUS = Caller("anonymous", frozenset())
"""A WebSocket not yet authenticated: it may read nothing until ``connection_init`` names
a caller (the protocol runs no operation before ``connection_ack`` either)."""


class Authenticator:
    """The caller a request's credentials name: API keys, then JWTs.

    Example:
        >>> auth = Authenticator({"k" * 16: Caller("svc", frozenset({"profile:read"}))})
        >>> import asyncio
        >>> asyncio.run(auth.caller({"authorization": "Bearer " + "k" * 16})).name
        'svc'
    """

    def __init__(self, keys: dict[str, Caller], tokens: TokenVerifier | None = None) -> None:
        self.keys = list(keys.items())
        self.tokens = tokens if tokens is not None and tokens.configured else None

    @property
    def required(self) -> bool:
        """Credentials are configured: no demo mode, every caller must name itself."""
        return bool(self.keys) or self.tokens is not None

    async def caller(self, headers: Mapping[str, str]) -> Caller | None:
        """The caller the credential in ``headers`` (lower-case names) names; None without a
        valid one. A ``connection_init`` payload is read the same way, its keys lower-cased:
        ``{"Authorization": "Bearer KEY-OR-JWT"}`` (or ``{"X-API-Key": KEY}``).

        Raises:
            InvalidToken: a trusted token whose claims are refused.
            KeysUnavailable: a token whose identity provider's keys could not be read.
        """
        given = headers.get("x-api-key") or ""
        auth = headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        elif auth.lower().startswith("basic "):
            # A browser opening GraphiQL: the password is the API key (any user name).
            try:
                given = base64.b64decode(auth[6:].strip(), validate=True).decode().partition(":")[2]
            except (ValueError, UnicodeDecodeError):
                return None
        if not given:
            return None
        found = None
        for key, caller in self.keys:
            # Compare every key in constant time: no early exit that times which one matched.
            if hmac.compare_digest(key.encode(), given.encode()):
                found = caller
        if found is None and self.tokens is not None and given.count(".") == 2:
            found = await self.tokens.verify(given)
        return found


class ApiKeyMiddleware:
    """Pure ASGI middleware: authenticate every request but health checks."""

    def __init__(self, app: ASGIApp, authenticator: Authenticator, graphiql: bool = True) -> None:
        self.app = app
        self.authenticator = authenticator
        self.graphiql = graphiql  # (off: a browser opening /graphql is told so)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        auth = self.authenticator
        send = refusals_as_asked(scope, send)  # a 401 in the media type a GraphQL client asked
        if not auth.required and not _addressed_to_loopback(scope):
            await _foreign_host(scope, send)
            return
        headers = named_headers(scope, _CREDENTIALS)
        try:
            caller = await auth.caller(headers) if auth.required else DEMO_CALLER
        except InvalidToken as refused:
            if scope["type"] == "http":
                await _refuse(scope, receive, send, self._basic(scope), str(refused))
                return
            caller = None
        except KeysUnavailable as down:
            if scope["type"] == "http":
                await _keys_unavailable(send, str(down))
                return
            caller = None  # a socket may still authenticate in connection_init
        if caller is None and scope["type"] == "websocket":
            # A browser cannot set a WebSocket's headers: its credential comes in
            # connection_init, which the GraphQL view checks (4403 without one).
            caller = ANONYMOUS
        if caller is None:
            if self._ide_off(scope):
                await _refuse(scope, receive, send, False, f"{_REQUIRED}; {GRAPHIQL_OFF}")
            else:
                await _refuse(scope, receive, send, self._basic(scope))
            return
        scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)

    def _ide_off(self, scope: Scope) -> bool:
        """A browser opening /graphql with GraphiQL off is not asked to log in (it would
        open nothing) and is told why; any other page (the console) is, to send its key."""
        return not self.graphiql and opens_the_ide(scope)

    def _basic(self, scope: Scope) -> bool:
        """Whether a refusal may ask a browser for a Basic login (keys are configured)."""
        return self.authenticator.keys != [] and not self._ide_off(scope)


def _addressed_to_loopback(scope: Scope) -> bool:
    """Whether a request names this machine's loopback as its host, or a WebSocket comes
    from a page of this machine (a browser always sends a socket's Origin, and a page's
    host is what a rebinding changes; other clients send none)."""
    headers = dict(scope["headers"])
    if scope["type"] == "websocket":
        origin = headers.get(b"origin")
        return origin is None or loopback_host(origin.decode("latin-1").partition("://")[2])
    host = headers.get(b"host")
    return host is None or loopback_host(host.decode("latin-1"))


def loopback_host(host: str) -> bool:
    """Whether ``host`` (``name[:port]``, a request's ``Host``) names this machine's
    loopback: what demo mode requires of every request, on the main port and the metrics
    port alike."""
    name = host.strip().lower().rstrip("/")
    name = name[1:].partition("]")[0] if name.startswith("[") else name.rpartition(":")[0] or name
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


DEMO_FOREIGN_HOST = (
    "no credentials are configured (demo mode), so the gateway answers only requests "
    "addressed to 127.0.0.1, [::1] or localhost; configure MEMBERGRAPH_API_KEYS or a JWT "
    "key to serve other host names"
)
"""Why a request naming another host is refused in demo mode (403, either port)."""


async def _foreign_host(scope: Scope, send: Send) -> None:
    """Demo mode lets every caller do everything, which is safe only on this machine: a
    page of another site whose DNS name is pointed at 127.0.0.1 (DNS rebinding) is "same
    origin" with the gateway in the browser's eyes, and would read every member's personal
    data. So without credentials a request must name a loopback host."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    # Both shapes: a GraphQL client reads errors[], any other reads error (docs/bad-input.md).
    error = {"message": DEMO_FOREIGN_HOST, "extensions": {"code": "FORBIDDEN"}}
    body = orjson.dumps({"error": DEMO_FOREIGN_HOST, "errors": [error]})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    basic: bool,
    message: str = _REQUIRED,
) -> None:
    body = orjson.dumps(
        {"errors": [{"message": message, "extensions": {"code": "UNAUTHENTICATED"}}]}
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"www-authenticate", b'Bearer realm="membergraph"'),
        (b"content-length", str(len(body)).encode()),
    ]
    accept = dict(scope["headers"]).get(b"accept", b"")
    if basic and b"text/html" in accept:
        # A browser asks for the key (as the password) and sends it on GraphiQL's requests.
        headers.append((b"www-authenticate", b'Basic realm="membergraph", charset="UTF-8"'))
    await send({"type": "http.response.start", "status": 401, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _keys_unavailable(send: Send, message: str) -> None:
    """503: the token may be valid, but the keys that would tell could not be read."""
    error = {"message": f"{message}; try again", "extensions": {"code": "AUTH_UNAVAILABLE"}}
    body = orjson.dumps({"errors": [error]})
    headers = [
        (b"content-type", b"application/json"),
        (b"retry-after", b"10"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def caller_of(request: Any) -> Caller:
    """The caller the middleware put on a request or websocket (demo caller if none)."""
    state = getattr(request, "scope", {}).get("state", {}) if request is not None else {}
    caller = state.get("caller")
    return caller if isinstance(caller, Caller) else DEMO_CALLER


def actor_name(request: Any) -> str:
    """The one name a caller's actions are recorded and shown under, everywhere: identity
    history, privacy requests, the PII audit, ``viewer { name }``. Its key's or token's
    holder; in demo mode (no credentials) the ``X-Membergraph-Actor`` header, else
    ``local``."""
    caller = caller_of(request)
    if caller is not DEMO_CALLER:
        return caller.name
    headers = getattr(request, "headers", None) or {}
    return str(headers.get("x-membergraph-actor") or caller.name)


def scope_refusal(caller: Caller, scope: str, doing: str) -> str | None:
    """Why ``caller`` may not do ``doing``, which needs ``scope`` and no member binding (None:
    it may). A token bound to a member is told so: its scope is not what is missing."""
    if not caller.can(scope):
        return f"{doing} needs the {scope} scope"
    if caller.member_id is not None:
        return (
            f"{doing} is refused to a token bound to a member (its member_id claim), whatever "
            "its scopes: such a token reads its own member through /graphql only"
        )
    return None

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
=================  ==========================================================================

Roles are sets of scopes: a personalization service has ``profile:read``; an analyst
``profile:read analytics:read`` (personal data masked) or with ``pii:read``; a data steward
adds ``identity:write``.
"""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass
from typing import Any

import jwt
import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

__all__ = [
    "ALL_SCOPES",
    "ApiKeyMiddleware",
    "Caller",
    "TokenVerifier",
    "mask_email",
    "mask_phone",
    "mask_text",
]

ALL_SCOPES = frozenset(
    {"profile:read", "pii:read", "analytics:read", "identity:write", "ingest:write"}
)
OPEN_PATHS = frozenset({"/healthz", "/readyz"})


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller: a name for the history, its scopes, and for a frontend
    app's member-scoped token the one member it may read."""

    name: str
    scopes: frozenset[str]
    member_id: str | None = None

    def can(self, scope: str) -> bool:
        return scope in self.scopes


class TokenVerifier:
    """JWT bearer tokens (PyJWT): HS256 with a shared secret, RS256 with a public key or the
    keys of a JWKS file. Claims: ``sub`` (the caller's name), ``scope`` (space-separated)
    or ``scopes`` (a list), and ``member_id`` for a token that may read one member only."""

    def __init__(
        self,
        secret: str | None = None,
        public_key: str | None = None,
        jwks: dict[str, Any] | None = None,
        audience: str | None = None,
        issuer: str | None = None,
    ) -> None:
        self.keys: list[tuple[Any, str]] = []
        if secret:
            self.keys.append((secret, "HS256"))
        if public_key:
            self.keys.append((public_key, "RS256"))
        for jwk in (jwks or {}).get("keys", []):
            self.keys.append((jwt.PyJWK(jwk).key, "RS256"))
        self.audience = audience
        self.issuer = issuer

    def verify(self, token: str) -> Caller | None:
        for key, algorithm in self.keys:
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[algorithm],
                    audience=self.audience,
                    issuer=self.issuer,
                    options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
                )
            except jwt.PyJWTError:
                continue
            scopes = claims.get("scopes") or str(claims.get("scope", "")).split()
            member = claims.get("member_id")
            return Caller(
                str(claims["sub"]),
                frozenset(s for s in scopes if s in ALL_SCOPES),
                str(member) if member else None,
            )
        return None


DEMO_CALLER = Caller("local", ALL_SCOPES)


class ApiKeyMiddleware:
    """Pure ASGI middleware: authenticate every request but health checks."""

    def __init__(
        self, app: ASGIApp, keys: dict[str, Caller], tokens: TokenVerifier | None = None
    ) -> None:
        self.app = app
        self.keys = list(keys.items())
        self.tokens = tokens if tokens is not None and tokens.keys else None

    def _caller(self, scope: Scope) -> Caller | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
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
            found = self.tokens.verify(given)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        caller = self._caller(scope) if self.keys or self.tokens else DEMO_CALLER
        if caller is None:
            await _refuse(scope, receive, send, self.keys != [])
            return
        scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)


async def _refuse(scope: Scope, receive: Receive, send: Send, basic: bool) -> None:
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.close", "code": 4401, "reason": "Unauthorized"})
        return
    body = orjson.dumps(
        {
            "errors": [
                {"message": "an API key is required", "extensions": {"code": "UNAUTHENTICATED"}}
            ]
        }
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


def caller_of(request: Any) -> Caller:
    """The caller the middleware put on a request or websocket (demo caller if none)."""
    state = getattr(request, "scope", {}).get("state", {}) if request is not None else {}
    caller = state.get("caller")
    return caller if isinstance(caller, Caller) else DEMO_CALLER


def mask_email(value: str) -> str:
    """``jane.doe@example.com`` -> ``j***@example.com``."""
    local, at, domain = value.partition("@")
    return f"{local[:1]}***{at}{domain}" if at else mask_text(value)


def mask_phone(value: str) -> str:
    """``+14155550134`` -> ``***-0134``."""
    digits = [c for c in value if c.isdigit()]
    return "***-" + "".join(digits[-4:]) if len(digits) >= 4 else "***"


def mask_text(value: str) -> str:
    """Anything else personal: only that something is there."""
    return "***" if value else value

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
(see :meth:`Authenticator.caller`); without one there it is closed with 4401.
"""

from __future__ import annotations

import base64
import hmac
import ipaddress
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args

import jwt
import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from membergraph.asgi_headers import named_headers
from membergraph.jwks import ASYMMETRIC_ALGORITHMS, KeysUnavailable, RemoteJwks
from membergraph.scopes import ScopeName

__all__ = [
    "ALL_SCOPES",
    "ANONYMOUS",
    "ApiKeyMiddleware",
    "Authenticator",
    "Caller",
    "InvalidToken",
    "KeysUnavailable",
    "TokenVerifier",
    "mask_email",
    "mask_phone",
    "mask_text",
]

ALL_SCOPES = frozenset(get_args(ScopeName))
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
_CREDENTIALS = frozenset({b"authorization", b"x-api-key"})
MIN_HS256_SECRET_BYTES = 32  # RFC 7518 3.2: a key at least as long as the hash output


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller: a name for the history, its scopes, and for a frontend
    app's member-scoped token the one member it may read."""

    name: str
    scopes: frozenset[str]
    member_id: str | None = None
    expires_at: float | None = None  # a JWT's ``exp`` (epoch seconds); keys do not expire

    def can(self, scope: str) -> bool:
        return scope in self.scopes


class InvalidToken(Exception):  # noqa: N818 - reads as what the caller sent
    """A token signed by a trusted key whose claims are refused; the message tells the
    caller why (its lifetime, an empty ``member_id``), since the signature proved its origin."""


class TokenVerifier:
    """JWT bearer tokens (PyJWT): HS256 with a shared secret, RS256 with a public key or the
    keys of a JWKS file, or the keys an identity provider publishes at a JWKS URL (``remote``,
    the key its ``kid`` names, each key with its own algorithm). Claims: ``sub`` (the caller's
    name), ``scope`` (space-separated) or ``scopes`` (a list), ``exp`` (required; at most
    ``max_lifetime_s`` after ``iat``, or after now without ``iat``), and ``member_id`` for a
    token that may read one member only.

    Raises:
        ValueError: an HS256 secret shorter than 32 bytes (``MEMBERGRAPH_JWT_SECRET``).
    """

    def __init__(
        self,
        secret: str | None = None,
        public_key: str | None = None,
        jwks: dict[str, Any] | None = None,
        audience: str | None = None,
        issuer: str | None = None,
        max_lifetime_s: int = 86_400,
        remote: RemoteJwks | None = None,
    ) -> None:
        self.keys: list[tuple[Any, str]] = []
        self.kids: dict[str, tuple[Any, str]] = {}  # a JWKS key by its ``kid``
        if secret:
            if len(secret.encode()) < MIN_HS256_SECRET_BYTES:
                raise ValueError(
                    f"MEMBERGRAPH_JWT_SECRET: an HS256 secret needs at least "
                    f"{MIN_HS256_SECRET_BYTES} bytes, this one has {len(secret.encode())}"
                )
            self.keys.append((secret, "HS256"))
        if public_key:
            self.keys.append((public_key, "RS256"))
        for jwk in (jwks or {}).get("keys", []):
            key = (jwt.PyJWK(jwk).key, "RS256")
            self.keys.append(key)
            if jwk.get("kid"):
                self.kids[str(jwk["kid"])] = key
        self.audience = audience
        self.issuer = issuer
        self.max_lifetime_s = max_lifetime_s
        self.remote = remote

    @property
    def configured(self) -> bool:
        """Some key may verify a token: a secret, a public key, a JWKS file or URL."""
        return bool(self.keys) or self.remote is not None

    async def verify(self, token: str) -> Caller | None:
        """The caller a token names; None if no trusted key signed it.

        Raises:
            InvalidToken: signed by a trusted key, but expired, without exp or sub, too
                long-lived, or bound to an empty ``member_id``.
            KeysUnavailable: the identity provider's keys, which the token needs, could
                not be read.
        """
        for key, algorithm in await self._candidates(token):
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[algorithm],
                    audience=self.audience,
                    issuer=self.issuer,
                    options={"require": ["exp", "sub"], "verify_aud": self.audience is not None},
                )
            except jwt.ExpiredSignatureError:
                raise InvalidToken("the token has expired") from None
            except jwt.ImmatureSignatureError as early:
                # Signed by a trusted key (claims are checked after the signature).
                claim = "nbf" if "nbf" in str(early) else "iat"
                raise InvalidToken(
                    f"the token is not valid yet: its {claim} is in the future (check the "
                    "clocks of its issuer and of this gateway)"
                ) from None
            except jwt.InvalidAudienceError:
                raise InvalidToken(f"the token's aud is not {self.audience}") from None
            except jwt.InvalidIssuerError:
                raise InvalidToken(f"the token's iss is not {self.issuer}") from None
            except jwt.MissingRequiredClaimError as missing:
                # Claims are checked once a trusted key has verified the signature.
                raise InvalidToken(
                    f"the token has no {missing.claim} claim; this gateway requires exp "
                    "(when it expires) and sub (who it is)"
                ) from None
            except jwt.PyJWTError:
                continue
            self._check_lifetime(claims)
            return Caller(
                _subject(claims),
                frozenset(s for s in _scopes(claims) if s in ALL_SCOPES),
                _bound_member(claims),
                float(claims["exp"]),
            )
        if _unsigned(token):
            raise InvalidToken("the token is unsigned (alg none): only signed tokens are accepted")
        return None

    async def _candidates(self, token: str) -> list[tuple[Any, str]]:
        """The keys that may have signed ``token``: the JWKS key its ``kid`` names (as a
        rotation publishes old and new keys side by side), else every key."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return self.keys  # not a JWT: every key refuses it below
        kid = header.get("kid") if isinstance(header.get("kid"), str) else None
        if kid is not None and kid in self.kids:
            return [self.kids[kid]]
        if self.remote is None or header.get("alg") not in ASYMMETRIC_ALGORITHMS:
            return self.keys
        published = [(jwk.key, jwk.algorithm_name) for jwk in await self.remote.keys_for(kid)]
        return published or self.keys

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        # A leaked long-lived token is a standing key to members' data: cap what we accept.
        # PyJWT has checked that both convert with int() (it accepts "123" too).
        issued = claims.get("iat")
        start = int(issued) if issued is not None else time.time()
        if int(claims["exp"]) - start > self.max_lifetime_s:
            since = "its iat" if issued is not None else "now"
            raise InvalidToken(
                f"the token's exp is more than {self.max_lifetime_s} s after {since}; "
                "this gateway accepts tokens that live at most that long"
            )


def _unsigned(token: str) -> bool:
    try:
        return str(jwt.get_unverified_header(token).get("alg", "")).lower() == "none"
    except jwt.PyJWTError:
        return False


def _subject(claims: dict[str, Any]) -> str:
    """Who a token names: the actor every change and every read of personal data it makes
    is recorded as, so an empty one is refused rather than audited as nobody."""
    sub = claims["sub"]
    if not isinstance(sub, str) or not sub.strip():
        raise InvalidToken("the token's sub claim must name who it is (a non-empty string)")
    return sub


def _scopes(claims: dict[str, Any]) -> list[str]:
    """The scopes a token grants: ``scope`` or ``scopes``, each either a space-separated
    string (RFC 8693's ``scope``) or a list of strings, as identity providers write them
    (a list read as one string, or a string read letter by letter, granted nothing)."""
    said = claims.get("scopes") if claims.get("scopes") is not None else claims.get("scope")
    if isinstance(said, str):
        return said.split()
    if isinstance(said, list) and all(isinstance(s, str) for s in said):
        return [w for s in said for w in s.split()]
    if said is None:
        return []
    raise InvalidToken(
        "the token's scope claim must be a space-separated string or a list of strings"
    )


def _bound_member(claims: dict[str, Any]) -> str | None:
    """The member a token is bound to. A ``member_id`` claim that is present must name one:
    an empty one is refused rather than read as "no member", which would unbind the token."""
    if "member_id" not in claims:
        return None
    member = claims["member_id"]
    if not isinstance(member, str) or not member.strip():
        raise InvalidToken("the token's member_id claim must be a non-empty member ID")
    return member


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

    def __init__(self, app: ASGIApp, authenticator: Authenticator) -> None:
        self.app = app
        self.authenticator = authenticator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        auth = self.authenticator
        if not auth.required and not _addressed_to_loopback(scope):
            await _foreign_host(scope, send)
            return
        basic = auth.keys != []
        headers = named_headers(scope, _CREDENTIALS)
        try:
            caller = await auth.caller(headers) if auth.required else DEMO_CALLER
        except InvalidToken as refused:
            if scope["type"] == "http":
                await _refuse(scope, receive, send, basic, str(refused))
                return
            caller = None
        except KeysUnavailable as down:
            if scope["type"] == "http":
                await _keys_unavailable(send, str(down))
                return
            caller = None  # a socket may still authenticate in connection_init
        if caller is None and scope["type"] == "websocket":
            # A browser cannot set a WebSocket's headers: its credential comes in
            # connection_init, which the GraphQL view checks (4401 without one).
            caller = ANONYMOUS
        if caller is None:
            await _refuse(scope, receive, send, basic)
            return
        scope.setdefault("state", {})["caller"] = caller
        await self.app(scope, receive, send)


def _addressed_to_loopback(scope: Scope) -> bool:
    """Whether a request names this machine's loopback as its host, or a WebSocket comes
    from a page of this machine (a browser always sends a socket's Origin, and a page's
    host is what a rebinding changes; other clients send none)."""
    headers = dict(scope["headers"])
    if scope["type"] == "websocket":
        origin = headers.get(b"origin")
        return origin is None or _loopback(origin.decode("latin-1").partition("://")[2])
    host = headers.get(b"host")
    return host is None or _loopback(host.decode("latin-1"))


def _loopback(host: str) -> bool:
    """Whether ``host`` (``name[:port]``) names this machine's loopback."""
    name = host.strip().lower().rstrip("/")
    name = name[1:].partition("]")[0] if name.startswith("[") else name.rpartition(":")[0] or name
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


async def _foreign_host(scope: Scope, send: Send) -> None:
    """Demo mode lets every caller do everything, which is safe only on this machine: a
    page of another site whose DNS name is pointed at 127.0.0.1 (DNS rebinding) is "same
    origin" with the gateway in the browser's eyes, and would read every member's personal
    data. So without credentials a request must name a loopback host."""
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    message = (
        "no credentials are configured (demo mode), so the gateway answers only requests "
        "addressed to 127.0.0.1, [::1] or localhost; configure MEMBERGRAPH_API_KEYS or a JWT "
        "key to serve other host names"
    )
    body = orjson.dumps({"error": message})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 403, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse(
    scope: Scope,
    receive: Receive,
    send: Send,
    basic: bool,
    message: str = "an API key or a valid token is required",
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

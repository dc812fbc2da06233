"""JWT bearer tokens: which keys verify one, which claims a token must carry, and the
caller it names (:class:`TokenVerifier`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import orjson
from jwt.algorithms import RSAAlgorithm

from membergraph.jwks import ASYMMETRIC_ALGORITHMS, RemoteJwks
from membergraph.scopes import ALL_SCOPES, Caller

__all__ = ["InvalidToken", "TokenVerifier", "read_jwks", "read_public_key"]

MIN_HS256_SECRET_BYTES = 32  # RFC 7518 3.2: a key at least as long as the hash output


def read_public_key(path: Path) -> str:
    """The PEM text of an RS256 key file (``MEMBERGRAPH_JWT_PUBLIC_KEY``).

    Raises:
        ValueError: the file cannot be read, or holds no key PyJWT can verify with (every
            token would be refused).
    """
    try:
        text = path.read_text()
        RSAAlgorithm(RSAAlgorithm.SHA256).prepare_key(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: {getattr(exc, 'strerror', None) or exc}") from None
    except jwt.InvalidKeyError as exc:
        raise ValueError(f"{path} holds no PEM RSA key ({exc})") from None
    return text


def read_jwks(path: Path) -> dict[str, Any]:
    """The key set of a JWKS file (``MEMBERGRAPH_JWT_JWKS``): ``{"keys": [JWK, ...]}``.

    Raises:
        ValueError: the file cannot be read, is not JSON, or holds a key PyJWT cannot read.
    """
    try:
        found = orjson.loads(path.read_bytes())
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from None
    except orjson.JSONDecodeError:
        raise ValueError(f'{path} is not JSON (a JWKS file: {{"keys": [...]}})') from None
    keys = found.get("keys") if isinstance(found, dict) else None
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        raise ValueError(f'{path} is no JWKS: no "keys" list of keys')
    for index, key in enumerate(keys, start=1):
        try:
            jwt.PyJWK(key)
        except (jwt.PyJWTError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}: key {index} cannot be read ({exc})") from None
    return {"keys": keys}


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

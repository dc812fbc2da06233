"""An identity provider for tests: RSA keys, tokens they sign, and a JWKS endpoint (Starlette,
served for real by :func:`tests.support.http.serving`) that can rotate, fail or hang, and
that counts the requests it gets."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

JWKS_PATH = "/.well-known/jwks.json"


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey = field(
        default_factory=lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )

    @property
    def jwk(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def token(self, kid: str | None = "", **claims: Any) -> str:
        """A token this key signs, naming ``kid`` (its own by default, none with None)."""
        body = {"sub": "app", "scope": "profile:read", "exp": int(time.time()) + 300, **claims}
        named = self.kid if kid == "" else kid
        return jwt.encode(
            body, self.private, algorithm="RS256", headers={"kid": named} if named else None
        )


@dataclass
class IdentityProvider:
    """Publishes ``keys`` at ``JWKS_PATH``; ``status`` answers every request with that status,
    ``delay`` makes it wait first; ``requests`` counts what reached it."""

    keys: list[SigningKey]
    status: int | None = None
    delay: float = 0.0
    requests: int = 0
    user_agents: list[str] = field(default_factory=list)

    @property
    def app(self) -> Starlette:
        return Starlette(routes=[Route(JWKS_PATH, self._jwks)])

    def publish(self, *keys: SigningKey) -> None:
        self.keys = list(keys)

    async def _jwks(self, request: Request) -> Response:
        self.requests += 1
        self.user_agents.append(request.headers.get("user-agent", ""))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.status is not None:
            return PlainTextResponse("provider trouble", status_code=self.status)
        return JSONResponse({"keys": [key.jwk for key in self.keys]})

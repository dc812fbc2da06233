"""JWKS keys are chosen by the token's ``kid``, as a key rotation publishes old and new keys
side by side: a token names the key that must verify it, and no other key may."""

from __future__ import annotations

import json
import time

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from membergraph.auth import TokenVerifier


def _pair(kid: str) -> tuple[rsa.RSAPrivateKey, dict[str, object]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return private, {**public, "kid": kid, "use": "sig", "alg": "RS256"}


def _token(private: rsa.RSAPrivateKey, kid: str | None) -> str:
    claims = {"sub": "app", "scope": "profile:read", "exp": int(time.time()) + 300}
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid} if kid else None)


def test_the_kid_names_the_key_and_no_other_key_verifies() -> None:
    old, old_jwk = _pair("2026-old")
    new, new_jwk = _pair("2026-new")
    verifier = TokenVerifier(jwks={"keys": [old_jwk, new_jwk]})

    for private, kid in ((old, "2026-old"), (new, "2026-new"), (new, None)):
        caller = verifier.verify(_token(private, kid))
        assert caller is not None and caller.name == "app", kid
    # Signed by the new key but claiming the old one: the named key refuses it.
    assert verifier.verify(_token(new, "2026-old")) is None
    # A key that is not published verifies nothing, whatever kid it claims.
    stranger, _ = _pair("x")
    assert verifier.verify(_token(stranger, "2026-new")) is None
    assert verifier.verify(_token(stranger, "unknown")) is None

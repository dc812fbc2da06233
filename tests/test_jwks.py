"""JWKS keys are chosen by the token's ``kid``, as a key rotation publishes old and new keys
side by side: a token names the key that must verify it, and no other key may."""

from __future__ import annotations

import asyncio
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from membergraph.auth import TokenVerifier
from membergraph.jwks import KeysUnavailable, RemoteJwks
from tests.support.http import serving
from tests.support.identity_provider import JWKS_PATH, IdentityProvider, SigningKey


def _pair(kid: str) -> tuple[rsa.RSAPrivateKey, dict[str, object]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(private.public_key()))
    return private, {**public, "kid": kid, "use": "sig", "alg": "RS256"}


def _token(private: rsa.RSAPrivateKey, kid: str | None) -> str:
    claims = {"sub": "app", "scope": "profile:read", "exp": int(time.time()) + 300}
    return jwt.encode(claims, private, algorithm="RS256", headers={"kid": kid} if kid else None)


async def test_the_kid_names_the_key_and_no_other_key_verifies() -> None:
    old, old_jwk = _pair("2026-old")
    new, new_jwk = _pair("2026-new")
    verifier = TokenVerifier(jwks={"keys": [old_jwk, new_jwk]})

    for private, kid in ((old, "2026-old"), (new, "2026-new"), (new, None)):
        caller = await verifier.verify(_token(private, kid))
        assert caller is not None and caller.name == "app", kid
    # Signed by the new key but claiming the old one: the named key refuses it.
    assert await verifier.verify(_token(new, "2026-old")) is None
    # A key that is not published verifies nothing, whatever kid it claims.
    stranger, _ = _pair("x")
    assert await verifier.verify(_token(stranger, "2026-new")) is None
    assert await verifier.verify(_token(stranger, "unknown")) is None


async def test_while_the_provider_fails_the_keys_it_published_last_keep_verifying() -> None:
    """An outage of the identity provider does not log every client out: a set past its
    lifespan still verifies the kids it holds while the provider fails; a kid it lacks is
    KeysUnavailable (it may be a new key), never a silent refusal."""
    held = SigningKey("held")
    idp = IdentityProvider([held])
    with serving(idp.app) as address:
        url = f"http://{address}{JWKS_PATH}"
        remote = RemoteJwks(url, lifespan_s=0.01, cooldown_s=0, timeout_s=2)
        verifier = TokenVerifier(remote=remote)
        assert await verifier.verify(held.token()) is not None
        idp.status = 503
        await asyncio.sleep(0.02)  # past the lifespan: the next token starts a fetch
        for _ in range(3):
            caller = await verifier.verify(held.token())
            assert caller is not None and caller.name == "app"
            await asyncio.sleep(0)  # the background fetch fails meanwhile
        with pytest.raises(KeysUnavailable):
            await verifier.verify(SigningKey("rotated").token())
        idp.status = None
        idp.publish(SigningKey("rotated"))
        assert await verifier.verify(held.token()) is not None  # still held until a fetch
        await remote.aclose()
    assert idp.requests >= 2  # the first set, then at least one fetch that failed


async def test_a_symmetric_key_published_at_the_url_verifies_nothing() -> None:
    """A shared secret at a URL is a secret anyone reading the URL holds: not a key."""
    secret = "s" * 32
    oct_key = {"kty": "oct", "kid": "hs", "k": jwt.utils.base64url_encode(secret.encode()).decode()}
    idp = IdentityProvider([])
    app = idp.app
    with serving(app) as address:
        remote = RemoteJwks(f"http://{address}{JWKS_PATH}", cooldown_s=0)
        remote.client.fetch_data = lambda: {"keys": [oct_key, SigningKey("rsa").jwk]}  # type: ignore[method-assign]
        forged = jwt.encode(
            {"sub": "x", "exp": int(time.time()) + 60},
            secret,
            algorithm="HS256",
            headers={"kid": "hs"},
        )
        assert await TokenVerifier(remote=remote).verify(forged) is None
        assert [k.key_id for k in await remote.keys_for(None)] == ["rsa"]
        await remote.aclose()

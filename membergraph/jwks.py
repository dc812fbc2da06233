"""An identity provider's signing keys, read from its JWKS URL with PyJWT's ``PyJWKClient``.

``PyJWKClient`` fetches with urllib: it blocks, and it holds a lock while it fetches, so even
a lookup its cache could answer waits (up to the fetch's timeout) behind a fetch running on
another thread. Nothing here calls it on the event loop: a fetch runs on a thread of its own
(one, so a provider that hangs holds one thread, not the pool), the requests that need it
wait for that one fetch together, and the keys it brought are kept here by ``kid``, where a
request reads them without I/O. What a request sees:

- the first token fetches the set (so does the start: :meth:`RemoteJwks.warm`);
- a set older than ``lifespan_s`` is used while a fresh one is fetched in the background;
- a ``kid`` the set lacks (the provider rotated its keys) fetches the set once more, at most
  once every ``cooldown_s``: forged ``kid`` values cost the provider one request a cooldown,
  and within it an unknown ``kid`` is refused without one;
- a request waits at most ``timeout_s`` for a fetch, then :class:`KeysUnavailable` (503);
- while the provider fails, the keys it published last keep verifying (an outage of the
  provider does not log every client out) for ``STALE_LIMIT_S`` after their lifespan;
  a ``kid`` they lack, or no set yet, is :class:`KeysUnavailable`, and so is every token
  for ``cooldown_s`` after a failed fetch: it fails fast rather than waiting again.

Only public keys are taken (RSA, EC, OKP): a symmetric key published at a URL would let
anyone who reads the URL sign tokens.
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import ThreadPoolExecutor

import jwt

from membergraph import __version__

__all__ = ["ASYMMETRIC_ALGORITHMS", "KeysUnavailable", "RemoteJwks"]

logger = logging.getLogger(__name__)

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES256K", "ES384"}
    | {"ES512", "EdDSA"}
)
STALE_LIMIT_S = 3600.0
"""How long after their lifespan a provider's last keys still verify while it fails: a key it
revoked during an outage of more than an hour is refused when the hour ends."""


class KeysUnavailable(Exception):  # noqa: N818 - reads as what happened
    """The identity provider's keys could not be read: the caller may hold a valid token,
    so it is told to try again (503), not that it is refused."""


class RemoteJwks:
    """The signing keys an identity provider publishes at ``url``.

    Example:
        >>> jwks = RemoteJwks("https://idp.example/.well-known/jwks.json")
        >>> jwks.client.timeout
        2.0
    """

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 2.0,
        lifespan_s: float = 300.0,
        cooldown_s: float = 10.0,
    ) -> None:
        # urllib's default User-Agent (Python-urllib) is refused by many CDNs and WAFs in
        # front of identity providers (pyjwt issue 1121): name ourselves.
        headers = {"User-Agent": f"membergraph/{__version__}", "Accept": "application/json"}
        # The set is cached here, read without a lock; PyJWKClient only fetches and parses.
        self.client = jwt.PyJWKClient(url, cache_jwk_set=False, headers=headers, timeout=timeout_s)
        self.url = url
        self.timeout_s = timeout_s
        self.lifespan_s = lifespan_s
        self.cooldown_s = cooldown_s
        self.fetches = 0
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None  # monotonic time of the last set received
        self._tried_at = -float("inf")  # of the last fetch started
        self._failure: str | None = None  # why the last fetch failed, until one succeeds
        self._pending: asyncio.Task[None] | None = None
        self._thread: ThreadPoolExecutor | None = None  # made at the first fetch

    async def keys_for(self, kid: str | None) -> list[jwt.PyJWK]:
        """The keys that may have signed a token naming ``kid``: that one key (none if the
        provider has no such key), or every key for a token naming none.

        Raises:
            KeysUnavailable: the keys could not be read in time.
        """
        if self._needs_set(kid):
            if self._pending is not None or not self._cooling_down():
                await self._refresh()
            # else fetched (or failed) moments ago: no new request to the provider yet
            if self._failure is not None and self._needs_set(kid):
                raise KeysUnavailable(self._failure)
        elif self._age() > self.lifespan_s and self._pending is None and not self._cooling_down():
            self._start_fetch()  # this request uses the keys held; the next sees the new set
        if kid is not None:
            return [self._keys[kid]] if kid in self._keys else []
        return list(self._keys.values())

    def warm(self) -> None:
        """Fetch the set in the background (at start), so the first token waits for nothing."""
        if self._pending is None:
            self._start_fetch()

    async def aclose(self) -> None:
        """Stop waiting for a fetch (a thread stuck in one ends with its timeout)."""
        if self._pending is not None:
            self._pending.cancel()
        if self._thread is not None:
            self._thread.shutdown(wait=False, cancel_futures=True)
            self._thread = None

    def _needs_set(self, kid: str | None) -> bool:
        """No set held can answer: none yet, one past its stale limit, or one without ``kid``."""
        if self._fetched_at is None or self._age() > self.lifespan_s + STALE_LIMIT_S:
            return True
        return kid is not None and kid not in self._keys

    def _age(self) -> float:
        return time.monotonic() - (self._fetched_at or 0.0)

    def _cooling_down(self) -> bool:
        return time.monotonic() - self._tried_at < self.cooldown_s

    async def _refresh(self) -> None:
        task = self._pending or self._start_fetch()
        try:
            await asyncio.wait_for(asyncio.shield(task), self.timeout_s)
        except TimeoutError:
            raise KeysUnavailable(
                f"the identity provider's keys did not arrive within {self.timeout_s:g} s"
            ) from None

    def _start_fetch(self) -> asyncio.Task[None]:
        self._tried_at = time.monotonic()
        self._pending = asyncio.get_running_loop().create_task(self._fetch())
        return self._pending

    async def _fetch(self) -> None:
        loop = asyncio.get_running_loop()
        if self._thread is None:
            self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jwks")
        self.fetches += 1
        try:
            self._keys = await loop.run_in_executor(self._thread, self._read_set)
        except (jwt.PyJWTError, ValueError, OSError) as exc:
            # Connection, HTTP status, not JSON, no usable key: the provider's fault, said once.
            self._failure = "the identity provider's keys cannot be read"
            logger.warning("JWKS %s: %s", self.url, exc)
        else:
            self._fetched_at = time.monotonic()
            self._failure = None
        finally:
            self._pending = None

    def _read_set(self) -> dict[str, jwt.PyJWK]:
        """On the JWKS thread: the provider's public signing keys by ``kid``."""
        keys = self.client.get_signing_keys(refresh=True)
        return {k.key_id: k for k in keys if k.key_id and k.algorithm_name in ASYMMETRIC_ALGORITHMS}

"""Keys derived from the store's own secret, for what every process over one store makes
alike: the ``ref`` a client keys an identifier, a contact point or a record by, and the tags
that bind a list's cursors to the list they were given for (:mod:`.paging`).

A ``ref`` is an HMAC-SHA256 of what it names (an identifier's kind and normalized value, a
record's source and key) under a key derived from the privacy store's secret, cut to 12
bytes and written in 16 base64url characters: the same for the same value in every answer,
for every caller and scope, in every process and across restarts, different for different
values (a collision takes some 2**48 values), and telling nothing of the value to anyone
without the store's secret, so it is shown unmasked to every caller. The same keyed hash
makes a cursor's tag, under another key derived from the same secret: neither is ever the
other, nor a suppression's hash (``privacy.keys``: under the privacy key itself).
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from membergraph.privacy import Privacy, privacy_of
from membergraph.resolvers.context import RequestContext
from membergraph.resolvers.paging import Cursors

__all__ = ["StoreKeys", "keys_of", "list_cursors", "store_keys"]

_REFS = b"membergraph: refs of identifiers and records"
_CURSORS = b"membergraph: tags of list cursors"


class StoreKeys:
    """Makes refs and cursor tags under keys derived from one store's secret."""

    def __init__(self, secret: bytes) -> None:
        self._refs = hmac.new(secret, _REFS, hashlib.sha256).digest()
        self._cursors = hmac.new(secret, _CURSORS, hashlib.sha256).digest()

    def ref(self, *parts: str) -> str:
        """The ref of what ``parts`` name (``"identifier", "EMAIL", value``)."""
        return _keyed(self._refs, parts, 12)

    def tag(self, *parts: str) -> str:
        """A cursor's tag over ``parts`` (the list, whose it is, the cursor's value)."""
        return _keyed(self._cursors, parts, 9)


def _keyed(key: bytes, parts: tuple[str, ...], size: int) -> str:
    digest = hmac.new(key, "\0".join(parts).encode(), hashlib.sha256).digest()[:size]
    return base64.urlsafe_b64encode(digest).decode()


async def keys_of(privacy: Privacy) -> StoreKeys:
    """The keys under the store's own secret (read first: only the store's first use ever
    writes it)."""
    return StoreKeys(await privacy.store.own_secret() or await privacy.store.kept_secret())


async def store_keys(ctx: RequestContext) -> StoreKeys:
    """The store's keys, kept by the gateway: made at its start (so no request pays the
    secret's round trip), or at first use where the start could not read it."""
    gateway = ctx.gateway
    if gateway.store_keys is None:
        gateway.store_keys = await keys_of(await privacy_of(gateway))
    return gateway.store_keys


async def list_cursors(ctx: RequestContext, kind: str, name: str, *whose: str) -> Cursors:
    """The cursors of the list ``kind``, named ``name`` in refusals (of ``whose``: a member's
    ID and the ID it was asked by; none: a list of the whole store)."""
    keys = await store_keys(ctx)
    return Cursors(kind, keys.tag, tuple(dict.fromkeys(whose)) or ("",), f"`{name}`")

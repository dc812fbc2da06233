"""The feed cursors a token bound to one member sees: sealed, and good for its member only.

A feed cursor is a change's place in the whole store's feed. A frontend token bound to one
member hears only its member's changes, but plain positions would tell it how many changes
the whole store took in between: every customer's purchases, logins and merges, the
business's volume, to anyone with an account. Such a token is given every cursor sealed
(``viewer.feedCursor``, each change's ``cursor``): the position and a tag of the member ID
its token names, as one AES block under a key derived from the store's own secret (the
privacy store's, the same in every process and across restarts), written ``m`` and 22
base64url characters; 4 random bytes in the block make each reading of one position differ.
Given back, a sealed cursor opens to its position for a token naming the same member only.
A cursor of digits (one an earlier release gave it) resumes from the feed's start whatever
its value: every change of its member, some heard before, or FEED_EXPIRED once the feed has
pruned any change (resuming after the digits, or from the oldest change kept when they are
newer, would answer whether the feed had passed them: the volume again). A refusal or an
expired cursor names no position. A client not bound to a member is given and takes the
digits it always did.

The IDs of identity events (``identityHistory``'s ``id`` and ``undoneBy``, and the events an
event's evidence names) are numbered across the whole store too, and are sealed for such a
token by the same seal (:func:`event_ids`), with no random bytes: one event reads the same at
every reading (an app keys its list by it; ``undoneBy`` is the ``id`` of the undo), and
differently for every other member's token. A bound token passes them back nowhere: the
mutations that take an event ID (``undo``, ``undoMerge``, ``resolveConflict``) span members
and refuse it (``AcrossMembers``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Callable

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from membergraph.auth import caller_of
from membergraph.privacy import privacy_of
from membergraph.resolvers.context import RequestContext
from membergraph.resolvers.errors import bad_input

__all__ = ["EXPIRED", "CursorSeal", "Sealed", "event_ids", "opened", "seal_of"]

_PREFIX = "m"
_EVENT_PREFIX = "e"
_EVENTS = b"event\0"  # an event ID's tag is not a cursor's: neither opens as the other
_LABEL = b"membergraph: a member-bound token's feed cursors"


class CursorSeal:
    """Seals and opens the feed cursors of a token bound to one member; seals its identity
    event IDs."""

    def __init__(self, secret: bytes) -> None:
        key = hmac.new(secret, _LABEL, hashlib.sha256).digest()
        self._cipher = Cipher(algorithms.AES(key[:16]), modes.ECB())
        self._tags = key[16:]

    def _tag(self, member_id: str, use: bytes = b"") -> bytes:
        return hmac.new(self._tags, use + member_id.encode(), hashlib.sha256).digest()[:6]

    def seal(self, position: int, member_id: str) -> str:
        """``position`` as ``member_id``'s token is shown it: one cipher block of the
        position, 4 random bytes and the member's tag, so two cursors of one position differ
        (a cursor read twice tells no one whether the store changed in between)."""
        block = position.to_bytes(6, "big") + secrets.token_bytes(4) + self._tag(member_id)
        sealed = self._cipher.encryptor().update(block)
        return _PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def seal_event(self, event_id: int, member_id: str) -> str:
        """An identity event's ID as ``member_id``'s token is shown it: one cipher block of
        the ID (the stores' 64-bit integer) and the member's tag for events, the same at
        every reading."""
        block = event_id.to_bytes(8, "big") + bytes(2) + self._tag(member_id, _EVENTS)
        sealed = self._cipher.encryptor().update(block)
        return _EVENT_PREFIX + base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def open(self, cursor: str, member_id: str) -> int | None:
        """The position ``cursor`` holds, if this seal made it for ``member_id`` (else None;
        a forged one passes with odds of 2**-48)."""
        if not (cursor.startswith(_PREFIX) and len(cursor) == 23 and cursor.isascii()):
            return None
        try:
            sealed = base64.urlsafe_b64decode(cursor[1:] + "==")
        except (binascii.Error, ValueError):
            return None
        block = self._cipher.decryptor().update(sealed)
        if len(block) != 16 or not hmac.compare_digest(block[10:], self._tag(member_id)):
            return None
        return int.from_bytes(block[:6], "big")


Sealed = tuple[CursorSeal, str]
"""A bound caller's seal and the member ID its token names."""


async def seal_of(ctx: RequestContext) -> Sealed | None:
    """The seal and the member ID a bound caller's cursors are sealed for (None: a caller
    bound to no member, shown plain positions)."""
    member_id = caller_of(ctx.request).member_id
    if member_id is None:
        return None
    gateway = ctx.gateway
    if gateway.cursor_seal is None:
        privacy = await privacy_of(gateway)
        # Read first: only the store's first sealed cursor ever writes the secret.
        secret = await privacy.store.own_secret() or await privacy.store.kept_secret()
        gateway.cursor_seal = CursorSeal(secret)
    return gateway.cursor_seal, member_id


async def event_ids(ctx: RequestContext) -> Callable[[int], str]:
    """How the caller is shown identity event IDs: digits, or sealed for the member its
    token names."""
    sealed = await seal_of(ctx)
    if sealed is None:
        return str
    seal, member_id = sealed
    return lambda event_id: seal.seal_event(event_id, member_id)


EXPIRED = (
    "the feed no longer keeps changes that old: subscribe without `after` and read the member again"
)
REFUSED = (
    "is not a cursor given to this token: a token bound to one member resumes after a cursor"
    " it was given (`viewer { feedCursor }`, a change's `cursor`); subscribe without `after`"
    " and read the member again"
)


def opened(cursor: str, sealed: Sealed) -> int:
    """The position of a cursor a bound caller gave back (refused: not one of its own)."""
    seal, member_id = sealed
    position = seal.open(cursor, member_id)
    if position is None:
        shown = cursor if len(cursor) <= 30 else cursor[:30] + "..."
        raise bad_input(f"{shown!r} {REFUSED}", argument="after")
    return position

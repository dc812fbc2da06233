"""The keys suppressed identifiers are hashed under, and the refusal to open when they changed.

A suppression is kept as ``HMAC-SHA256(key, kind + value)`` and nothing else, so under
another key no line's digest meets it: a new ``MEMBERGRAPH_PRIVACY_SECRET`` (or one set
over a store that used its own random key) would lift every suppression without a word,
and an erased person's next line would make her a new member. Each suppression therefore
keeps its key's *check*, ``HMAC-SHA256(key, a fixed label)`` cut to 16 hex digits (it tells
keys apart and gives nothing of the key away), and :func:`privacy_keys` refuses
(:class:`PrivacyKeyChanged`) while the store holds a suppression whose check is no key's it
was given: at every start and in every command that opens the privacy store.

Rotation is deliberate: the former secret goes in ``MEMBERGRAPH_PRIVACY_PREVIOUS_SECRETS``
(``store`` names the store's own key, the one used while no secret was set). Lines are then
checked under every listed key, new suppressions are made under the current one, and
``unsuppress`` lifts one under any of them. The hashes cannot be keyed again under the new
secret: that would need the values, which the store never keeps (that is their point). A
former secret may leave the list once no suppression is left under it (the refusal counts
them).

Suppressions an earlier release made name no key: they are checked under the given keys and
under the store's own key if it has one (no key they may have been made under is dropped).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from membergraph.identity.store.types import StoreError
from membergraph.privacy.port import PrivacyStore
from membergraph.settings import Settings

__all__ = ["STORE_KEY", "PrivacyKeyChanged", "PrivacyKeys", "key_check", "privacy_keys"]

logger = logging.getLogger(__name__)

STORE_KEY = "store"
"""What ``MEMBERGRAPH_PRIVACY_PREVIOUS_SECRETS`` names the store's own random key by."""

_LABEL = b"membergraph privacy key check"


def key_check(key: bytes) -> str:
    """What a suppression keeps of the key it was hashed under: tells keys apart, no more."""
    return hmac.new(key, _LABEL, hashlib.sha256).hexdigest()[:16]


class PrivacyKeyChanged(StoreError):
    """The store holds suppressions made under a key the settings no longer give."""


@dataclass(frozen=True, slots=True)
class PrivacyKeys:
    """The key new suppressions are made under, and former keys lines are still checked under."""

    current: bytes
    previous: tuple[bytes, ...] = ()

    @property
    def check(self) -> str:
        return key_check(self.current)

    @property
    def every(self) -> tuple[bytes, ...]:
        return (self.current, *self.previous)


async def privacy_keys(store: PrivacyStore, settings: Settings) -> PrivacyKeys:
    """The keys the settings give (the store's own random key when no secret is set), checked
    against the suppressions ``store`` holds (raises :class:`PrivacyKeyChanged`)."""
    secret = settings.privacy_secret
    current = secret.get_secret_value().encode() if secret else await store.kept_secret()
    previous: list[bytes] = []
    named: list[str] = []  # how the log names each former key (never by its value)
    for n, given in enumerate(settings.privacy_previous_secrets):
        value = given.get_secret_value()
        key = await store.kept_secret() if value == STORE_KEY else value.encode()
        if key != current and key not in previous:
            previous.append(key)
            named.append(
                f"MEMBERGRAPH_PRIVACY_PREVIOUS_SECRETS[{n}]" + f" ({value})" * (value == STORE_KEY)
            )
    held = await store.suppression_keys()
    keys = PrivacyKeys(current, tuple(previous))
    known = {key_check(k) for k in keys.every}
    foreign = {check: n for check, n in held.items() if check is not None and check not in known}
    if foreign:
        own = await store.own_secret()
        raise PrivacyKeyChanged(_refusal(foreign, secret is not None, own))
    if held.get(None):
        own = await store.own_secret()
        if own is not None and own not in keys.every:
            keys = PrivacyKeys(current, (*previous, own))
        logger.info(
            "%d suppression(s) made before suppressions named their key: checked under"
            " every key given and the store's own",
            held[None],
        )
    for name, key in zip(named, previous, strict=True):
        # What tells an operator that a former secret may leave the list: none under it.
        under = held.get(key_check(key), 0)
        logger.info(
            "%s still checks %d suppression(s)%s",
            name,
            under,
            "" if under else ": it may leave the list",
        )
    return keys


def _refusal(foreign: Mapping[str, int], secret_set: bool, own: bytes | None) -> str:
    said = (
        f"the store holds {sum(foreign.values())} suppression(s) made under another key than"
        " the one in use (MEMBERGRAPH_PRIVACY_SECRET, or the store's own key while it is"
        " unset): under this key they would refuse nothing, and an erased person's next line"
        " would make her a member again. "
    )
    if not secret_set:
        return said + "Set MEMBERGRAPH_PRIVACY_SECRET to the secret they were made under"
    if own is not None and key_check(own) in foreign:
        return said + (
            "They were made under the store's own key (while MEMBERGRAPH_PRIVACY_SECRET was"
            " unset): unset it again, or keep checking them while new suppressions use the"
            " secret: MEMBERGRAPH_PRIVACY_PREVIOUS_SECRETS='[\"store\"]'"
        )
    return said + (
        "Set MEMBERGRAPH_PRIVACY_SECRET back, or keep checking them while new suppressions"
        " use the new secret: list the former one in MEMBERGRAPH_PRIVACY_PREVIOUS_SECRETS"
        " (a JSON list of secrets)"
    )

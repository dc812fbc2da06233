"""Privacy: access, erasure, suppression, trustworthy consent and the audit of who read what.

:func:`open_privacy` builds the privacy services over an identity store (the privacy
state lives in the same database); :func:`privacy_of` gives a gateway's, opened on first
use.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from membergraph.identity.store.port import IdentityStore
from membergraph.privacy.keys import privacy_keys
from membergraph.privacy.port import PrivacyStore
from membergraph.privacy.suppression import Suppressor
from membergraph.settings import Settings

if TYPE_CHECKING:
    from membergraph.gateway_parts import Gateway
    from membergraph.privacy.erasure import ErasureService

__all__ = ["Privacy", "open_privacy", "privacy_of", "privacy_store_for"]


@dataclass(slots=True)
class Privacy:
    """The privacy store, the suppressor keyed with the configured secret, and the erasure
    service (made on first use: :func:`~membergraph.privacy.erasure.erasure_of`)."""

    store: PrivacyStore
    suppressor: Suppressor
    erasure: ErasureService | None = None


def privacy_store_for(store: IdentityStore) -> PrivacyStore:
    """The privacy store beside an identity store, in the same database (not yet open)."""
    from membergraph.identity.store.sqlite import SqliteStore

    if isinstance(store, SqliteStore):
        from membergraph.privacy.sqlite_store import SqlitePrivacyStore

        return SqlitePrivacyStore(store)
    from membergraph.privacy.mongodb_store import MongoPrivacyStore

    return MongoPrivacyStore(store)


async def open_privacy(store: IdentityStore, settings: Settings) -> Privacy:
    """Open the privacy store beside ``store`` and key its suppressor (raises
    :class:`~membergraph.privacy.keys.PrivacyKeyChanged` while it holds suppressions made
    under a key the settings no longer give)."""
    privacy_store = privacy_store_for(store)
    await privacy_store.open()
    keys = await privacy_keys(privacy_store, settings)
    return Privacy(privacy_store, Suppressor(privacy_store, keys, settings.default_region))


_opening = asyncio.Lock()


async def privacy_of(gateway: Gateway) -> Privacy:
    """The gateway's privacy services, opened on first use."""
    if gateway.privacy is None:
        async with _opening:
            if gateway.privacy is None:
                gateway.privacy = await open_privacy(gateway.identity.store, gateway.settings)
    return gateway.privacy

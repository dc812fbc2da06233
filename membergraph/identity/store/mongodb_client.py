"""Connecting to MongoDB: one place that makes a client, checks it answers, and names the
server in errors without its password (used by the identity store and the source backends)."""

from __future__ import annotations

import re
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.errors import PyMongoError

from membergraph.identity.store.port import StoreError

__all__ = ["connect", "database_of", "redact"]


def redact(url: str) -> str:
    """The URL without its password: ``mongodb://app:***@db:27017/membergraph``."""
    return re.sub(r"(://[^:@/]+):[^@/]*@", r"\1:***@", url)


async def connect(url: str, client: Any = None, timeout_ms: int = 5000) -> Any:
    """A client for ``url`` (or ``client``, already made) that has answered a ping.

    ``serverSelectionTimeoutMS`` in the URL wins over ``timeout_ms``.

    Raises:
        StoreError: a bad URL, or no server answered; the message names the URL without
            its password and what failed.
    """
    if client is None:
        options: dict[str, Any] = {}
        if "serverselectiontimeoutms" not in url.lower():
            options["serverSelectionTimeoutMS"] = timeout_ms
        try:
            client = AsyncMongoClient(url, connect=False, **options)
        except (PyMongoError, ValueError, TypeError) as exc:
            raise StoreError(f"MongoDB {redact(url)}: bad URL: {exc}") from exc
    try:
        await client.admin.command("ping")
    except PyMongoError as exc:
        await client.close()
        # PyMongo appends the whole topology description: the first part says what failed.
        reason = str(exc).split(", Timeout:")[0].split(" (configured timeouts")[0]
        raise StoreError(f"MongoDB {redact(url)}: no server answered ({reason})") from exc
    return client


def database_of(url: str) -> str:
    """The database a URL names (``mongodb://host/NAME?...``), ``membergraph`` if none."""
    rest = url.split("://", 1)[-1]
    path = rest.split("/", 1)[1] if "/" in rest else ""
    name = path.split("?", 1)[0]
    return name or "membergraph"

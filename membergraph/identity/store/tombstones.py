"""Tombstones: erased members' IDs, kept so that no member is ever given one again.

A new member's ID is derived from its smallest record's key (:func:`~membergraph.identity.ids.
new_member_id`), and an erasure deletes the member with its records. Without a tombstone, the
next person whose record gets that key (a CRM that numbers contacts again, a call-center
tool that reuses call ids, the same line sent again after an erasure that did not suppress
it) would get the erased person's ID, and every system that kept "member X erased" (a
suppression list, the feed's ``ERASED`` entry, a cache, a CDN) would take the new person for
her, or drop him. :meth:`IdentityStore.taken_member_ids
<membergraph.identity.store.port.IdentityStore.taken_member_ids>` counts a tombstoned ID as
used, so the ID assignment derives another.

A member ID is an unkeyed hash of a record key, and some record keys are personal data
(``online:<email>``, ``loyalty:<card>``): whoever guesses an e-mail can derive the ID of the
member it made, and a list of erased IDs would tell him that its owner asked to be
forgotten. So a tombstone keeps ``HMAC-SHA256(key, member ID)`` and the erasure's time,
nothing else. The key is random, made by the first erasure and kept in the store (SQLite:
``meta``; MongoDB: the ``meta`` collection), so every process and command over the store
(``serve``, ``resolve``, ``load``, ``reresolve``) checks the same way whatever its settings;
it is not ``MEMBERGRAPH_PRIVACY_SECRET``, whose change would silently free every erased ID.
The tombstones alone (a copied table, a log) name no one; a whole copy of the store holds
the key too, as it holds the privacy requests, which keep the member ID they were asked for.

Written in the erasure's own transaction (``privacy/sqlite_erase.py``,
``privacy/mongodb_erase.py``); never deleted.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

__all__ = [
    "KEY",
    "SCHEMA",
    "any_buried_sqlite",
    "bury_mongo",
    "bury_sqlite",
    "buried_mongo",
    "buried_sqlite",
    "digest",
    "mongo_key",
]

KEY = "tombstone_key"
"""The ``meta`` row (SQLite) or document (MongoDB) holding the tombstones' key, in hex."""

SCHEMA = (
    "CREATE TABLE IF NOT EXISTS erased_members"
    " (digest TEXT PRIMARY KEY, at TEXT NOT NULL) WITHOUT ROWID;\n"
)
"""The SQLite table, created as the store opens (a store made before gets it then)."""

_CHUNK = 500


def digest(key: bytes, member_id: str) -> str:
    """What a tombstone keeps of an erased member ID."""
    return hmac.new(key, f"member\x00{member_id}".encode(), hashlib.sha256).hexdigest()


def _digests(key: bytes, ids: Iterable[str]) -> dict[str, str]:
    return {digest(key, m): m for m in set(ids)}


# -- SQLite (plain sqlite3, in the store's connection thread) ---------------------------


def _sqlite_key(db: sqlite3.Connection) -> bytes | None:
    row = db.execute("SELECT value FROM meta WHERE key = ?", (KEY,)).fetchone()
    return None if row is None else bytes.fromhex(row[0])


def bury_sqlite(db: sqlite3.Connection, member_ids: Sequence[str], at: datetime) -> None:
    """Tombstone ``member_ids``, inside the caller's transaction (the erasure's)."""
    if not member_ids:
        return
    db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (KEY, secrets.token_hex(32))
    )
    key = _sqlite_key(db)
    assert key is not None  # (written just above)
    db.executemany(
        "INSERT OR IGNORE INTO erased_members (digest, at) VALUES (?, ?)",
        [(d, at.isoformat()) for d in _digests(key, member_ids)],
    )


def buried_sqlite(db: sqlite3.Connection, member_ids: Iterable[str]) -> set[str]:
    """Those of ``member_ids`` an erasure tombstoned."""
    member_ids = list(member_ids)
    key = _sqlite_key(db) if member_ids else None  # (an ingest asks of no ID, mostly)
    if key is None:  # no erasure ever made the key: nothing is tombstoned
        return set()
    wanted = _digests(key, member_ids)
    found: set[str] = set()
    digests = sorted(wanted)
    for start in range(0, len(digests), _CHUNK):
        chunk = digests[start : start + _CHUNK]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(f"SELECT digest FROM erased_members WHERE digest IN ({marks})", chunk)
        found.update(wanted[r[0]] for r in rows)
    return found


def any_buried_sqlite(db: sqlite3.Connection) -> bool:
    """Whether any ID was tombstoned (a store with no record may still have used IDs)."""
    return db.execute("SELECT 1 FROM erased_members LIMIT 1").fetchone() is not None


# -- MongoDB (PyMongo's async API) --------------------------------------------------------


async def mongo_key(db: Any, make: bool = False) -> bytes | None:
    """The tombstones' key (None: no erasure made one); ``make``: made if missing (outside
    the erasure's transaction: an upsert of a document another erasure may be making)."""
    if make:
        await db.meta.update_one(
            {"_id": KEY}, {"$setOnInsert": {"value": secrets.token_hex(32)}}, upsert=True
        )
    doc = await db.meta.find_one({"_id": KEY})
    return None if doc is None else bytes.fromhex(doc["value"])


async def bury_mongo(
    db: Any, key: bytes, member_ids: Sequence[str], at: datetime, session: Any
) -> None:
    """Tombstone ``member_ids`` in the erasure's transaction (``session``)."""
    for found in _digests(key, member_ids):
        await db.erased_members.update_one(
            {"_id": found}, {"$setOnInsert": {"at": at.isoformat()}}, upsert=True, session=session
        )


async def buried_mongo(db: Any, member_ids: Iterable[str], key: bytes | None) -> set[str]:
    """Those of ``member_ids`` an erasure tombstoned (``key``: :func:`mongo_key`'s; None:
    no erasure made one, so none)."""
    if key is None:
        return set()
    wanted = _digests(key, member_ids)
    found: set[str] = set()
    digests = sorted(wanted)
    for start in range(0, len(digests), _CHUNK):
        cursor = db.erased_members.find(
            {"_id": {"$in": digests[start : start + _CHUNK]}}, {"_id": 1}
        )
        found.update(wanted[d["_id"]] for d in await cursor.to_list())
    return found

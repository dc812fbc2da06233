"""Erasures a restore would undo: carried over from the store it replaces.

A backup taken before an erasure holds the person whole; put in place, it would bring her
back, and drop the record of her erasure and her suppressions with the store it replaces
(which holds them). So ``membergraph restore`` reads, in the store it replaces, the erase
requests the backup does not hold, and copies them into the restored store with every
suppression, tombstone and the keys they were made under; the requests start again
(``pending``, their steps not run) and are run at once over the restored store, as a
gateway would run them at its start: her records, lines and identifiers go again, the
record of the request stays. An erasure narrowed to records an officer named
(``erase_records``) keeps no record keys once done: its suppressions and tombstones are
carried (her identifiers and removed lines stay refused), and the restore names it, to be
asked again.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import orjson

from membergraph.identity.store.tombstones import KEY as TOMBSTONE_KEY
from membergraph.identity.store.tombstones import SCHEMA as TOMBSTONES
from membergraph.privacy.sqlite_store import SCHEMA as PRIVACY

__all__ = [
    "carry_erasures",
    "erasures_since",
    "pending_erasures",
    "reapply",
    "require_none_pending",
]

_ERASURES = ("erase", "erase_records")
_KEYS = ("privacy_secret", TOMBSTONE_KEY)
"""The ``meta`` rows of the keys the carried suppressions and tombstones were made under."""


def erasures_since(replaced: Path, backup: sqlite3.Connection) -> list[tuple[str, str, bool]]:
    """The erase requests (id, member ID, whether narrowed to records named:
    ``erase_records``) the store at ``replaced`` holds and ``backup`` does not: what
    restoring the backup would undo (none if there is no such store)."""
    if not replaced.exists():
        return []
    backup.executescript(PRIVACY + TOMBSTONES)  # (a backup from before the tables)
    with _attached(backup, replaced) as old:
        if not old:
            return []
        rows = backup.execute(
            "SELECT id, member_id, body FROM old.privacy_requests WHERE id NOT IN"
            " (SELECT id FROM main.privacy_requests) ORDER BY created_at, id"
        ).fetchall()
    kinds = [(r[0], r[1], orjson.loads(r[2]).get("kind")) for r in rows]
    return [(i, m, kind == "erase_records") for i, m, kind in kinds if kind in _ERASURES]


def carry_erasures(
    replaced: Path, into: sqlite3.Connection, ids: Sequence[str], narrowed: Sequence[str] = ()
) -> None:
    """Copy the erase requests ``ids`` of the store at ``replaced`` into ``into`` (a backup
    being restored), to be run again, with every suppression, tombstone and key it lacks,
    in one transaction. Those ``narrowed`` (``erase_records``) are copied as they were,
    not run again: a request keeps no record keys once done (they are hers), so which of
    the member's records were hers is the officer's to say again (the restore says so)."""
    if not ids:
        return
    now = datetime.now(UTC).isoformat()
    with _attached(into, replaced), into:
        marks = ",".join("?" * len(ids))
        rows = into.execute(
            "SELECT id, member_id, created_at, body FROM old.privacy_requests"
            f" WHERE id IN ({marks})",
            tuple(ids),
        ).fetchall()
        for request_id, member_id, created_at, body in rows:
            said = body if request_id in narrowed else _again(body, now)
            into.execute(
                "INSERT OR REPLACE INTO main.privacy_requests VALUES (?,?,?,?)",
                (request_id, member_id, created_at, said),
            )
        into.execute("INSERT OR IGNORE INTO main.suppressions SELECT * FROM old.suppressions")
        into.execute("INSERT OR IGNORE INTO main.erased_members SELECT * FROM old.erased_members")
        into.execute(
            f"INSERT OR IGNORE INTO main.meta (key, value) SELECT key, value FROM old.meta"
            f" WHERE key IN ({','.join('?' * len(_KEYS))})",
            _KEYS,
        )


def _again(body: bytes | str, now: str) -> str:
    """A request as asked, not run yet: what it asked kept (who, why, whether to
    suppress), what its run did forgotten (its next run finds it again)."""
    was = orjson.loads(body)
    skipped = was.get("steps", {}).get("suppress") == "skipped"
    return orjson.dumps(
        {
            **was,
            "state": "pending",
            "steps": {"suppress": "skipped"} if skipped else {},
            "counts": {},
            "forwarded": [],
            "sources": {},
            "resolve_again": [],
            "erased_ids": [],
            "updated_at": now,
        }
    ).decode()


class _attached:
    """The store at ``path`` attached to ``db`` as ``old`` (True) while the block runs, or
    nothing (False) when it is no membergraph store with privacy tables."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        self.db, self.path = db, path

    def __enter__(self) -> bool:
        self.db.execute("ATTACH DATABASE ? AS old", (str(self.path),))
        found = self.db.execute(
            "SELECT count(*) FROM old.sqlite_master WHERE type = 'table'"
            " AND name IN ('privacy_requests', 'suppressions', 'erased_members', 'meta')"
        ).fetchone()[0]
        return bool(found == 4)

    def __exit__(self, *_: object) -> None:
        self.db.execute("DETACH DATABASE old")


def pending_erasures(url: str) -> list[tuple[str, str]]:
    """The erase requests of the SQLite store at ``url`` not run yet (id, member ID): those
    a restore carried over until ``membergraph reresolve`` or a gateway's start runs them
    (read ``mode=ro``: nothing written; none for another kind of store)."""
    from membergraph.cli_checks import sqlite_file

    path = sqlite_file(url)
    if path is None or not path.is_file():
        return []
    uri = f"{path.resolve().as_uri()}?mode=ro"
    try:
        with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as db:
            rows = db.execute(
                "SELECT id, member_id, body FROM privacy_requests ORDER BY created_at, id"
            ).fetchall()
    except sqlite3.Error:
        return []  # (no privacy table yet: nothing asked)
    bodies = [(i, m, orjson.loads(b)) for i, m, b in rows]
    return [
        (i, m) for i, m, b in bodies if b.get("kind") in _ERASURES and b.get("state") == "pending"
    ]


def require_none_pending(url: str, what: str) -> None:
    """Exit 1 naming them while erasures are pending in the store at ``url``: ``what``
    (an export) would hand out the people they erase."""
    import typer
    from rich.console import Console

    from membergraph.identity.store.format import reresolve_command

    pending = pending_erasures(url)
    if not pending:
        return
    named = ", ".join(f"{i} (member {m})" for i, m in pending)
    Console(stderr=True, markup=False).print(
        f"error: {len(pending)} erasure(s) are pending in the store ({named}): {what} would"
        f" hand out the people they erase; `{reresolve_command(url)}` finishes them (as a"
        " gateway's start does), then run this again",
        soft_wrap=True,
    )
    raise typer.Exit(1)


async def reapply(settings: object) -> list[tuple[str, str]]:
    """Run the unfinished erase requests of the restored store (``settings`` name it):
    each (request id, state) after its run."""
    from membergraph.gateway import open_gateway
    from membergraph.privacy.erasure import erasure_of
    from membergraph.settings import Settings

    assert isinstance(settings, Settings)
    gateway, sources, _ = await open_gateway(settings, demo=False)
    try:
        service = await erasure_of(gateway)
        done = await service.retry_unfinished()
        return [(request.id, request.state) for request in done]
    finally:
        await gateway.identity.store.aclose()
        await sources.aclose()

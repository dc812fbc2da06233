"""``membergraph load --if-empty``: a seed that loads only into a store that holds nothing.

docker-compose.yml's ``seed`` service runs at every ``docker compose up``, and the gateway
starts once it has succeeded: loading the demo into a store that holds data already would
push the demo's lines into it, and over a store of an older release (which every command
but ``reresolve`` refuses) it would fail, and the gateway would never start. So the seed
asks first, writing nothing: a store holding any record or line is left to the gateway,
whose start serves it, or refuses an older one naming ``membergraph reresolve``.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path

from membergraph.cli_checks import sqlite_file
from membergraph.settings import Settings

__all__ = ["holds_any", "seed_holds_any"]


def seed_holds_any(to: str, store: str | None) -> bool:
    """``load --if-empty``: whether ``to`` holds anything (said on stderr when it does),
    the identity store read as the load reads it (``store``, else ``MEMBERGRAPH_STORE``,
    else the ``--to`` database)."""
    from rich.console import Console

    from membergraph.cli_options import command_settings
    from membergraph.identity.store.mongodb_client import redact

    if to.startswith("sqlite:///"):
        found = asyncio.run(holds_any(to, Settings(), to))
    else:
        settings = command_settings(store=store)
        store_url = settings.store if "store" in settings.model_fields_set else to
        found = asyncio.run(holds_any(to, settings, store_url))
    if found:
        Console(stderr=True, markup=False).print(
            f"{redact(to)} holds records or lines already: nothing loaded (--if-empty)",
            soft_wrap=True,
        )
    return found


async def holds_any(to: str, settings: Settings, store_url: str) -> bool:
    """Whether the store ``to`` (SQLite: its file; MongoDB: its source collections and the
    identity store at ``store_url``) holds any record or line, read without writing."""
    path = sqlite_file(to)
    if to.startswith("sqlite:///"):
        return path is not None and path.is_file() and _file_holds_any(path)
    from membergraph.identity.store import store_from_url
    from membergraph.mongo_load import holds_lines
    from membergraph.source_set import mongo_timeouts

    timeouts = mongo_timeouts(settings)
    if await holds_lines(to, settings.default_region, None, timeouts):
        return True
    async with store_from_url(store_url, None, mongo_timeouts=timeouts) as identity:
        return await identity.holds_records()


def _file_holds_any(path: Path) -> bool:
    uri = f"{path.resolve().as_uri()}?mode=ro"
    with contextlib.closing(sqlite3.connect(uri, uri=True, timeout=30)) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        return any(
            db.execute(f"SELECT EXISTS (SELECT 1 FROM {table})").fetchone()[0]  # noqa: S608
            for table in ("records", "source_lines")
            if table in tables
        )

"""What a start over MongoDB source collections needs to know of the loads that fill them:
a version that changes whenever ``membergraph load`` may have changed their lines.

A load writes a new version before its first line and, when it changed no line, puts back
the one before (only if no other load wrote one meanwhile); a load stopped half-way leaves
its own. The identity store keeps the version it resolved the collections at
(:meth:`~membergraph.identity.store.port.IdentityStore.sources_resolved`), and a start
resolves them again only when the two differ: a restart over collections no load changed
reads none of their lines. Lines reach identity otherwise as they are written (``POST
/ingest``, ``membergraph sync``, an erasure), never by a listing at a start.

The version is one document of the sources' database (``source_loads``), beside the
collections it speaks for.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pymongo.errors import PyMongoError

from membergraph.connectors.base import SourceUnavailable

__all__ = ["LOADS", "Load", "load_version"]

LOADS = "source_loads"
"""The collection of the sources' database holding the version of their last load."""

_ID = "version"


async def load_version(database: Any) -> str:
    """The version of the collections of ``database`` ("" before any load recorded one)."""
    try:
        doc = await database[LOADS].find_one({"_id": _ID})
    except PyMongoError as exc:
        raise SourceUnavailable(LOADS, f"cannot read the version of the last load: {exc}") from exc
    return "" if doc is None else str(doc.get("version", ""))


@dataclass
class Load:
    """One load's version of the collections of ``database``: :meth:`begin` before its first
    write, :meth:`end` once it has written them all."""

    database: Any
    before: str = ""
    mine: str = ""

    async def begin(self) -> None:
        self.before = await load_version(self.database)
        self.mine = uuid.uuid4().hex
        await self._write({"_id": _ID}, self.mine, upsert=True)

    async def end(self, changed: bool) -> None:
        """The load is over; a load that ``changed`` no line leaves the version it found
        (unless another load has written one since: that one stands)."""
        if not changed:
            await self._write({"_id": _ID, "version": self.mine}, self.before, upsert=False)

    async def _write(self, where: dict[str, str], version: str, upsert: bool) -> None:
        try:
            await self.database[LOADS].update_one(
                where, {"$set": {"version": version}}, upsert=upsert
            )
        except PyMongoError as exc:
            raise SourceUnavailable(LOADS, f"cannot record this load's version: {exc}") from exc

"""What a start over MongoDB source collections needs to know of the loads that fill them:
a version that changes whenever ``membergraph load`` may have changed their lines.

A load writes a new version before its first line and, when it changed no line, puts back
the one before (only if no other load wrote one meanwhile); a load stopped half-way leaves
its own. A first load resolves the lines it copied and records the version in the identity
store (:meth:`~membergraph.identity.store.port.IdentityStore.sources_resolved`); a later
load is applied as pushes are, line by line, and so are ``POST /ingest``, ``membergraph
sync`` and an erasure: no start lists or resolves the collections. A start only compares
(:func:`sources_behind`): a version other than the one the store recorded (a first load
stopped before it resolved, one into another identity store) or lines filed under no
owner (written by another tool than membergraph) are served as they are and said to be,
until ``membergraph reresolve`` resolves them.

The version is one document of the sources' database (``source_loads``), beside the
collections it speaks for.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pymongo.errors import PyMongoError

from membergraph.connectors.base import Connector, SourceUnavailable
from membergraph.connectors.models import SourceName
from membergraph.connectors.mongodb import MongoSource

__all__ = ["LOADS", "Behind", "Load", "load_version", "sources_behind"]

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


@dataclass(frozen=True, slots=True)
class Behind:
    """Source collections holding lines the identity store was not resolved from."""

    version: str
    """The collections' version (what the store records once it has resolved them)."""
    why: str
    """What a person is told (names no server)."""


async def sources_behind(
    sources: Mapping[SourceName, Connector[Any]], resolved: str | None
) -> Behind | None:
    """Whether the MongoDB collections among ``sources`` hold lines an identity store that
    recorded ``resolved`` (its ``sources_resolved``) has not resolved; None: it resolved
    all of them (or no source is a collection). A few indexed reads, no listing."""
    collections = [c for c in sources.values() if isinstance(c, MongoSource)]
    if not collections:
        return None
    version = await load_version(collections[0].collection.database)
    # A store that recorded none and collections no load versioned: both new, or filled
    # by pushes only (resolved as they came).
    if version != (resolved or ""):
        return Behind(
            version,
            "the source collections were loaded since the identity store was resolved from "
            "them (a first load stopped before it resolved, or one into another store)",
        )
    for collection in collections:
        if await collection.holds_unowned():
            return Behind(
                version,
                f"the {collection.source} collection holds lines no membergraph load or "
                "push wrote (another tool's)",
            )
    return None

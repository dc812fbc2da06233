"""Assembling a gateway from settings: sources, identity store, first resolution.

Used by the Starlette lifespan (``app.py``) and by the CLI's batch commands.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from membergraph._perf import gc_paused
from membergraph.connectors.base import SourceConnector
from membergraph.connectors.files import FileConnector, LoadReport
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.demo import write_demo_data
from membergraph.identity.load import collect_records, owner_key
from membergraph.identity.rules import load_rules
from membergraph.identity.service import ApplyResult, IdentityService
from membergraph.identity.store import store_from_url
from membergraph.resolvers.context import Gateway
from membergraph.settings import Settings

__all__ = [
    "SourceSet",
    "demo_folder",
    "mongo_sources",
    "open_gateway",
    "open_source_set",
    "open_sources",
]

logger = logging.getLogger(__name__)


@dataclass
class SourceSet:
    """The four sources, each over its backend (files, MongoDB or HTTP)."""

    where: str  # what to tell a person: the folder, or the URL without its password
    connectors: dict[SourceName, SourceConnector]
    folder: Path | None = None
    closers: list[Callable[[], Awaitable[object]]] = field(default_factory=list)

    def reports(self) -> dict[SourceName, LoadReport]:
        return {name: conn.report for name, conn in self.connectors.items()}

    def lines(self) -> Iterator[tuple[SourceName, BaseModel]]:
        """Every line of the file sources (already in memory)."""
        for name, conn in self.connectors.items():
            if isinstance(conn, FileConnector):
                for line in conn.lines():
                    yield name, line

    async def all_lines(self) -> list[tuple[SourceName, BaseModel]]:
        """Every line of every source, listing the remote ones (file sources reported theirs
        when they were read)."""
        found = list(self.lines())
        for name, conn in self.connectors.items():
            if not isinstance(conn, FileConnector):
                found += [(name, line) async for line in conn.scan()]
                _log_report(name, conn.report)
        return found

    async def aclose(self) -> None:
        for close in self.closers:
            await close()


def _log_report(name: SourceName, report: LoadReport) -> None:
    for error in report.errors[:5]:
        logger.warning("skipped malformed line %s", error)
    if report.malformed:
        logger.warning("%s: %d malformed line(s) skipped", name.value, report.malformed)


def demo_folder(settings: Settings) -> Path:
    """The generated demo data set, written once into the cache folder."""
    folder = settings.cache_dir / f"demo-{settings.demo_members}-seed{settings.demo_seed}"
    if not (folder / "truth.jsonl").exists():
        write_demo_data(folder, settings.demo_members, settings.demo_seed)
    return folder


def _owner(source: SourceName, region: str) -> Callable[[BaseModel], str | None]:
    return lambda line: owner_key(source, line, region)


def open_sources(
    folder: Path, region: str, timeout: float = 5.0, keep_order: bool = False
) -> SourceSet:
    """Read every source file of a folder; malformed lines are reported, never fatal."""
    connectors: dict[SourceName, SourceConnector] = {}
    for name, spec in SOURCES.items():
        conn = FileConnector(spec, folder, _owner(name, region), timeout)
        with gc_paused():
            _log_report(name, conn.load(keep_order))
        connectors[name] = conn
    return SourceSet(str(folder), connectors, folder)


async def mongo_sources(
    url: str, region: str, client: Any = None, source_timeout: float = 5.0
) -> SourceSet:
    """The four sources as collections of the database a ``mongodb://`` URL names."""
    from membergraph.connectors.mongodb import MongoSource
    from membergraph.identity.store.mongodb_client import connect, database_of, redact

    owned = client is None
    client = await connect(url, client)
    database = client[database_of(url)]
    collections = {
        name: MongoSource(spec, _owner(name, region), database[name.value], source_timeout)
        for name, spec in SOURCES.items()
    }
    for collection in collections.values():
        await collection.ensure_indexes()
    closers: list[Callable[[], Awaitable[object]]] = [client.close] if owned else []
    return SourceSet(redact(url), dict(collections), closers=closers)


async def open_source_set(settings: Settings, mongo_client: Any = None) -> SourceSet:
    """The sources as settings place them: MongoDB or a folder, then HTTP overrides."""
    region = settings.default_region
    if settings.sources:
        sources = await mongo_sources(settings.sources, region, mongo_client)
    else:
        where = settings.data
        if where is None:
            where = await asyncio.to_thread(demo_folder, settings)
        sources = await asyncio.to_thread(open_sources, where, region)
    if settings.http_sources:
        import httpx

        from membergraph.connectors.http import HttpSource

        client = httpx.AsyncClient(limits=httpx.Limits(max_connections=50))
        sources.closers.append(client.aclose)
        for name, config in settings.http_sources.items():
            owner = _owner(name, region)
            sources.connectors[name] = HttpSource(SOURCES[name], owner, config, client)
        sources.where += " + HTTP (" + ", ".join(n.value for n in settings.http_sources) + ")"
    return sources


async def open_gateway(
    settings: Settings, mongo_client: Any = None
) -> tuple[Gateway, SourceSet, ApplyResult]:
    """Open the sources and the store and resolve identities (stable IDs across restarts).

    ``mongo_client`` (an ``AsyncMongoClient``) serves every ``mongodb://`` URL of the
    settings instead of one client per URL.
    """
    sources = await open_source_set(settings, mongo_client)
    store = store_from_url(settings.store, mongo_client)
    try:
        await store.open()
        identity = IdentityService(store, load_rules(settings.rules), settings.default_region)
        lines = await sources.all_lines()
        with gc_paused():
            records = collect_records(lines, settings.default_region)
        del lines
        result = await identity.resolve_all(records)
    except BaseException:
        await store.aclose()
        await sources.aclose()
        raise
    gateway = Gateway(settings=settings, identity=identity, sources=sources.connectors)
    gateway.extras["source_set"] = sources
    return gateway, sources, result

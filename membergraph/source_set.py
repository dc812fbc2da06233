"""The four sources as settings place them: files of a folder (or the generated demo), the
source table of the embedded store's SQLite file, MongoDB collections, HTTP overrides."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from membergraph._perf import gc_paused
from membergraph.connectors.base import SourceConnector
from membergraph.connectors.files import FileConnector, LoadReport
from membergraph.connectors.http import HttpSource
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.connectors.sqlite import SqliteLines, SqliteSource, folder_fingerprint
from membergraph.demo import generator_version, write_demo_data
from membergraph.identity.load import ownership
from membergraph.settings import Settings

__all__ = [
    "SourceSet",
    "demo_folder",
    "embedded_path",
    "mongo_sources",
    "mongo_timeouts",
    "open_source_set",
    "open_sources",
    "sqlite_sources",
]

logger = logging.getLogger(__name__)


@dataclass
class SourceSet:
    """The four sources, each over its backend (files, MongoDB or HTTP)."""

    where: str  # what to tell a person: the folder, or the URL without its password
    connectors: dict[SourceName, SourceConnector]
    folder: Path | None = None
    closers: list[Callable[[], Awaitable[object]]] = field(default_factory=list)
    held: dict[SourceName, SourceConnector] = field(default_factory=dict)
    """For each source read over HTTP, the backend it replaced (the store's source table, a
    MongoDB collection): where ``membergraph sync`` keeps the lines it took from the API, each
    ordered against the version taken before, as ``POST /ingest`` keeps pushed lines."""
    version: Callable[[], Awaitable[str]] | None = None
    """What says the listed sources (:meth:`all_lines`) hold the lines they held when the
    identity store last resolved them: a folder's fingerprint, the MongoDB collections' load
    version (:mod:`~membergraph.connectors.mongodb_loads`); None: it cannot be told."""

    def reports(self) -> dict[SourceName, LoadReport]:
        return {name: conn.report for name, conn in self.connectors.items()}

    def lines(self) -> Iterator[tuple[SourceName, BaseModel]]:
        """Every line of the file sources (already in memory)."""
        for name, conn in self.connectors.items():
            if isinstance(conn, FileConnector):
                for line in conn.lines():
                    yield name, line

    def older_lines(self) -> Iterator[tuple[SourceName, BaseModel]]:
        """The superseded versions the file sources read where a source keeps history (a
        CRM contact's older versions: identity keeps their values)."""
        for name, conn in self.connectors.items():
            if isinstance(conn, FileConnector):
                for line in conn.older_lines():
                    yield name, line

    async def all_lines(self) -> list[tuple[SourceName, BaseModel]]:
        """Every line of the file sources and the MongoDB ones (file sources reported theirs
        when they were read; a SQLite source table is not listed: it was resolved as it was
        loaded; nor is an HTTP API: its customers arrive by ``/ingest`` or ``membergraph
        sync``, never by a listing at every start)."""
        found = list(self.lines())
        for name, conn in self.connectors.items():
            if not isinstance(conn, FileConnector | SqliteSource | HttpSource):
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
    """The generated demo data set, written once into the cache folder for each version of
    the generator (a folder an older one wrote is never served)."""
    name = f"demo-{settings.demo_members}-seed{settings.demo_seed}-{generator_version()}"
    folder = settings.cache_dir / name
    if not (folder / "truth.jsonl").exists():
        write_demo_data(folder, settings.demo_members, settings.demo_seed)
    return folder


def _owner(source: SourceName, region: str) -> Callable[[BaseModel], str | None]:
    return ownership(source, region)


def open_sources(
    folder: Path,
    region: str,
    timeout: float = 5.0,
    keep_order: bool = False,
    durable: bool = True,
    only: Collection[SourceName] | None = None,
) -> SourceSet:
    """Read every source file of a folder (``only``: those of these sources); malformed
    lines are reported, never fatal. ``durable``: a pushed line is fsynced before it is
    answered (``MEMBERGRAPH_DURABLE``)."""
    connectors: dict[SourceName, SourceConnector] = {}
    for name, spec in SOURCES.items():
        if only is not None and name not in only:
            continue
        conn = FileConnector(spec, folder, _owner(name, region), timeout, durable)
        with gc_paused():
            _log_report(name, conn.load(keep_order))
        connectors[name] = conn
    return SourceSet(str(folder), connectors, folder, version=partial(_fingerprint, folder))


async def _fingerprint(folder: Path) -> str:
    return folder_fingerprint(folder)


def mongo_timeouts(settings: Settings) -> Any:
    """The settings' MongoDB timeouts (a ``MongoTimeouts``)."""
    from membergraph.identity.store.mongodb_client import MongoTimeouts

    return MongoTimeouts(
        settings.mongodb_timeout_ms,
        settings.mongodb_server_selection_ms,
        settings.mongodb_transaction_ms,
    )


async def mongo_sources(
    url: str, region: str, client: Any = None, source_timeout: float = 5.0, timeouts: Any = None
) -> SourceSet:
    """The four sources as collections of the database a ``mongodb://`` URL names."""
    from membergraph.connectors.mongodb import MongoSource
    from membergraph.connectors.mongodb_loads import load_version
    from membergraph.identity.store.mongodb_client import connect, database_of, redact

    owned = client is None
    client = await connect(url, client, timeouts)
    database = client[database_of(url)]
    collections = {
        name: MongoSource(spec, _owner(name, region), database[name.value], source_timeout)
        for name, spec in SOURCES.items()
    }
    for collection in collections.values():
        await collection.ensure_indexes()
    closers: list[Callable[[], Awaitable[object]]] = [client.close] if owned else []
    return SourceSet(
        redact(url), dict(collections), closers=closers, version=partial(load_version, database)
    )


async def open_source_set(settings: Settings, mongo_client: Any = None) -> SourceSet:
    """The sources as settings place them: MongoDB or a folder, then HTTP overrides."""
    region = settings.default_region
    if settings.sources:
        sources = await mongo_sources(
            settings.sources, region, mongo_client, timeouts=mongo_timeouts(settings)
        )
    else:
        where = settings.data
        if where is None:
            where = await asyncio.to_thread(demo_folder, settings)
        sources = await asyncio.to_thread(open_sources, where, region, durable=settings.durable)
    _http_overrides(settings, sources)
    return sources


def _http_overrides(settings: Settings, sources: SourceSet) -> None:
    if not settings.http_sources:
        return
    import httpx

    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=50))
    sources.closers.append(client.aclose)
    for name, config in settings.http_sources.items():
        owner = _owner(name, settings.default_region)
        if name in sources.connectors:
            sources.held[name] = sources.connectors[name]
        sources.connectors[name] = HttpSource(SOURCES[name], owner, config, client)
    sources.where += " + HTTP (" + ", ".join(n.value for n in settings.http_sources) + ")"


def embedded_path(settings: Settings) -> str | None:
    """The SQLite file that holds the sources beside the identity store (the embedded
    default), or None when the sources live elsewhere (MongoDB)."""
    if settings.sources or not settings.store.startswith("sqlite:///"):
        return None
    return settings.store.removeprefix("sqlite:///")


async def sqlite_sources(settings: Settings, path: str) -> tuple[SourceSet, SqliteLines]:
    """The four sources as the source table of the store's file, then HTTP overrides."""
    lines = SqliteLines(path, settings.durable)
    await lines.open()
    region = settings.default_region
    connectors: dict[SourceName, SourceConnector] = dict(
        lines.sources(lambda spec: _owner(spec.name, region), 5.0)
    )
    sources = SourceSet(path, connectors, closers=[lines.aclose])
    _http_overrides(settings, sources)
    return sources, lines

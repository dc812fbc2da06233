"""The four sources as settings place them: files of a folder (or the generated demo), the
source table of the embedded store's SQLite file, MongoDB collections, HTTP overrides."""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Awaitable, Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from membergraph._perf import gc_paused
from membergraph.connectors.base import SourceConnector
from membergraph.connectors.files import FileConnector, LoadReport
from membergraph.connectors.http import HttpSource
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.connectors.sqlite import SqliteLines
from membergraph.demo import generator_version, write_demo_data
from membergraph.identity.load import ownership
from membergraph.left_out import noter
from membergraph.settings import Settings

__all__ = [
    "SourceSet",
    "demo_folder",
    "embedded_path",
    "mongo_sources",
    "mongo_timeouts",
    "open_source_set",
    "open_sources",
    "collections_url",
    "require_sources_in_a_database",
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

    async def aclose(self) -> None:
        for close in self.closers:
            await close()


def _log_report(name: SourceName, report: LoadReport) -> None:
    for error in report.errors[:5]:
        logger.warning("skipped malformed line %s", error.public)
    if report.malformed > len(report.errors[:5]):
        logger.warning(
            "%s: %d malformed line(s) skipped (the first 5 said above, without their values;"
            " the first 10 in /readyz; every one with its reason: membergraph load --rejected"
            " FILE, or the file at each line)",
            name.value,
            report.malformed,
        )
    elif report.malformed:
        logger.warning("%s: %d malformed line(s) skipped", name.value, report.malformed)
    for note in report.notes[:5]:
        logger.warning("took line %s", note.public)
    if report.left_out:
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted(report.left_out.items()))
        logger.warning(
            "%s: %d identifier value(s) left out of lines taken (%s)",
            name.value,
            sum(report.left_out.values()),
            kinds,
        )


def demo_path(settings: Settings) -> Path:
    """Where :func:`demo_folder` keeps the demo set (written there or not)."""
    name = f"demo-{settings.demo_members}-seed{settings.demo_seed}-{generator_version()}"
    return settings.cache_dir / name


def demo_folder(settings: Settings) -> Path:
    """The generated demo data set, written once into the cache folder for each version of
    the generator (a folder an older one wrote is never served). Written under a lock on
    the cache folder: two processes started at once over an empty cache (two replicas)
    write it once, the second waiting for the first and reading its files."""
    folder = demo_path(settings)
    if (folder / "truth.jsonl").exists():
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder.parent, os.O_RDONLY)  # (the folder's own lock: no file left there)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # (released by the kernel if its holder dies)
        if not (folder / "truth.jsonl").exists():
            write_demo_data(folder, settings.demo_members, settings.demo_seed)
    finally:
        os.close(fd)
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
        notes = noter(name, region)
        conn = FileConnector(spec, folder, _owner(name, region), timeout, durable, notes)
        with gc_paused():
            _log_report(name, conn.load(keep_order))
        connectors[name] = conn
    return SourceSet(str(folder), connectors, folder)


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
    return SourceSet(redact(url), dict(collections), closers=closers)


async def open_source_set(settings: Settings, mongo_client: Any = None) -> SourceSet:
    """The sources of a gateway whose store is not the embedded one: the MongoDB
    collections (:func:`collections_url`), then HTTP overrides."""
    require_sources_in_a_database(settings)
    url = collections_url(settings)
    assert url is not None  # (a store of neither kind is refused by the settings)
    sources = await mongo_sources(
        url, settings.default_region, mongo_client, timeouts=mongo_timeouts(settings)
    )
    _http_overrides(settings, sources)
    return sources


def collections_url(settings: Settings) -> str | None:
    """The MongoDB database whose collections hold the sources: ``--sources``, or by
    default a MongoDB store's own database (where ``membergraph load --to`` the store's URL
    puts them); None: the embedded store's file holds them."""
    if settings.sources:
        return settings.sources
    return None if settings.store.startswith("sqlite:///") else settings.store


def require_sources_in_a_database(settings: Settings) -> None:
    """Refuse a data folder beside a MongoDB store, naming the command that loads it.

    Its sources are MongoDB collections, shared by every process and host over the store;
    a folder is one host's files, so each process would hold its lines apart (and each
    host its own version of them). Loading is a step of its own, as for the collections
    of any deployment: once per export, its counts and malformed lines reported.

    Raises:
        StoreError: ``data`` is set and the sources are not the embedded store's.
    """
    if settings.data is None or embedded_path(settings) is not None:
        return
    from membergraph.identity.store import StoreError
    from membergraph.identity.store.mongodb_client import redact

    target = redact(collections_url(settings) or settings.store)
    raise StoreError(
        f"--data {settings.data} (MEMBERGRAPH_DATA) with a MongoDB store: its sources are "
        "MongoDB collections, which every gateway over the store shares, not one host's "
        f"folder. Load the folder into them (`membergraph load --data {settings.data} --to "
        f"'{target}'`: identities are resolved as it loads, and loading a later export "
        "applies only what changed), then serve without --data"
    )


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

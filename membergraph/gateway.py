"""Assembling a gateway from settings: sources, identity store, first resolution.

Used by the Starlette lifespan (``app.py``) and by the CLI's batch commands.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from membergraph._perf import gc_paused
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

__all__ = ["SourceSet", "demo_folder", "open_gateway", "open_sources"]

logger = logging.getLogger(__name__)


@dataclass
class SourceSet:
    """The four file sources of a data folder."""

    folder: Path
    connectors: dict[SourceName, FileConnector]

    def reports(self) -> dict[SourceName, LoadReport]:
        return {name: conn.report for name, conn in self.connectors.items()}

    def lines(self) -> Iterator[tuple[SourceName, BaseModel]]:
        for name, conn in self.connectors.items():
            for line in conn.lines():
                yield name, line


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
    connectors = {
        name: FileConnector(spec, folder, _owner(name, region), timeout)
        for name, spec in SOURCES.items()
    }
    for name, conn in connectors.items():
        with gc_paused():
            report = conn.load(keep_order)
        for error in report.errors[:5]:
            logger.warning("skipped malformed line %s", error)
        if report.malformed:
            logger.warning("%s: %d malformed line(s) skipped", name.value, report.malformed)
    return SourceSet(folder, connectors)


async def open_gateway(settings: Settings) -> tuple[Gateway, SourceSet, ApplyResult]:
    """Load the sources, open the store and resolve identities (stable IDs across restarts)."""
    folder = settings.data if settings.data else await asyncio.to_thread(demo_folder, settings)
    sources = await asyncio.to_thread(open_sources, folder, settings.default_region)
    store = store_from_url(settings.store)
    await store.open()
    try:
        identity = IdentityService(store, load_rules(settings.rules), settings.default_region)
        with gc_paused():
            records = collect_records(sources.lines(), settings.default_region)
        result = await identity.resolve_all(records)
    except BaseException:
        await store.aclose()
        raise
    gateway = Gateway(settings=settings, identity=identity, sources=sources.connectors)
    gateway.extras["data_folder"] = folder
    return gateway, sources, result

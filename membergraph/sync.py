"""``membergraph sync``: who an HTTP source's customers are, brought to identity page by page.

An HTTP source is read at query time; its customers (their identifiers) reach identity by
``POST /ingest`` or by this job, never by a listing at every start. A pass reads the source's
listing a page at a time (:meth:`HttpSource.page`) and takes each page through
:meth:`IngestService.push`, exactly as ``POST /ingest`` takes a body: each line validated,
ordered against the version taken before (``created``, ``updated``, ``unchanged``, ``stale``,
``rejected``, ``suppressed``, ``unattributed``), applied to identity and announced on the change
feed. The lines are kept in the backend the API replaced (the store's source table, or a
MongoDB collection: :attr:`Gateway.synced`): that copy orders the next version of a line, and
an erasure deletes from it; answers to queries still come from the API.

After each page the checkpoint is saved beside those lines: the listing's cursor, the filter
of this pass and the newest ``since_field`` value seen. A sync killed mid-way resumes at the
page it was reading (that page's lines are taken again: ``unchanged``, announced once), so
nothing is lost and nothing applied twice. Killed in the middle of a page, it leaves that
page's lines stored with their marks: the next ``serve`` start or sync finishes them
(:meth:`IngestService.heal` covers the synced copies) before anything else. A pass that
reaches the end of the listing keeps the newest value seen; with ``since_param`` the next
pass asks only for lines changed at or after it (the lines of that very instant come again,
``unchanged``). Without ``since_param`` each pass reads the whole listing. Run one sync per
store at a time.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import orjson

from membergraph.connectors.base import SourceConnector
from membergraph.connectors.http import HttpSource, ListingPage, ListingWalk
from membergraph.connectors.models import SourceName
from membergraph.connectors.mongodb import MongoSource
from membergraph.connectors.sqlite import SqliteSource
from membergraph.gateway_parts import Gateway
from membergraph.ingest import IngestService

__all__ = ["Checkpoint", "PassDone", "SourceSync", "SyncRefused", "synced_sources"]

logger = logging.getLogger(__name__)
OUTCOMES = ("created", "updated", "unchanged", "stale", "rejected", "suppressed", "unattributed")


class SyncRefused(Exception):
    """This configuration cannot be synced (the message says why and what to do)."""


class Checkpoints(Protocol):
    """Where checkpoints are kept: text by key, in the store beside the synced lines."""

    async def meta(self, key: str) -> str | None: ...

    async def set_meta(self, key: str, value: str) -> None: ...


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """Where a source's sync stands: ``after``, the cursor of the next page of this pass (None:
    a new pass); ``since``, this pass's filter; ``newest``, the newest ``since_field`` value
    seen in this pass (the next pass's filter)."""

    after: str | None = None
    since: str | None = None
    newest: str | None = None

    def dump(self) -> str:
        return orjson.dumps([self.after, self.since, self.newest]).decode()

    @classmethod
    def parse(cls, text: str | None) -> Checkpoint:
        if not text:
            return cls()
        after, since, newest = orjson.loads(text)
        return cls(after, since, newest)

    def advanced(self, page: ListingPage, newest: str | None) -> Checkpoint:
        """After ``page``: its cursor, or at the end of the listing a new pass from the
        newest value seen."""
        newest = _later(self.newest, newest)
        if page.next is None:
            return Checkpoint(None, newest or self.since, None)
        return Checkpoint(page.next, self.since, newest)


@dataclass
class PassDone:
    """What one pass over a source did: pages read, outcomes of its lines by name."""

    source: SourceName
    pages: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)


@dataclass
class _Synced:
    api: HttpSource
    held: SourceConnector
    checkpoints: Checkpoints


class SourceSync:
    """Syncs every HTTP source of a gateway (see the module's docstring).

    ``on_page(source, done)`` is told after each page (the CLI's progress bar).
    """

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.ingest = IngestService(gateway)
        self.sources = synced_sources(gateway)

    async def heal(self) -> int:
        """Finish a page a killed sync stored but did not apply (its marks say which)."""
        return await self.ingest.heal({name: s.held for name, s in self.sources.items()})

    async def run_pass(
        self, name: SourceName, on_page: Callable[[PassDone], None] | None = None
    ) -> PassDone:
        """One pass over ``name``'s listing, from its checkpoint to the listing's end.

        Raises:
            ConnectorError: the API failed (the checkpoint holds the last page taken).
            IngestRefused: the lines could not be stored (nothing of that page was taken).
        """
        synced, done = self.sources[name], PassDone(name)
        key = f"sync:{name.value}:{synced.api.config.base_url}"
        point = Checkpoint.parse(await synced.checkpoints.meta(key))
        walk = ListingWalk({point.after} if point.after is not None else set())
        while True:
            page = synced.api.unvisited(await synced.api.page(point.after, point.since), walk)
            if page.lines:
                pushed = await self.ingest.push(name, page.lines, into=synced.held)
                done.outcomes.update(line["status"] for line in pushed.lines)
            done.pages += 1
            point = point.advanced(page, self._newest(synced.api, page.lines))
            await synced.checkpoints.set_meta(key, point.dump())
            if on_page is not None:
                on_page(done)
            if page.next is None:
                return done

    @staticmethod
    def _newest(api: HttpSource, lines: list[Any]) -> str | None:
        """The newest ``since_field`` value of a page (lines without one, or with a value that
        is no time, say nothing: the line itself is judged by ingestion)."""
        newest: str | None = None
        for line in lines:
            value = line.get(api.config.since_field) if isinstance(line, dict) else None
            if isinstance(value, str) and _time(value) is not None:
                newest = _later(newest, value)
        return newest


def synced_sources(gateway: Gateway) -> dict[SourceName, _Synced]:
    """Each HTTP source with the backend that keeps its lines and checkpoints.

    Raises:
        SyncRefused: no HTTP source, or one whose lines would have nowhere to be kept.
    """
    found: dict[SourceName, _Synced] = {}
    for name, api in gateway.sources.items():
        if not isinstance(api, HttpSource):
            continue
        held = gateway.synced.get(name)
        if isinstance(held, SqliteSource):
            found[name] = _Synced(api, held, held.lines)
        elif isinstance(held, MongoSource):
            found[name] = _Synced(api, held, _MongoCheckpoints(held.collection.database))
        else:
            raise SyncRefused(
                f"source {name.value}: sync keeps an HTTP source's lines in a database (the "
                "embedded SQLite store, or --sources mongodb://...); a data folder is not one"
            )
    if not found:
        raise SyncRefused("no source is read over HTTP: set MEMBERGRAPH_HTTP_SOURCES")
    return found


class _MongoCheckpoints:
    """Checkpoints in the sources' MongoDB database (collection ``sync_checkpoints``)."""

    def __init__(self, database: Any) -> None:
        self.collection = database["sync_checkpoints"]

    async def meta(self, key: str) -> str | None:
        found = await self.collection.find_one({"_id": key})
        return None if found is None else str(found["value"])

    async def set_meta(self, key: str, value: str) -> None:
        await self.collection.update_one({"_id": key}, {"$set": {"value": value}}, upsert=True)


def _time(value: str) -> datetime | None:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _later(a: str | None, b: str | None) -> str | None:
    """The later of two ISO 8601 times (either may be missing)."""
    if a is None or b is None:
        return a or b
    ta, tb = _time(a), _time(b)
    if ta is None or tb is None or ta.tzinfo is None or tb.tzinfo is None:
        return max(a, b)  # same shape, compared as text
    return a if ta >= tb else b

"""Lines kept with the key of the record each belongs to, where the store keeps them.

The embedded store's source table and MongoDB's source collections keep each line with its
owner (the key of its record), lines that arrived by ``POST /ingest`` or ``sync`` included.
:class:`OwnedLines` reads which lines this release keys to another record than the one they
are stored under (:class:`Moved`), and files them under their new owner once the store is
keyed anew (:mod:`~membergraph.identity.rekey`). A folder or an API keeps no owner.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from membergraph.connectors import sqlite_rows as sql
from membergraph.connectors.base import SourceConnector
from membergraph.connectors.models import SourceName
from membergraph.connectors.mongodb import MongoSource
from membergraph.connectors.sources import SOURCES
from membergraph.connectors.sqlite import SqliteLines, SqliteSource
from membergraph.identity.load import collect_records, fold_records, owner_key
from membergraph.identity.records import RecordData, RecordKey

__all__ = ["Moved", "OwnedLines", "held_lines"]


@dataclass(frozen=True, slots=True)
class Moved:
    """A line this release keys to another record than the one it is stored under."""

    source: str
    line_id: str
    old: str
    """The owner stored (``""``: none)."""
    new: str
    """The owner now (``""``: the line identifies no one now)."""


class OwnedLines(abc.ABC):
    """Lines kept with the key of the record each belongs to."""

    @abc.abstractmethod
    def owned(self) -> AsyncIterator[tuple[SourceName, str, str, str, BaseModel]]:
        """Every valid line, a page at a time: its source, id, owner as stored and as this
        release keys it (``""``: none), and the line."""

    @abc.abstractmethod
    async def set_owners(self, moved: Sequence[Moved]) -> None:
        """File each line under its new owner (idempotent)."""

    async def read(self, region: str) -> tuple[dict[RecordKey, RecordData], list[Moved]]:
        """In one pass: the records the lines derive, as this release derives them (only the
        records kept, never the lines), and the lines it keys otherwise."""
        records: dict[RecordKey, RecordData] = {}
        moved: list[Moved] = []
        page: list[tuple[SourceName, BaseModel]] = []
        async for source, line_id, stored, now, line in self.owned():
            if now != stored:
                moved.append(Moved(source.value, line_id, stored, now))
            page.append((source, line))
            if len(page) >= _PAGE:
                fold_records(records, collect_records(page, region))
                page.clear()
        fold_records(records, collect_records(page, region))
        return records, moved


def held_lines(sources: Mapping[SourceName, SourceConnector], region: str) -> OwnedLines | None:
    """Where ``sources`` keep their lines with their owner: the store file's source table,
    or MongoDB collections (None: a folder or an API, which keep no owner)."""
    tables = {c.lines for c in sources.values() if isinstance(c, SqliteSource)}
    if len(tables) == 1 and len(sources) == len(SOURCES):
        return _TableLines(tables.pop(), region)
    if sources and all(isinstance(c, MongoSource) for c in sources.values()):
        return _Collections({n: c for n, c in sources.items() if isinstance(c, MongoSource)})
    return None


_PAGE = 5000


class _TableLines(OwnedLines):
    def __init__(self, lines: SqliteLines, region: str) -> None:
        self.lines, self.region = lines, region

    async def owned(self) -> AsyncIterator[tuple[SourceName, str, str, str, BaseModel]]:
        for name, spec in SOURCES.items():
            after = ""
            while True:
                rows = await self.lines.run(sql.owned_page, name.value, after, _PAGE)
                for line_id, owner, body in rows:
                    after = line_id
                    try:
                        line = spec.model.model_validate_json(body)
                    except ValueError:
                        continue  # a line no longer valid is no record's either way
                    yield name, line_id, owner, owner_key(name, line, self.region) or "", line
                if len(rows) < _PAGE:
                    break

    async def set_owners(self, moved: Sequence[Moved]) -> None:
        await self.lines.run(sql.set_owners, [(m.new, m.source, m.line_id) for m in moved])


class _Collections(OwnedLines):
    def __init__(self, sources: Mapping[SourceName, MongoSource]) -> None:
        self.sources = sources

    async def owned(self) -> AsyncIterator[tuple[SourceName, str, str, str, BaseModel]]:
        for name, connector in self.sources.items():
            async for line_id, stored, now, line in connector.owned_lines():
                yield name, line_id, stored, now, line

    async def set_owners(self, moved: Sequence[Moved]) -> None:
        for name, connector in self.sources.items():
            mine = [(m.line_id, m.new) for m in moved if m.source == name.value]
            if mine:
                await connector.set_owners(mine)

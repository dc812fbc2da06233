"""One source kind's lines in the source table (:mod:`.sqlite`): the SQLite connector.

A DataLoader batch is one indexed read of the lines of its keys, and the batches of the
four sources asked together share one trip to the connection's thread
(:mod:`.shared_trips`). Lines are stored as their JSON and validated by the model again
when read (they were valid when written; a model that changed since may refuse one, which
then reads as missing and is logged, never a crash of the query).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from membergraph._perf import gc_paused
from membergraph.connectors import sqlite_rows as sql
from membergraph.connectors.base import Guard, Mark, SourceConnector
from membergraph.connectors.fastlines import FastLineError, fast_decoder
from membergraph.connectors.lines import Held, Owner
from membergraph.connectors.reasons import validation_reason
from membergraph.connectors.sources import SourceSpec, Taken
from membergraph.connectors.sqlite_rows import render
from membergraph.sqlite_tx import immediate

if TYPE_CHECKING:
    from membergraph.connectors.sqlite import SqliteLines

__all__ = ["HeldLines", "SqliteSource"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HeldLines:
    """A member's lines in the source table, read in the trip of the identity store's
    lookup that found the member (:meth:`SqliteLines.beside_lookup`): for each source, the
    record keys asked and the rows ``(owner, body)`` of their lines. A loader batch of
    those keys is answered from them (:meth:`SqliteSource.held_lines`), without a trip."""

    path: str
    found: Mapping[str, tuple[frozenset[str], list[tuple[str, bytes]]]]


TURN_ROWS = 500
"""Stored lines parsed between two turns given to the event loop (a few ms of work)."""


class SqliteSource(SourceConnector):
    """One source kind's lines in the source table."""

    def __init__(
        self, spec: SourceSpec, lines: SqliteLines, owner: Owner, timeout: float = 5.0
    ) -> None:
        super().__init__(spec, owner, timeout)
        self.lines = lines
        self.count: int | None = None  # lines held at start (size()); held() reads the store's

    def size(self) -> int | None:
        return self.count

    async def held(self) -> Held:
        return (await self.lines.held([self.source.value]))[self.source.value]

    def pushing(self) -> contextlib.AbstractAsyncContextManager[None]:
        lock = self.lines.push_lock
        return lock.held() if lock is not None else super().pushing()

    def _parse(self, body: bytes) -> BaseModel | None:
        try:
            return self.spec.model.model_validate_json(body)
        except ValidationError as exc:
            # Said without the line's values (pydantic's own text quotes the input).
            said = validation_reason(exc).public
            logger.warning("source %s: a stored line no longer validates: %s", self.source, said)
            return None

    async def _load_many(self, keys: Sequence[str]) -> Sequence[list[BaseModel]]:
        rows = await self.lines.shared.read(sql.by_owner, self.source.value, list(keys))
        if len(rows) <= TURN_ROWS:
            return self._grouped(rows, keys)
        # Many lines (the members a large push touched, measured again): parsed a share at
        # a time, the event loop given a turn between two.
        found: dict[str, list[BaseModel]] = {}
        for start in range(0, len(rows), TURN_ROWS):
            await asyncio.sleep(0)
            for owner, body in rows[start : start + TURN_ROWS]:
                line = self._parse(body)
                if line is not None:
                    found.setdefault(owner, []).append(line)
        return [found.get(key, []) for key in keys]

    def held_lines(self, held: object, keys: Sequence[str]) -> list[list[BaseModel]] | None:
        if not isinstance(held, HeldLines) or held.path != self.lines.path:
            return None
        found = held.found.get(self.source.value)
        if found is None or not found[0].issuperset(keys):
            return None
        return self._grouped(found[1], keys)

    def _grouped(self, rows: Iterable[tuple[str, bytes]], keys: Sequence[str]) -> list[list[Any]]:
        found: dict[str, list[BaseModel]] = {}
        for owner, body in rows:
            line = self._parse(body)
            if line is not None:
                found.setdefault(owner, []).append(line)
        return [found.get(key, []) for key in keys]

    async def _load_light(self, keys: Sequence[str]) -> Sequence[list[Any]]:
        # Stored lines were validated and rendered by their model on the way in, so the fast
        # reader accepts them with the model's values (timestamps carry at most microseconds:
        # nothing to round); the model still answers for any it refuses.
        rows = await self.lines.read(sql.by_owner, self.source.value, list(keys))
        fast = fast_decoder(self.spec.model)
        found: dict[str, list[Any]] = {}
        for start in range(0, len(rows), TURN_ROWS * 4):  # the fast reader: 4 times as many
            if start:
                await asyncio.sleep(0)  # the event loop's turn between two shares
            with gc_paused(freeze=False):  # thousands of small objects, no cycle among them
                for owner, body in rows[start : start + TURN_ROWS * 4]:
                    try:
                        line: Any = fast(body)
                    except FastLineError:
                        line = self._parse(body)
                    if line is not None:
                        found.setdefault(owner, []).append(line)
        return [found.get(key, []) for key in keys]

    async def scan(self) -> AsyncIterator[BaseModel]:
        after = ""
        while True:
            rows = await self.lines.run(sql.page, self.source.value, after)
            for line_id, body in rows:
                # Not counted into ``report``: that is what loading the file found.
                line = self._parse(body)
                if line is not None:
                    yield line
                after = line_id
            if len(rows) < 5000:
                return

    checks_suppressions = True  # the store's suppressions are in the same file

    async def append(
        self, lines: Sequence[BaseModel], mark: Mark | None = None, guard: Guard | None = None
    ) -> list[Taken]:
        """Store lines and their marks (one transaction, written before anything is
        answered); per line what :meth:`~SourceConnector.sort_out` decided against the
        stored versions. A line carrying a digest of ``guard`` that the store's
        suppressions hold is refused (``suppressed``), read in that same transaction."""
        if not lines:
            return []
        ids = sorted({self.line_id(line) for line in lines})
        source = self.source.value

        def take(db: sqlite3.Connection) -> list[Taken]:
            with immediate(db):  # read and write in one: no writer in between
                refused = guard.refused(sql.suppressed(db, guard.carried())) if guard else set()
                kept = [line for n, line in enumerate(lines) if n not in refused]
                stored = {
                    line_id: parsed
                    for line_id, body in sql.by_id(db, self.source.value, ids)
                    if (parsed := self._parse(body)) is not None
                }
                outcomes, changed = self.sort_out(kept, stored, mark)
                db.executemany(
                    sql.UPSERT,
                    [(source, self.line_id(line), owner, render(line)) for line, owner in changed],
                )
                marks = self.marks(kept, outcomes)
                db.executemany(sql.MARK, [(source, i, m) for i, m in marks.items()])
            verdicts = iter(outcomes)
            return [
                Taken("suppressed") if n in refused else next(verdicts) for n in range(len(lines))
            ]

        return await self.lines.run(take)

    async def abandoned(self) -> list[tuple[BaseModel, str]]:
        # Under the push lock no other process is pushing: any mark is a push's left over.
        return await self.unsettled() if await self.may_be_abandoned() else []

    async def may_be_abandoned(self) -> bool:
        if self.lines.push_lock is None:
            return False
        return bool(await self.lines.run(sql.any_pending, self.source.value))

    async def by_id(self, ids: Sequence[str]) -> dict[str, BaseModel]:
        """The stored version of each line id held (ids not held are left out)."""
        rows = await self.lines.run(sql.by_id, self.source.value, sorted(set(ids)))
        return {line_id: line for line_id, body in rows if (line := self._parse(body)) is not None}

    async def unsettled(self) -> list[tuple[BaseModel, str]]:
        # A stored line that no longer validates is logged by _parse and left unannounced.
        rows = await self.lines.run(sql.pending, self.source.value)
        return [(line, mark) for body, mark in rows if (line := self._parse(body)) is not None]

    async def settle(self, marks: Sequence[tuple[str, str]]) -> None:
        if marks:
            source = self.source.value
            await self.lines.run(sql.settle, source, list(marks))

    async def put(self, rows: Iterable[tuple[str, str, bytes]]) -> None:
        """Write ``(line id, owner, JSON)`` rows as they are (a first load of lines already
        ordered; of two rows with one id, the later one is kept), in one transaction."""
        # In key order the table's pages fill one after the other; in a file's order each
        # line lands on a random page (3 times the time for 250,000 lines). A stable sort:
        # the later of two rows with one id is still written last.
        ordered = sorted(rows, key=itemgetter(0))

        await self.lines.run(sql.put, self.source.value, ordered)

"""The MongoDB backend: one collection per source, one document per line.

A document is the line in the DESIGN file format, plus ``_id`` (the line's own id, so a line
is stored once however often it is loaded) and ``_owner`` (the key of the record it belongs
to, indexed: a lookup of many records is one ``$in`` query). ``membergraph load`` fills the
collections; ``POST /ingest/{source}`` appends to them while the gateway runs. How a line
is stored as a document: :mod:`~membergraph.connectors.mongodb_docs`.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from typing import Any

from pydantic import BaseModel
from pymongo import ASCENDING, DeleteOne, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError, PyMongoError

from membergraph._perf import gc_paused
from membergraph.connectors.base import (
    Guard,
    LinesInFlight,
    Mark,
    SourceConnector,
    SourceUnavailable,
)
from membergraph.connectors.fastlines import FastLineError, fast_converter
from membergraph.connectors.lines import (
    NOBODY,
    Held,
    LineError,
    Owner,
    parse_line,
)
from membergraph.connectors.mongodb_docs import STORED_FIELDS, line_doc, unstorable
from membergraph.connectors.sources import SourceSpec, Taken
from membergraph.trace_spans import backend_span

__all__ = ["MongoSource"]

logger = logging.getLogger(__name__)

_CHUNK = 1000
_DECIDE_ATTEMPTS = 5  # a line decided again when another push changed it meanwhile
_FIRST_PAUSE, _LAST_PAUSE = 0.01, 0.2  # seconds between looks at a line another push marked
_DUPLICATE_KEY = 11000


def _replaced_nothing(
    lines: Sequence[BaseModel], outcomes: list[Taken], ids: set[str], line_id: Any
) -> None:
    """A line whose document went between the read and the write (an erasure) was inserted,
    not replaced: it replaced no previous version (what :meth:`MongoSource.withdraw` reads)."""
    for line, taken in zip(lines, outcomes, strict=True):
        if line_id(line) in ids:
            taken.previous = None


class MongoSource(SourceConnector):
    """A source kind read from (and appended to) a MongoDB collection.

    ``collection`` is an ``AsyncCollection`` (or the tests' emulation of one).
    """

    def __init__(
        self, spec: SourceSpec, owner: Owner, collection: Any, timeout: float = 5.0
    ) -> None:
        super().__init__(spec, owner, timeout)
        self.collection = collection
        self.count: int | None = None  # lines held, once counted (size(), take_count())
        self.tracer: Any = None
        """An OpenTelemetry tracer while traces are on: a span per lookup's round trip."""

    async def ensure_indexes(self) -> None:
        try:
            await self.collection.create_index([("_owner", ASCENDING)])
            # Only lines of an unfinished push carry a mark: a start finds them at once.
            await self.collection.create_index([("_pending", ASCENDING)], sparse=True)
        except PyMongoError as exc:
            raise SourceUnavailable(self.source, f"cannot create its index: {exc}") from exc

    def _parse(self, doc: dict[str, Any]) -> tuple[BaseModel, str] | LineError:
        where = f"{self.collection.name}/{doc.get('_id')}"
        fields = {k: v for k, v in doc.items() if k not in STORED_FIELDS}
        return parse_line(self.spec, fields, where, self.owner)

    def read_doc(self, doc: dict[str, Any], light: bool = False) -> Any:
        """A stored document as its line: the model, or with ``light`` the fast reader's
        read-only copy (:func:`~membergraph.connectors.fastlines.fast_converter`; the model
        answers for any document it refuses). None for a document that no longer validates
        (skipped, and counted)."""
        if light:
            try:
                return fast_converter(self.spec.model)(doc)
            except FastLineError:
                pass
        parsed = self._parse(doc)
        if isinstance(parsed, LineError):
            if parsed.unattributed and parsed.line is not None:
                return parsed.line  # kept for no one (a cash sale): a good line all the same
            self.report.refuse(parsed)
            return None
        return parsed[0]

    async def _owned(self, keys: Sequence[str], light: bool) -> Sequence[list[Any]]:
        found: dict[str, list[Any]] = defaultdict(list)
        wanted = sorted(set(keys))
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            if self.tracer is None:
                docs = await self.collection.find({"_owner": {"$in": chunk}}).to_list()
            else:
                with backend_span(self.tracer, "sources.lines", "mongodb"):
                    docs = await self.collection.find({"_owner": {"$in": chunk}}).to_list()
            with gc_paused(freeze=False):  # many small objects, no cycle among them
                for doc in docs:
                    line = self.read_doc(doc, light)
                    if line is not None:
                        found[doc["_owner"]].append(line)
        return [found.get(key, []) for key in keys]

    async def _load_many(self, keys: Sequence[str]) -> Sequence[list[BaseModel]]:
        return await self._owned(keys, light=False)

    async def _load_light(self, keys: Sequence[str]) -> Sequence[list[Any]]:
        # Stored documents were rendered by their model on the way in (load, ingest), so
        # the fast reader takes them with the model's values, as SQLite's table does.
        return await self._owned(keys, light=True)

    async def owned_lines(self) -> AsyncIterator[tuple[str, str, str, BaseModel]]:
        """Each stored line that validates: its id, its owner as stored and as it is owned
        now (``""``: none), and the line, the cursor read in batches (``membergraph
        reresolve`` keys the lines anew and derives their records in one pass)."""
        try:
            async for doc in self.collection.find({}):
                parsed = self._parse(doc)
                if not isinstance(parsed, LineError):
                    yield str(doc["_id"]), str(doc.get("_owner", "")), parsed[1] or "", parsed[0]
        except PyMongoError as exc:
            raise SourceUnavailable(self.source, f"listing failed: {exc}") from exc

    async def set_owners(self, owners: Sequence[tuple[str, str]]) -> None:
        """File lines (by id) under other owners: lines ``membergraph reresolve`` keyed
        anew. Idempotent, so a run stopped part-way is finished by the next."""
        try:
            for start in range(0, len(owners), 1000):
                chunk = owners[start : start + 1000]
                ops = [UpdateOne({"_id": i}, {"$set": {"_owner": o}}) for i, o in chunk]
                await self.collection.bulk_write(ops, ordered=False)
        except PyMongoError as exc:
            raise SourceUnavailable(self.source, f"writing owners failed: {exc}") from exc

    async def scan(self) -> AsyncIterator[BaseModel]:
        self.report = report = type(self.report)()
        try:
            async for doc in self.collection.find({}):
                report.lines += 1
                parsed = self._parse(doc)
                if isinstance(parsed, LineError):
                    report.refuse(parsed)
                    continue
                report.accepted += 1
                yield parsed[0]
        except PyMongoError as exc:
            raise SourceUnavailable(self.source, f"listing failed: {exc}") from exc
        self.count = report.accepted

    async def append(
        self, lines: Sequence[BaseModel], mark: Mark | None = None, guard: Guard | None = None
    ) -> list[Taken]:
        """Upsert lines by their id; a line equal to the stored one is ``unchanged``; a line
        MongoDB cannot hold (:func:`~membergraph.connectors.mongodb_docs.unstorable`) is
        ``rejected``, saying why. A mark is a field of the line's own document
        (``_pending``): written with it, atomically. The ``guard`` is not checked here: the
        suppressions are another collection's documents, which no write of these reads (the
        push checks right after, and withdraws)."""
        refused = {i: unstorable(line.model_dump(mode="json")) for i, line in enumerate(lines)}
        storable = [line for i, line in enumerate(lines) if refused[i] is None]
        outcomes = iter(await self._append(storable, mark))
        return [
            Taken("rejected", error=f"the line {why}") if why else next(outcomes)
            for why in refused.values()
        ]

    async def _append(self, lines: Sequence[BaseModel], mark: Mark | None) -> list[Taken]:
        """Each line's verdict, decided by the write that stores it: a document is replaced
        only if it is still the version the verdict was decided on (its ``_rev``), so two
        processes sent one line at once take it once (``created`` and ``unchanged``), and a
        line whose document another push changed meanwhile is decided again.

        A document still marked by another push (stored, not yet announced) is not replaced
        by a new version until that push is done: so a line's feed entries follow the order
        of its versions whatever the processes (the newer version waits, then is decided
        against the one it waited for; an older one is ``stale`` at once; the same line sent
        again is marked at once, as before). Marked for longer than the connector's timeout,
        :class:`LinesInFlight` names them: their push died or stalls."""
        outcomes: list[Taken | None] = [None] * len(lines)
        todo = list(range(len(lines)))
        moved_again, pause = 0, _FIRST_PAUSE
        deadline = asyncio.get_running_loop().time() + self.timeout
        try:
            while todo:
                batch = [lines[i] for i in todo]
                decided, moved, busy = await self._decide_and_write(batch, mark)
                for i, taken in zip(todo, decided, strict=True):
                    outcomes[i] = taken
                todo = [i for i in todo if self.line_id(lines[i]) in moved | busy]
                if busy and asyncio.get_running_loop().time() >= deadline:
                    raise LinesInFlight(self.source, busy)
                if busy:
                    await asyncio.sleep(pause)  # the other push announces, then unmarks
                    pause = min(pause * 2, _LAST_PAUSE)
                elif todo and (moved_again := moved_again + 1) >= _DECIDE_ATTEMPTS:
                    raise SourceUnavailable(self.source, "its lines kept changing under the push")
        except PyMongoError as exc:
            logger.warning("source %s: append failed: %s", self.source, exc)
            raise SourceUnavailable(
                self.source, f"append failed (MongoDB: {type(exc).__name__})"
            ) from exc
        answered = [t for t in outcomes if t is not None]
        if self.count is not None:
            self.count += sum(1 for t in answered if t == "created")
        return answered

    async def _decide_and_write(
        self, lines: Sequence[BaseModel], mark: Mark | None
    ) -> tuple[list[Taken], set[str], set[str]]:
        """One attempt: the verdicts against the documents read, the ids whose document
        changed between the read and the write, and the ids whose new version would replace
        a document another push marked (nothing written for either). A line sent again is
        written again with its mark (the same document, its ``_rev`` moved on)."""
        found = await self.collection.find(
            {"_id": {"$in": [self.line_id(line) for line in lines]}}
        ).to_list()
        revisions = {doc["_id"]: doc.get("_rev") for doc in found}
        # A stored document that no longer validates equals no line: it is replaced.
        stored = {doc["_id"]: self._stored_line(doc) for doc in found}
        outcomes, changed = self.sort_out(lines, stored, mark)
        writes = {self.line_id(line): line_doc(self.spec, line, o) for line, o in changed}
        held = {doc["_id"]: doc for doc in found}
        busy = {i for i in writes if "_pending" in held.get(i, {})}
        for line_id, pending in self.marks(lines, outcomes).items():
            if line_id in busy:
                continue
            if line_id not in writes:  # sent again: the document as it is, marked
                writes[line_id] = dict(held[line_id])
            writes[line_id]["_pending"] = pending
        # Marks are taken in line-id order, and none past a line that must wait: a push
        # holds the marks of a prefix of its lines only, so two pushes of overlapping lines
        # never wait for each other (the order locks are taken in, as in a database).
        ids = sorted(writes)
        if busy:
            first = min(busy)
            busy |= {i for i in ids if i > first}
            ids = [i for i in ids if i < first]
        for line_id in ids:
            writes[line_id]["_rev"] = (revisions.get(line_id) or 0) + 1
        try:
            if ids:
                # Matched only while unchanged; otherwise the upsert meets the id: E11000.
                # Ordered: a line that moved stops the ones after it (decided again).
                result = await self.collection.bulk_write(
                    [
                        ReplaceOne({"_id": i, "_rev": revisions.get(i)}, writes[i], upsert=True)
                        for i in ids
                    ],
                    ordered=True,
                )
                upserted = result.upserted_ids or {}
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != _DUPLICATE_KEY for e in errors):
                raise
            inserted = {ids[u["index"]] for u in exc.details.get("upserted", [])}
            _replaced_nothing(lines, outcomes, inserted & set(held), self.line_id)
            return outcomes, set(ids[min(e["index"] for e in errors) :]), busy
        inserted = {ids[index] for index in upserted} if ids else set()
        _replaced_nothing(lines, outcomes, inserted & set(held), self.line_id)
        return outcomes, set(), busy

    async def withdraw(self, taken: Sequence[tuple[BaseModel, Taken]]) -> None:
        operations: list[Any] = []
        for line, verdict in taken:
            mine = {"_id": self.line_id(line), "_pending": verdict.mark}
            if verdict.previous is None:
                operations.append(DeleteOne(mine))
                continue
            owner = self.owner(verdict.previous) or NOBODY
            back = line_doc(self.spec, verdict.previous, owner)
            back["_rev"] = uuid.uuid4().int >> 65  # any new revision: a reader's read moved on
            operations.append(ReplaceOne(mine, back))
        if operations:
            try:
                result = await self.collection.bulk_write(operations, ordered=False)
            except PyMongoError as exc:
                raise SourceUnavailable(self.source, f"withdrawing lines failed: {exc}") from exc
            if self.count is not None:
                self.count -= result.deleted_count

    async def unsettled(self) -> list[tuple[BaseModel, str]]:
        try:
            docs = await self.collection.find({"_pending": {"$exists": True}}).to_list()
        except PyMongoError as exc:
            raise SourceUnavailable(self.source, f"listing marks failed: {exc}") from exc
        found = [(self._parse(doc), doc["_pending"]) for doc in docs]
        return [(parsed[0], mark) for parsed, mark in found if not isinstance(parsed, LineError)]

    async def settle(self, marks: Sequence[tuple[str, str]]) -> None:
        if not marks:
            return
        try:
            await self.collection.bulk_write(
                [
                    UpdateOne({"_id": i, "_pending": m}, {"$unset": {"_pending": ""}})
                    for i, m in marks
                ],
                ordered=False,
            )
        except PyMongoError as exc:
            raise SourceUnavailable(self.source, f"settling marks failed: {exc}") from exc

    def _stored_line(self, doc: dict[str, Any]) -> object:
        parsed = self._parse(doc)
        if isinstance(parsed, LineError):  # nobody's lines are stored too (the books)
            return parsed.line if parsed.line is not None else object()
        return parsed[0]

    def size(self) -> int | None:
        return self.count

    async def holds_any(self) -> bool:
        """Whether the collection holds a line (a load into it is a first load if none)."""
        try:
            return await self.collection.find_one({}, {"_id": 1}) is not None
        except PyMongoError as exc:
            raise SourceUnavailable(self.source, f"reading failed: {exc}") from exc

    async def holds_unowned(self) -> bool:
        """Whether the collection holds a line filed under no owner: one no load, push or
        sync wrote (those file each line, a nobody's under ``""``), so no resolution
        saw it and no lookup finds it. The ``_owner`` index answers (missing is null)."""
        try:
            return await self.collection.find_one({"_owner": None}, {"_id": 1}) is not None
        except PyMongoError as exc:
            raise SourceUnavailable(self.source, f"reading failed: {exc}") from exc

    async def file_unowned(self) -> int:
        """File each line filed under no owner (:meth:`holds_unowned`) as a load files it:
        under its record's key, a line that identifies no one under ``""``; how many."""
        try:
            docs = await self.collection.find({"_owner": None}).to_list()
        except PyMongoError as exc:
            raise SourceUnavailable(self.source, f"listing failed: {exc}") from exc
        owners = []
        for doc in docs:
            parsed = self._parse(doc)
            owner = NOBODY if isinstance(parsed, LineError) else parsed[1] or NOBODY
            owners.append((str(doc["_id"]), owner))
        await self.set_owners(owners)
        return len(owners)

    async def held(self) -> Held:
        """The collection's lines from its metadata (``count_documents({})`` would walk it
        whole at each probe) and those of no owner by the owner index (a range of it)."""
        try:
            lines = int(await self.collection.estimated_document_count())
            nobodys = int(await self.collection.count_documents({"_owner": NOBODY}))
        except PyMongoError as exc:
            raise SourceUnavailable(self.source, f"counting failed: {exc}") from exc
        return Held(lines, nobodys)

    async def take_count(self) -> None:
        """Count the lines held from the collection's metadata (what ``/readyz`` shows; kept
        up to date by this connector's appends and withdrawals since), reading none."""
        try:
            self.count = int(await self.collection.estimated_document_count())
        except PyMongoError as exc:
            raise SourceUnavailable(self.source, f"counting failed: {exc}") from exc

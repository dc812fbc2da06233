"""A folder of source files loaded into the store file's source table (``membergraph load``,
a ``serve --data`` start): once per version of the folder, identities resolved as it loads.

A first load (no line held) writes the files' lines as they are and resolves them; a meta
key says it is under way until they are resolved, so a first load killed in between is done
again, whole, by the next start or load, never over a newer version of a line held (one
killed under a release without the key is known by the store holding nothing but lines).
A load of a changed folder (a nightly CRM export dropped in) is a push of what changed: only
the files that changed since the last load are read (each file's size and modification time
are kept), each line is ordered against the version held, the lines it takes are written
with a mark, identity is applied to the lines created or updated as a push applies them
(their closure, not the whole store: a line held already changes nothing; a contact's older
version still names her), and they are announced on the feed as a push announces its lines
(a consent withdrawn reaches subscribers and every process's caches), then unmarked.

Every load runs under the push lock, so no push finishes the load's lines as its own and two
processes making one new store load it once. A load killed in between leaves marked lines:
the next load of the folder (its fingerprint is recorded last) applies them with its own,
the file's older versions of a contact with them, and the start finishes the rest
(:meth:`IngestService.heal <membergraph.ingest.IngestService.heal>`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from pydantic import BaseModel

from membergraph._perf import gc_paused
from membergraph.connectors.files import FileConnector
from membergraph.connectors.lines import LoadReport
from membergraph.connectors.models import CrmContact, SourceName
from membergraph.connectors.push_lock import PushLock
from membergraph.connectors.sources import SOURCES, outranked_version
from membergraph.connectors.sqlite import (
    SqliteLines,
    SqliteSource,
    file_fingerprints,
    folder_fingerprint,
)
from membergraph.connectors.sqlite_rows import render
from membergraph.identity.line_records import record_of_line
from membergraph.identity.load import collect_records, count_nobodys, owner_key
from membergraph.identity.records import RecordKey
from membergraph.identity.service import ApplyResult, IdentityService
from membergraph.identity.values import stored_nobodys_reason
from membergraph.ingest_answers import log_as_sent
from membergraph.ingest_facts import Fact, announce, marker, settle
from membergraph.insights.currency import AS_SENT, Currencies
from membergraph.privacy.gate import Keep, KeepConsents, said_suppressed
from membergraph.source_set import open_sources

__all__ = [
    "FOLDER_PATH",
    "FIRST_LOAD_FOLDER",
    "FolderLoad",
    "first_load_unfinished",
    "load_folder_into",
    "resolve_lines",
]

FOLDER_PATH = "folder_path"
"""The source table's meta key naming the folder last loaded into the store."""

_SAYS_NOTHING = frozenset(("stale", "rejected", "suppressed"))  # verdicts of unresolved lines
_CHANGES = frozenset(("created", "updated"))  # verdicts of lines identity is applied to


@dataclass
class _Taken:
    """What a load took: lines held after it (to resolve, in a first load; to count), the
    lines it created or updated (a load of a changed folder applies those), superseded
    versions whose values still count, and per source the facts to announce."""

    lines: list[tuple[SourceName, BaseModel]] = field(default_factory=list)
    changed: list[tuple[SourceName, BaseModel]] = field(default_factory=list)
    older: list[tuple[SourceName, BaseModel]] = field(default_factory=list)
    facts: list[tuple[SourceName, SqliteSource, list[Fact]]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class FolderLoad:
    """What a load did: identity's answer, whether it resolved the whole store (a first load:
    every member's figures measured again) or applied what changed (the feed says whose),
    and what reading each file found (its lines of no one by reason: ``load`` says them)."""

    result: ApplyResult
    whole: bool
    reports: Mapping[SourceName, LoadReport] = field(default_factory=dict)


FILES = "folder_files"
"""The source table's meta key keeping each file's fingerprint as last loaded (JSON)."""
FIRST_LOAD = "first_load"
"""The source table's meta key held while a first load's lines wait for their resolution."""
FIRST_LOAD_FOLDER = "first_load_folder"
"""Held with :data:`FIRST_LOAD`: the folder that first load reads (what to load again)."""
INGEST_RECORDS = 5000
"""Records a load of a changed folder applies at a time (a push's worth each)."""


async def load_folder_into(
    folder: Path,
    lines: SqliteLines,
    identity: IdentityService,
    region: str,
    keep: Keep | None = None,
    keep_consents: KeepConsents | None = None,
    whole: bool = False,
    money: Currencies = AS_SENT,
) -> FolderLoad | None:
    """Load a folder into the source table and resolve what it changed, once: a folder
    whose fingerprint was loaded before is not read at all (None).

    Of a folder loaded before, only the files that changed are read. A line already stored
    is ordered against it (a stale one changes nothing); identity is applied to the lines
    created or updated, they are announced, and the fingerprints recorded last, so an
    interrupted load is done again at the next start. ``keep`` leaves out lines (an erased
    person's); ``keep_consents`` keeps the consent facts of the CRM versions the load outranks
    (an older version in the folder, or one held before): what a contact chose then still
    counts, though the line is replaced. ``whole``: a changed folder is resolved whole with the
    store (every file read), as a store resolved under other rules needs.
    """
    fingerprint = await asyncio.to_thread(folder_fingerprint, folder)
    where = str(await asyncio.to_thread(folder.resolve))
    if await lines.meta("folder") == fingerprint:
        if await lines.meta(FOLDER_PATH) is None:  # a store loaded before the path was kept
            await lines.set_meta(FOLDER_PATH, where)
        return None
    prints = await asyncio.to_thread(file_fingerprints, folder)
    # Under the push lock, a first load too: two processes making one new store (two
    # replicas started together) would each resolve every line, every member twice.
    async with _pushing(lines):
        if await lines.meta("folder") == fingerprint:  # another process loaded it meanwhile
            return None
        if await lines.empty() or await first_load_unfinished(lines, identity):
            # Kept until the lines are resolved: a first load killed after writing them is
            # done again whole, where a changed folder's load would find every line held.
            again = not await lines.empty()  # (a first load cut part-way, run again)
            await lines.set_meta(FIRST_LOAD, fingerprint)
            await lines.set_meta(FIRST_LOAD_FOLDER, where)
            files = await asyncio.to_thread(open_sources, folder, region)
            async with lines.first_load():
                taken = await _take(
                    files.connectors, lines, region, keep, keep_consents, None, 0, again
                )
            result = await _resolve(identity, taken, region)
            await lines.drop_meta(FIRST_LOAD)
            await lines.drop_meta(FIRST_LOAD_FOLDER)
            nobodys, whole = result.unattributed, True
        else:
            only = None if whole else await _changed_files(lines, where, prints)
            files = await asyncio.to_thread(open_sources, folder, region, only=only)
            token = uuid.uuid4().hex
            head = await identity.store.feed_head()
            taken = await _take(files.connectors, lines, region, keep, keep_consents, token, head)
            result = await (_resolve if whole else _apply)(identity, taken, region)
            for name, target, facts in taken.facts:
                await _announce(identity, name, target, facts)
            if whole:
                nobodys = result.unattributed
            else:
                nobodys = await _nobodys(identity, taken.lines, result.unattributed, region)
        reports = files.reports()
        count_nobodys(taken.lines, nobodys, reports, region)
        log_as_sent(taken.changed or taken.lines, money)  # (yen counted as cents: said)
        for name, report in reports.items():
            await lines.keep_report(name.value, report)
        await lines.set_meta(FOLDER_PATH, where)
        await lines.set_meta(FILES, orjson.dumps(prints).decode())
        await lines.set_meta("folder", fingerprint)
    return FolderLoad(result, whole, reports)


async def first_load_unfinished(lines: SqliteLines, identity: IdentityService) -> bool:
    """Whether the lines held wait for a first load's resolution: its key says so, or, for
    a first load killed under a release that kept no such key, nothing but lines was ever
    written: no load finished (no folder's fingerprint), no member was made (the resolution
    is one transaction: a killed one leaves none), nothing was announced (a push's lines
    are, so a store pushed to is never loaded over as if it were new)."""
    if await lines.meta(FIRST_LOAD) is not None:
        return True
    if await lines.meta("folder") is not None:
        return False
    store = identity.store
    return await store.count_members() == 0 and await store.feed_head() == 0


async def _changed_files(
    lines: SqliteLines, where: str, prints: Mapping[str, str]
) -> list[SourceName]:
    """The sources whose file differs from the one last loaded from this folder (every one,
    if another folder, or a release that kept no file's fingerprint, loaded it)."""
    held = await lines.meta(FILES)
    before: dict[str, str] = {}
    if held is not None and await lines.meta(FOLDER_PATH) == where:
        before = orjson.loads(held)
    return [
        name
        for name, spec in SOURCES.items()
        if spec.file_name in prints and before.get(spec.file_name) != prints[spec.file_name]
    ]


_LOAD_WAIT = 600.0
"""Seconds a load waits for the push lock: another process may be loading the same folder."""


def _pushing(lines: SqliteLines) -> contextlib.AbstractAsyncContextManager[None]:
    lock = lines.push_lock
    return PushLock(lock.path, _LOAD_WAIT).held() if lock is not None else contextlib.nullcontext()


async def _take(
    connectors: Mapping[SourceName, object],
    lines: SqliteLines,
    region: str,
    keep: Keep | None,
    keep_consents: KeepConsents | None,
    token: str | None,
    head: int,
    again: bool = False,
) -> _Taken:
    """Each file's lines into the table: as they are (a first load, ``token`` None), or
    ordered against those held, the ones taken marked with ``token`` and the feed's
    ``head``. ``again``: a first load run again over the lines a cut one left, where a line
    held in a newer version than the file's (pushed meanwhile) is kept as held."""
    taken = _Taken()
    for name, conn in connectors.items():
        assert isinstance(conn, FileConnector)
        target = SqliteSource(conn.spec, lines, conn.owner)
        current = list(conn.lines())
        outranked = conn.superseded_contacts
        history = list(conn.older_lines())
        if keep is not None:  # an erased or suppressed person's lines are not loaded again
            read = len(current) + len(history)
            current = await keep(name, current)
            outranked = await keep(name, outranked) if outranked else outranked
            history = await keep(name, history) if history else history
            said_suppressed(name, read - len(current) - len(history))
        if again and token is None:
            current, older = await _newest_held(target, current)
            outranked = [*outranked, *(line for line in older if isinstance(line, CrmContact))]
            history += older if target.spec.keeps_history else []
        taken.older += ((name, line) for line in history)
        if token is None:
            taken.lines += ((name, line) for line in current)
            await target.put(await asyncio.to_thread(_rows, target, current))
        else:
            # Lines a stopped load (or push) stored and never applied: applied with this
            # load's, its file's older versions with them; their marks stay for the heal.
            left = [line for line, _ in await target.abandoned()]
            took, changed, replaced, stale, facts = await _appended(
                target, current, token, head, region
            )
            taken.lines += ((name, line) for line in took)
            taken.changed += ((name, line) for line in [*left, *changed])
            taken.older += ((name, line) for line in stale)
            taken.facts.append((name, target, facts))
            outranked = [*outranked, *replaced]
        if keep_consents is not None and outranked:
            await keep_consents(outranked)
    return taken


async def _newest_held(
    target: SqliteSource, lines: list[BaseModel]
) -> tuple[list[BaseModel], list[BaseModel]]:
    """``lines``, each replaced by the version held when that one outranks it (by the
    source's ordering, as a push is ordered: a contact's ``updated_at``), and the file's
    lines so outranked: a first load run again never puts an older version over a line
    acknowledged since the cut one."""
    held = await target.by_id([target.line_id(line) for line in lines])
    order = target.spec.order
    kept: list[BaseModel] = []
    outranked: list[BaseModel] = []
    for line in lines:
        version = held.get(target.line_id(line))
        if version is not None and order.verdict(version, line) in ("stale", "rejected"):
            kept.append(version)
            outranked.append(line)
        else:
            kept.append(line)
    return kept, outranked


async def _resolve(identity: IdentityService, taken: _Taken, region: str) -> ApplyResult:
    return await resolve_lines(identity, taken.lines, taken.older, region)


async def resolve_lines(
    identity: IdentityService,
    lines: Sequence[tuple[SourceName, BaseModel]],
    older: Sequence[tuple[SourceName, BaseModel]],
    region: str,
) -> ApplyResult:
    """A first load's lines resolved with the store, whole (the SQLite store's, MongoDB's
    collections'): their records, with the values their ``older`` versions gave."""
    with gc_paused():
        records = collect_records(lines, region, older)
    return await identity.resolve_all(records)


async def _apply(identity: IdentityService, taken: _Taken, region: str) -> ApplyResult:
    """Identity applied to the lines a load of a changed folder created or updated, as a
    push applies them (:data:`INGEST_RECORDS` records at a time): their closures resolved
    again, the rest of the store untouched. Their files' older versions still count, and
    so do those of a record held already (an export's version of 2025 of a contact it did
    not change, a line older than the one held), as a push keeps a late older version."""
    with gc_paused():
        records = list(collect_records(taken.changed, region, taken.older).values())
    applying = {record.ref for record in records}
    older = [
        record
        for source, line in taken.older
        if (record := record_of_line(source, line, region)) is not None
        and record.ref not in applying
    ]
    unattributed: dict[RecordKey, str] = {}
    changes = []
    for start in range(0, max(len(records), 1 if older else 0), INGEST_RECORDS):
        chunk = records[start : start + INGEST_RECORDS]
        applied = await identity.ingest(chunk, actor="load", older=() if start else older)
        unattributed.update(applied.unattributed)
        changes += applied.changes
    return ApplyResult(
        members=await identity.store.count_members(), changes=changes, unattributed=unattributed
    )


async def _nobodys(
    identity: IdentityService,
    lines: Sequence[tuple[SourceName, BaseModel]],
    applied: Mapping[RecordKey, str],
    region: str,
) -> dict[RecordKey, str]:
    """Why each record of ``lines`` in no member is nobody's: as the load's identity said, or,
    for one it did not touch, as its stored values say (a push's ``stored_nobodys_reason``)."""
    refs = {
        (source.value, key)
        for source, line in lines
        if source is not SourceName.CRM and (key := owner_key(source, line, region))
    }
    held = await identity.store.assignments(refs)
    alone = sorted(ref for ref in refs if ref not in held and ref not in applied)
    stored = await identity.store.load_records(alone) if alone else {}
    rules = identity.rules
    return {**{ref: stored_nobodys_reason(r, rules) for ref, r in stored.items()}, **applied}


async def _appended(
    target: SqliteSource, lines: list[BaseModel], token: str, head: int, region: str
) -> tuple[list[BaseModel], list[BaseModel], list[BaseModel], list[BaseModel], list[Fact]]:
    """Append ``lines`` to a source table; return those it took, those of them it created or
    updated, the CRM versions outranked (a version held that one replaced, a line older
    than the one held), the lines older than the one held whose values still count (a
    source that keeps history), and the facts of those it stored (created or updated, each
    marked). A line older than the one held (pushed since) says nothing else, here as at
    ``/ingest``: resolving it would undo the newer line (a contact renamed back)."""
    took: list[BaseModel] = []
    changed: list[BaseModel] = []
    outranked: list[BaseModel] = []
    stale: list[BaseModel] = []
    facts: list[Fact] = []
    mark = marker(target.source, token, head, again=False)
    for start in range(0, len(lines), 1000):
        chunk = lines[start : start + 1000]
        verdicts = await target.append(chunk, mark)
        for line, said in zip(chunk, verdicts, strict=True):
            if said not in _SAYS_NOTHING:
                took.append(line)
            if said in _CHANGES:
                changed.append(line)
            if said.mark is not None:
                facts.append(Fact.taken(line, said, record_of_line(target.source, line, region)))
            if isinstance(version := outranked_version(line, said), CrmContact):
                outranked.append(version)
            if said == "stale" and target.spec.keeps_history:
                stale.append(line)
    return took, changed, outranked, stale, facts


async def _announce(
    identity: IdentityService, name: SourceName, target: SqliteSource, facts: Sequence[Fact]
) -> None:
    """The feed's entries for the lines a load stored, then their marks dropped."""
    refs = [f.record.ref for f in facts if f.record is not None]
    members = await identity.store.assignments(refs) if refs else {}
    await announce(identity.store, name, target, facts, members)
    await settle(target, facts)


def _rows(target: SqliteSource, lines: list[BaseModel]) -> list[tuple[str, str, bytes]]:
    return [(target.line_id(line), target.owner(line) or "", render(line)) for line in lines]

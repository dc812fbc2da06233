"""Reading a folder for batch resolution, on every core.

``membergraph resolve`` needs from a source file only two things: the records its lines
describe and, for its answer, which record each line belongs to. It keeps no line models.
Each file is cut into pieces of whole lines; worker processes validate every line of a
piece with the gateway's answer (the fast reader of :mod:`~membergraph.connectors.fastlines`
first, the model for what it refuses) and send back compact results: accepted line ids,
for each line the index of its record part (one part per record of the piece, as plain
tuples), and the errors with their line numbers. Pickled line models would cost as much.

The fold is exactly :func:`~membergraph.identity.load.collect_records` over the latest
version of each line id: a line whose id was seen before replaces the earlier one.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from itertools import repeat
from operator import attrgetter
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from pydantic import ValidationError

from membergraph._perf import gc_paused
from membergraph.connectors.fastlines import FastLineError, fast_decoder
from membergraph.connectors.lines import NO_OWNER, LineError, LoadReport, parse_line
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES, Ordering
from membergraph.identity.load import fold_into, owner_key
from membergraph.identity.records import (
    Identifier,
    RecordData,
    RecordKey,
    identifier_of,
    identity_of,
    record_of_line,
)
from membergraph.identity.rules import Rules
from membergraph.identity.service import IdentityService
from membergraph.identity.store.port import IdentityStore

__all__ = ["BatchResult", "FolderScan", "resolve_folder", "scan_folder"]

logger = logging.getLogger(__name__)

PIECE_BYTES = 8 << 20
"""How much of a file one worker task reads: small enough to keep both cores busy to the
end, large enough that the per-task overhead (a pickle each way) stays invisible."""

_SERIAL_BELOW = 4 << 20  # a smaller folder is read in this process: no worker start-up


Row = tuple[Any, ...]
"""A record as a worker sends it: ``RecordData``'s fields, its identifiers as plain tuples.
Plain tuples pickle in C; a dataclass of named tuples pickles through Python, several times
slower on both sides (measured: 0.16 s against 0.015 s for a piece of purchases)."""


def _row(r: RecordData) -> Row:
    person = (r.first_name, r.last_name, r.birth_date, r.address)
    return (r.source, r.key, r.role, tuple(map(tuple, r.identifiers)), *person)


def _record(row: Row) -> RecordData:
    source, key, role, identifiers, *person = row
    return RecordData(source, key, role, set(map(identifier_of, identifiers)), *person)


@dataclass(slots=True)
class _Piece:
    """What a worker found in one piece of a file."""

    lines: int = 0  # physical lines, blank ones included (for line numbers)
    ids: list[str] = field(default_factory=list)  # accepted lines' ids, in order
    parts_of: array[int] = field(default_factory=lambda: array("i"))  # per id: its part
    order: array[float] = field(default_factory=lambda: array("d"))  # per id: Ordering.key
    parts: list[Row] = field(default_factory=list)  # as sent; records once arrived
    records: list[RecordData] = field(default_factory=list)
    # (accepted lines before it, line number in the piece, message, and for a line that
    # identifies no one (a placeholder its only identifier) its id)
    errors: list[tuple[int, int, str, str | None]] = field(default_factory=list)


def _read_piece(
    source: SourceName, path: str, start: int, end: int, region: str, by_record: bool = True
) -> _Piece:
    """Validate the lines of ``path[start:end]`` (whole lines) and fold their records.

    ``by_record``: one part per record, every line of the piece folded in (exact when no
    line id comes twice); else one part per distinct identity, so that a superseded line's
    part can be left out (:func:`_used`).
    """
    spec = SOURCES[source]
    # What model_validate_json calls, without its Python frame; the line's id and identity
    # fields are read in C: at a million lines, each Python step a line costs a second.
    validate = spec.model.__pydantic_validator__.validate_json
    fast = fast_decoder(spec.model)  # the same answer, five times sooner (fastlines.py)
    line_id, fields, problem = attrgetter(spec.id_field), identity_of(source), spec.problem
    order_of = spec.order.key
    role = fields.role if fields is not None else ""
    piece = _Piece()
    ids, parts_of, errors = piece.ids, piece.parts_of, piece.errors
    parts: list[RecordData] = []
    seen: dict[tuple[object, ...], int] = {}
    slot_of: dict[RecordKey, int] = {}

    owner = partial(owner_key, source, region=region)
    with open(path, "rb") as handle, gc_paused():
        handle.seek(start)
        raws = handle.read(end - start).split(b"\n")
        if raws and not raws[-1]:
            raws.pop()
        piece.lines = len(raws)
        for number, raw in enumerate(raws, start=1):
            if not raw or raw.isspace():
                continue
            try:
                line = fast(raw)
            except FastLineError:
                try:  # the model itself: it may accept what the fast reader refused
                    line = validate(raw)
                except ValidationError:  # parse_line's slower way says what is wrong
                    refused = parse_line(spec, raw, "", owner)
                    assert isinstance(refused, LineError)
                    errors.append((len(ids), number, refused.message, None))
                    continue
            if problem is not None and (said := problem(line)) is not None:
                errors.append((len(ids), number, said, None))
                continue
            identity = fields.read(line) if fields is not None else None
            slot = seen.get(identity) if identity is not None else None
            if slot is None:
                # The line's record; none is what parse_line calls a line with no owner.
                described: tuple[str, AbstractSet[Identifier]] | None
                if identity is None:
                    record = record_of_line(source, line, region)
                    described = None if record is None else (record.key, record.identifiers)
                else:  # record_of_line's record, described from the fields alone (cached)
                    assert fields is not None
                    record, described = None, fields.describe(*identity, region)
                if described is None:
                    # A placeholder-only line is nobody's, not a bad line: answered and
                    # counted as such (with its id), unless it names no customer at all.
                    why = fields.unowned(*identity, region) if fields and identity else None
                    errors.append(
                        (len(ids), number, why or NO_OWNER, line_id(line) if why else None)
                    )
                    continue
                ref = (source, described[0])
                slot = slot_of.get(ref) if by_record else None
                if slot is None:
                    slot = len(parts)
                    if record is None:
                        record = RecordData(source, ref[1], role, set(described[1]))
                    parts.append(record)
                    if by_record:
                        slot_of[ref] = slot
                elif record is not None:
                    parts[slot].merge(record)
                else:
                    parts[slot].identifiers |= described[1]  # what merge does for this source
                if identity is not None:
                    seen[identity] = slot
            ids.append(line_id(line))
            parts_of.append(slot)
            if order_of is not None:
                piece.order.append(order_of(line))
        piece.parts = [_row(record) for record in parts]
    return piece


def _cut(path: Path, size: int) -> list[tuple[int, int]]:
    """Byte ranges of whole lines, about ``size`` bytes each."""
    total = path.stat().st_size
    ranges: list[tuple[int, int]] = []
    with path.open("rb") as handle:
        start = 0
        while start < total:
            handle.seek(min(start + size, total))
            handle.readline()  # to the end of the line the cut fell in
            end = min(handle.tell(), total)
            ranges.append((start, end))
            start = end
    return ranges


@dataclass(slots=True)
class FolderScan:
    """The records of a folder, and what became of each line."""

    records: dict[RecordKey, RecordData]
    reports: dict[SourceName, LoadReport]
    _pieces: list[tuple[SourceName, str, int, _Piece]]  # (source, file name, first line, piece)

    def answers(self, member_of: Mapping[RecordKey, str]) -> Iterator[bytes]:
        """``membergraph resolve``'s answer, in chunks of whole lines: one JSON line per
        non-blank input line, in file order, source by source: ``{"source", "id",
        "member_id"}``; ``"unattributed"`` (why) with a null ``member_id`` for a line that
        identifies no one; ``"error"`` with a null ``id`` for a malformed line."""
        for source, name, first, piece in self._pieces:
            head = b'{"source":' + orjson.dumps(source.value) + b',"id":'
            # Each record's member, encoded once for all its lines; then whole runs of good
            # lines at a time, joined in C: a Python step per line costs seconds a batch.
            tails = [
                b',"member_id":' + orjson.dumps(member_of.get(part.ref)) + b"}\n"
                for part in piece.records
            ]
            ids, parts_of = piece.ids, piece.parts_of
            done = 0
            for before, number, message, nobodys in [*piece.errors, (len(ids), 0, "", None)]:
                if before > done:
                    yield b"".join(
                        map(
                            b"".join,
                            zip(
                                repeat(head),
                                map(orjson.dumps, ids[done:before]),
                                map(tails.__getitem__, parts_of[done:before]),
                            ),
                        )
                    )
                done = before
                if nobodys is not None:
                    said = orjson.dumps({"unattributed": message})[1:]
                    yield head + orjson.dumps(nobodys) + b',"member_id":null,' + said + b"\n"
                elif message:
                    error = {"error": f"{name}:{first + number}: {message}"}
                    yield head + b'null,"member_id":null,' + orjson.dumps(error)[1:] + b"\n"


def _used(
    pieces: list[_Piece], repeats: bool, ordering: Ordering | None = None
) -> list[set[int] | None]:
    """Per piece of one source, the parts its lines' winning versions use (None: all): by
    the source's ordering, the highest key (the later on a tie), or the first version of an
    immutable line; else the latest."""
    if not repeats:
        return [None] * len(pieces)  # no id comes twice: every line is its only version
    ordering = ordering or Ordering()
    best: dict[str, tuple[float, int, int]] = {}  # id -> (key, piece, slot)
    for number, piece in enumerate(pieces):
        keys = piece.order if ordering.key is not None else [0.0] * len(piece.ids)
        for line_id, slot, key in zip(piece.ids, piece.parts_of, keys, strict=True):
            held = best.get(line_id)
            if held is None or (not ordering.immutable and key >= held[0]):
                best[line_id] = (key, number, slot)
    used: list[set[int] | None] = [set() for _ in pieces]
    for _, number, slot in best.values():
        used[number].add(slot)  # type: ignore[union-attr]
    return used


def _fold(
    pieces: list[tuple[SourceName, str, int, _Piece]], repeating: set[SourceName]
) -> dict[RecordKey, RecordData]:
    records: dict[RecordKey, RecordData] = {}
    for source in SOURCES:
        mine = [piece for name, _, _, piece in pieces if name is source]
        winners = _used(mine, source in repeating, SOURCES[source].order)
        for piece, used in zip(mine, winners, strict=True):
            for slot, part in enumerate(piece.records):
                if used is None or slot in used:  # else only superseded lines said this
                    fold_into(records, part)
    return records


def _repeats(pieces: Sequence[_Piece]) -> bool:
    """Whether a line id comes twice in one source's pieces."""
    ids: set[str] = set()
    for piece in pieces:
        ids.update(piece.ids)
    return len(ids) != sum(len(piece.ids) for piece in pieces)


def _read_pieces(args: list[tuple[Any, ...]], workers: int) -> list[_Piece]:
    """:func:`_read_piece` of each task, on ``workers`` processes (one: in this process).

    Each piece's records are built here as it arrives, while the workers read on.
    """
    if workers > 1 and len(args) > 1:
        try:
            with _pool(min(workers, len(args))) as pool:
                return [_arrived(p) for p in pool.map(_read_piece, *zip(*args, strict=True))]
        except (BrokenProcessPool, OSError) as exc:
            # No worker processes here (a sandbox, a dead worker): the same work in this
            # process, slower; a real error in the data shows up again there.
            logger.warning("reading on one core: worker processes failed (%s)", exc)
    return [_arrived(_read_piece(*task)) for task in args]


def _arrived(piece: _Piece) -> _Piece:
    piece.records, piece.parts = list(map(_record, piece.parts)), []
    return piece


def scan_folder(
    folder: Path, region: str = "US", workers: int | None = None, piece_bytes: int = PIECE_BYTES
) -> FolderScan:
    """Read every source file of ``folder`` (a missing file is an empty source).

    ``workers`` processes validate the pieces (default: one per core; a small folder is read
    in this process).
    """
    tasks: list[tuple[SourceName, Path, int, int]] = []
    for source, spec in SOURCES.items():
        path = folder / spec.file_name
        if path.exists():
            tasks += [(source, path, a, b) for a, b in _cut(path, piece_bytes)]
    small = workers is None and sum(b - a for _, _, a, b in tasks) < _SERIAL_BELOW
    count = 1 if small else workers or os.cpu_count() or 1
    args = [(source, str(path), a, b, region) for source, path, a, b in tasks]
    with gc_paused():  # unpickling results allocates millions of objects too
        found = _read_pieces(args, count)
        # A line id that comes twice (a re-sent line): that source again, one part per
        # line identity, so that only the latest version of each line counts (_used).
        by_source: dict[SourceName, list[_Piece]] = {}
        for task, piece in zip(tasks, found, strict=True):
            by_source.setdefault(task[0], []).append(piece)
        again = {source for source, mine in by_source.items() if _repeats(mine)}
        redo = [i for i, task in enumerate(tasks) if task[0] in again]
        exact = _read_pieces([(*args[i], False) for i in redo], count)
        for i, piece in zip(redo, exact, strict=True):
            found[i] = piece
    pieces: list[tuple[SourceName, str, int, _Piece]] = []
    reports = {source: LoadReport() for source in SOURCES}
    line_of: dict[Path, int] = {}
    for (source, path, _, _), piece in zip(tasks, found, strict=True):
        first = line_of.get(path, 0)
        line_of[path] = first + piece.lines
        pieces.append((source, path.name, first, piece))
        report = reports[source]
        report.lines += len(piece.ids) + len(piece.errors)
        report.accepted += len(piece.ids)
        for _, number, message, nobodys in piece.errors:
            where = f"{path.name}:{first + number}"
            report.refuse(LineError(where, message, unattributed=nobodys is not None))
    with gc_paused():
        records = _fold(pieces, again)
    return FolderScan(records, reports, pieces)


class _AnswerFile:
    """``out``, written unseen and shown whole: it appears only by a rename, once complete.

    On Linux the answers go to a file without a name (``O_TMPFILE``) in ``out``'s folder, so
    that a killed process leaves nothing behind; :meth:`show` names it ``<out>.partial`` and
    renames that over ``out``. Where the folder's file system has no such files, the answers
    are written to ``<out>.partial`` from the start. Either way the next run for the same
    ``out`` removes a ``.partial`` that a killed run left.
    """

    def __init__(self, out: Path) -> None:
        self.out, self.side = out, out.with_name(out.name + ".partial")
        self.folder = os.open(out.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.side.name, dir_fd=self.folder)  # a killed run's
            try:
                tmpfile = os.O_TMPFILE  # AttributeError: not Linux
                fd = os.open(".", tmpfile | os.O_WRONLY, 0o666, dir_fd=self.folder)
                self.named = False
            except (AttributeError, OSError):  # not on this file system either
                flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
                fd = os.open(self.side.name, flags, 0o666, dir_fd=self.folder)
                self.named = True
            self.handle: BinaryIO = os.fdopen(fd, "wb")
        except BaseException:
            os.close(self.folder)
            raise

    def show(self) -> None:
        """Make the answers ``out``, durably: data, then name, then the folder's entry."""
        self.handle.flush()
        os.fsync(self.handle.fileno())
        if not self.named:
            # os.link follows the /proc symlink only through linkat, used with a dir_fd.
            fd = f"/proc/self/fd/{self.handle.fileno()}"
            os.link(fd, self.side.name, dst_dir_fd=self.folder, follow_symlinks=True)
        os.replace(self.side.name, self.out.name, src_dir_fd=self.folder, dst_dir_fd=self.folder)
        os.fsync(self.folder)

    def close(self) -> None:
        """Drop what was not shown (a nameless file goes with its descriptor)."""
        try:
            self.handle.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.side.name, dir_fd=self.folder)
        finally:
            os.close(self.folder)


def _pool(workers: int) -> Executor:
    # spawn, not fork: the caller may hold threads (the event loop's, SQLite's).
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_follow_parent,
        initargs=(os.getpid(),),
    )


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _follow_parent(parent: int) -> None:
    """A worker's initializer: the worker ends when ``parent`` ends, however it ends.

    A worker whose parent was killed would wait on its task queue for ever (it holds that
    pipe's writing end itself): a SIGKILL of ``membergraph resolve`` left its workers running.
    Linux kills the worker when the thread that started it ends; that thread is inside the
    pool's ``with`` until every worker has ended, so only the parent's death can set it off.
    A thread watching the parent's pid covers other systems, and a parent that died before
    the ``prctl`` asked (the pid check right after it).
    """
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), name="parent", daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


@dataclass(slots=True)
class BatchResult:
    """What ``membergraph resolve`` did, with the seconds each phase took."""

    lines: int
    records: int
    members: int
    malformed: int
    phases: dict[str, float] = field(default_factory=dict)
    unattributed: dict[str, int] = field(default_factory=dict)
    """Lines that identify no one, by reason (``placeholder e-mail na@na.com``)."""


async def resolve_folder(
    folder: Path,
    out: Path,
    store: IdentityStore,
    rules: Rules | None = None,
    region: str = "US",
    on_phase: Callable[[str], object] = lambda _: None,
    workers: int | None = None,
) -> BatchResult:
    """Resolve a folder into ``store`` (open) and write one JSON line per input line to
    ``out``: ``{"source", "id", "member_id"}``, or ``"error"`` with ``id`` null."""
    phases: dict[str, float] = {}
    began = time.perf_counter()

    def lap(name: str, following: str) -> None:
        nonlocal began
        now = time.perf_counter()
        phases[name] = now - began
        began = now
        on_phase(following)

    on_phase("reading sources")
    # The answers are written while the store writes the members and shown once the store
    # has committed: ``out`` is never half-written or early. Opened first: a folder that
    # cannot take them fails the run before its work, not after.
    answers = _AnswerFile(out)
    try:
        scan = scan_folder(folder, region, workers)
        lap("read and validate", "resolving")

        async def answer(member_of: Mapping[RecordKey, str]) -> None:
            await asyncio.to_thread(answers.handle.writelines, scan.answers(member_of))

        service = IdentityService(store, rules, region)
        result = await service.resolve_all(scan.records, while_storing=answer)
        answers.show()
    finally:
        answers.close()
    lap("resolve, store and answer", "done")
    reports = scan.reports.values()
    return BatchResult(
        lines=sum(r.lines for r in reports),
        records=len(scan.records),
        members=result.members,
        malformed=sum(r.malformed for r in reports),
        phases=phases,
        unattributed=_summed(r.unattributed for r in reports),
    )


def _summed(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for count in counts:
        for reason, n in count.items():
            total[reason] = total.get(reason, 0) + n
    return dict(sorted(total.items(), key=lambda item: (-item[1], item[0])))

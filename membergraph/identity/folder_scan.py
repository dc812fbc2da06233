"""A folder read for batch resolution: every source file read on every core
(:mod:`~membergraph.identity.file_pieces`), each source's lines folded into records by its
ordering (the winning version of a line id), and one answer line per input line.

The fold is exactly :func:`~membergraph.identity.load.collect_records` over the winning
version of each line id, plus the identifier values of a CRM contact's older versions
(:meth:`~membergraph.identity.records.RecordData.remember`).
"""

from __future__ import annotations

import os
from array import array
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path

import orjson

from membergraph._perf import gc_paused
from membergraph.connectors.lines import LineError, LoadReport
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES, Ordering
from membergraph.identity.file_pieces import PIECE_BYTES, Piece, cut, read_pieces
from membergraph.identity.load import fold_into
from membergraph.identity.records import RecordData, RecordKey

__all__ = ["FolderScan", "Refuse", "refuse_rewrites", "scan_folder"]

_NONE: Mapping[RecordKey, str] = {}

_SERIAL_BELOW = 4 << 20  # a smaller folder is read in this process: no worker start-up

Refuse = Callable[[Sequence[RecordData]], Awaitable[list[bool]]]
"""For each record (of lines), whether it carries a suppressed identifier (privacy)."""

_SUPPRESSED = b',"member_id":null,"suppressed":true}\n'


@dataclass(slots=True)
class FolderScan:
    """The records of a folder, and what became of each line."""

    records: dict[RecordKey, RecordData]
    reports: dict[SourceName, LoadReport]
    _pieces: list[tuple[SourceName, str, int, Piece]]  # (source, file name, first line, piece)
    _repeating: set[SourceName] = field(default_factory=set)  # read one part per identity

    async def screen(self, refuse: Refuse) -> int:
        """Leave out the lines carrying a suppressed identifier (an erased person's, in an
        old folder): they make no record and are answered ``suppressed``; how many. Needs a
        scan read ``exact``, so that a part is the lines of one identity."""
        refused = 0
        for _, _, _, piece in self._pieces:
            flags = await refuse(piece.records)
            piece.refused = {slot for slot, no in enumerate(flags) if no}
            if piece.refused:
                refused += sum(1 for slot in piece.parts_of if slot in piece.refused)
        if refused:
            with gc_paused():
                self.records = _fold(self._pieces, self._repeating)
        return refused

    def nobodys_lines(self, nobodys: Mapping[RecordKey, str]) -> dict[str, int]:
        """How many answer lines the records of ``nobodys`` have, by reason."""
        counted: dict[str, int] = {}
        if not nobodys:
            return counted
        for _, _, _, piece in self._pieces:
            for slot, lines in Counter(piece.parts_of).items():
                why = nobodys.get(piece.records[slot].ref)
                if why is not None:
                    counted[why] = counted.get(why, 0) + lines
        return counted

    def answers(
        self, member_of: Mapping[RecordKey, str], nobodys: Mapping[RecordKey, str] = _NONE
    ) -> Iterator[bytes]:
        """``membergraph resolve``'s answer, in chunks of whole lines: one JSON line per
        non-blank input line, in file order, source by source: ``{"source", "id",
        "member_id"}``; ``"unattributed"`` (why) with a null ``member_id`` for a line that
        identifies no one (a placeholder its only identifier, or the line's record in
        ``nobodys``: keyed by a value the data shows to be one); ``"suppressed": true`` with
        a null ``member_id`` for a line carrying a suppressed identifier; ``"error"`` for a
        malformed line, with the id it names (null when it is not JSON)."""
        for source, name, first, piece in self._pieces:
            head = b'{"source":' + orjson.dumps(source.value) + b',"id":'
            # Each record's member, encoded once for all its lines; then whole runs of good
            # lines at a time, joined in C: a Python step per line costs seconds a batch.
            tails = [
                _SUPPRESSED if slot in piece.refused else _tail(member_of, nobodys, part.ref)
                for slot, part in enumerate(piece.records)
            ]
            ids, parts_of = piece.ids, piece.parts_of
            done = 0
            ended = [*piece.errors, (len(ids), 0, "", None)]
            for at, (before, number, message, line_id) in enumerate(ended):
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
                if line_id is not None:  # a placeholder-only line: nobody's
                    said = orjson.dumps({"unattributed": message})[1:]
                    yield head + orjson.dumps(line_id) + b',"member_id":null,' + said + b"\n"
                elif message:
                    error = {"error": f"{name}:{first + number}: {message}"}
                    known = orjson.dumps(piece.error_ids.get(at))  # null: a line not read
                    yield head + known + b',"member_id":null,' + orjson.dumps(error)[1:] + b"\n"


def _tail(
    member_of: Mapping[RecordKey, str], nobodys: Mapping[RecordKey, str], ref: RecordKey
) -> bytes:
    """The end of an answer line of a record's lines: its member, or why it has none."""
    why = nobodys.get(ref)
    if why is not None:
        return b',"member_id":null,"unattributed":' + orjson.dumps(why) + b"}\n"
    return b',"member_id":' + orjson.dumps(member_of.get(ref)) + b"}\n"


def _used(
    pieces: list[Piece], repeats: bool, ordering: Ordering | None = None
) -> list[set[int] | None]:
    """Per piece of one source, the parts its lines' winning versions use (None: all): by
    the source's ordering, the highest key, on a tie the greater digest of what the line says
    (as :meth:`Ordering.verdict`: whatever the order of the lines), on a full tie the later;
    or the first version of an immutable line; else the latest."""
    if not repeats:
        return [None] * len(pieces)  # no id comes twice: every line is its only version
    ordering = ordering or Ordering()
    best: dict[str, tuple[float, int, int, int]] = {}  # id -> (key, digest, piece, slot)
    for number, piece in enumerate(pieces):
        keyed = ordering.key is not None
        keys = piece.order if keyed else [0.0] * len(piece.ids)
        digests = piece.digests if keyed else [0] * len(piece.ids)
        for line_id, slot, key, digest in zip(
            piece.ids, piece.parts_of, keys, digests, strict=True
        ):
            held = best.get(line_id)
            if held is None or (not ordering.immutable and (key, digest) >= held[:2]):
                best[line_id] = (key, digest, number, slot)
    used: list[set[int] | None] = [set() for _ in pieces]
    for _, _, number, slot in best.values():
        used[number].add(slot)  # type: ignore[union-attr]
    return used


def _fold(
    pieces: list[tuple[SourceName, str, int, Piece]], repeating: set[SourceName]
) -> dict[RecordKey, RecordData]:
    records: dict[RecordKey, RecordData] = {}
    for source in SOURCES:
        mine = [piece for name, _, _, piece in pieces if name is source]
        winners = _used(mine, source in repeating, SOURCES[source].order)
        superseded: list[RecordData] = []
        for piece, used in zip(mine, winners, strict=True):
            for slot, part in enumerate(piece.records):
                if slot in piece.refused:
                    continue
                if used is None or slot in used:
                    fold_into(records, part)
                elif source is SourceName.CRM:
                    superseded.append(part)  # else only superseded lines said it
        for part in superseded:
            # An older version of a contact still says which values were hers (the e-mail
            # she had before): the record keeps them, as an ingest of both versions does,
            # whatever order they came in. Its names are the newest version's.
            held = records.get(part.ref)
            if held is not None:
                held.remember(part)
    return records


def refuse_rewrites(pieces: Sequence[Piece], why: Callable[[str], str]) -> int:
    """An immutable source's lines whose id came before with other content become errors
    (``why(line id)``), as ``POST /ingest`` and the file loader refuse them; the pieces were
    read exactly (their line numbers and digests). Answers how many."""
    first: dict[str, int] = {}
    refused = 0
    for piece in pieces:
        rewrites = set()
        for index, (line_id, digest) in enumerate(zip(piece.ids, piece.digests, strict=True)):
            if first.setdefault(line_id, digest) != digest:
                rewrites.add(index)
        if rewrites:
            _as_errors(piece, rewrites, why)
            refused += len(rewrites)
    return refused


def _as_errors(piece: Piece, rewrites: set[int], why: Callable[[str], str]) -> None:
    """Turn the accepted lines at ``rewrites`` into errors, keeping the file order."""
    kept = [i for i in range(len(piece.ids)) if i not in rewrites]
    events = [(piece.numbers[i], 0, i) for i in range(len(piece.ids))]
    events += [(error[1], 1, n) for n, error in enumerate(piece.errors)]
    ids: list[str] = []
    parts_of, numbers = array("i"), array("i")
    errors: list[tuple[int, int, str, str | None]] = []
    error_ids: dict[int, str] = {}
    for number, is_error, at in sorted(events):
        if is_error:
            if at in piece.error_ids:
                error_ids[len(errors)] = piece.error_ids[at]
            errors.append((len(ids), *piece.errors[at][1:]))
        elif at in rewrites:
            error_ids[len(errors)] = piece.ids[at]
            errors.append((len(ids), number, why(piece.ids[at]), None))
        else:
            ids.append(piece.ids[at])
            parts_of.append(piece.parts_of[at])
            numbers.append(number)
    piece.ids, piece.parts_of, piece.numbers, piece.errors = ids, parts_of, numbers, errors
    piece.error_ids = error_ids
    piece.digests = array("q", (piece.digests[i] for i in kept))
    if piece.order:
        piece.order = array("d", (piece.order[i] for i in kept))


def _repeats(pieces: Sequence[Piece]) -> bool:
    """Whether a line id comes twice in one source's pieces."""
    ids: set[str] = set()
    for piece in pieces:
        ids.update(piece.ids)
    return len(ids) != sum(len(piece.ids) for piece in pieces)


def scan_folder(
    folder: Path,
    region: str = "US",
    workers: int | None = None,
    piece_bytes: int = PIECE_BYTES,
    exact: bool = False,
) -> FolderScan:
    """Read every source file of ``folder`` (a missing file is an empty source).

    ``workers`` processes validate the pieces (default: one per core; a small folder is read
    in this process). ``exact``: one part per line identity in every source (what
    :meth:`FolderScan.screen` needs to refuse lines, not records).
    """
    tasks: list[tuple[SourceName, Path, int, int]] = []
    for source, spec in SOURCES.items():
        path = folder / spec.file_name
        if path.exists():
            tasks += [(source, path, a, b) for a, b in cut(path, piece_bytes)]
    small = workers is None and sum(b - a for _, _, a, b in tasks) < _SERIAL_BELOW
    count = 1 if small else workers or os.cpu_count() or 1
    args = [(source, str(path), a, b, region) for source, path, a, b in tasks]
    with gc_paused():  # unpickling results allocates millions of objects too
        found = read_pieces([(*task, not exact) for task in args], count)
        # A line id that comes twice (a re-sent line): that source again, one part per
        # line identity, so that only the latest version of each line counts (_used).
        by_source: dict[SourceName, list[Piece]] = {}
        for task, piece in zip(tasks, found, strict=True):
            by_source.setdefault(task[0], []).append(piece)
        again = {source for source, mine in by_source.items() if exact or _repeats(mine)}
        redo = [] if exact else [i for i, task in enumerate(tasks) if task[0] in again]
        exact_pieces = read_pieces([(*args[i], False) for i in redo], count)
        for i, piece in zip(redo, exact_pieces, strict=True):
            found[i] = piece
        for source in again:
            if SOURCES[source].order.immutable:
                mine = [found[i] for i, task in enumerate(tasks) if task[0] is source]
                refuse_rewrites(mine, SOURCES[source].taken_elsewhere)
    pieces: list[tuple[SourceName, str, int, Piece]] = []
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
    return FolderScan(records, reports, pieces, again)

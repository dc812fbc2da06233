"""Reading pieces of a source file, in worker processes, for batch resolution.

``membergraph resolve`` needs from a source file only two things: the records its lines
describe and, for its answer, which record each line belongs to. It keeps no line models.
Each file is cut into pieces of whole lines; worker processes validate every line of a
piece with the gateway's answer (the fast reader of :mod:`~membergraph.connectors.fastlines`
first, the model for what it refuses) and send back compact results: accepted line ids,
for each line the index of its record part (one part per record of the piece, as plain
tuples), and the errors with their line numbers. Pickled line models would cost as much.
"""

from __future__ import annotations

import hashlib
import logging
from array import array
from collections.abc import Set as AbstractSet
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from membergraph._perf import gc_paused
from membergraph.connectors.fastlines import FastLineError, fast_decoder
from membergraph.connectors.json_flaws import json_refusal
from membergraph.connectors.lines import (
    NO_OWNER,
    TOO_DEEP,
    TOO_LONG,
    LineError,
    bom_length,
    parse_line,
    too_big,
    too_deep,
    too_long,
)
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES, version_digest
from membergraph.identity.line_records import identity_of, record_of_line, typed_emails
from membergraph.identity.load import owner_key
from membergraph.identity.purchase_days import add_purchase, card_email, purchase_day
from membergraph.identity.records import (
    Identifier,
    RecordData,
    RecordKey,
    identifier_of,
    typed_email_keys,
)
from membergraph.identity.workers import worker_pool

__all__ = ["PIECE_BYTES", "Piece", "content_digest", "cut", "read_piece", "read_pieces"]

logger = logging.getLogger(__name__)

PIECE_BYTES = 8 << 20
"""How much of a file one worker task reads: small enough to keep both cores busy to the
end, large enough that the per-task overhead (a pickle each way) stays invisible."""

Row = tuple[Any, ...]
"""A record as a worker sends it: ``RecordData``'s fields, its identifiers as plain tuples.
Plain tuples pickle in C; a dataclass of named tuples pickles through Python, several times
slower on both sides (measured: 0.16 s against 0.015 s for a piece of purchases)."""


def _row(r: RecordData) -> Row:
    person = (r.first_name, r.last_name, r.birth_date, r.address)
    days, emails = _plain(r.days), _plain(r.email_days)
    identifiers = tuple(map(tuple, r.identifiers))
    typed = tuple(r.typed_keys)
    return (r.source, r.key, r.role, identifiers, *person, days, emails, r.version, typed)


def _plain(sets: dict[str, frozenset[str]] | None) -> tuple[tuple[str, Any], ...] | None:
    return None if sets is None else tuple((k, tuple(items)) for k, items in sets.items())


def _record(row: Row) -> RecordData:
    source, key, role, identifiers, *person, days, emails, version, typed = row
    record = RecordData(source, key, role, set(map(identifier_of, identifiers)), *person)
    record.version = version
    if typed:
        record.typed_keys = frozenset(typed)
    if days is not None:
        record.days = {day: frozenset(ids) for day, ids in days}
    if emails is not None:
        record.email_days = {email: frozenset(on) for email, on in emails}
    return record


@dataclass(slots=True)
class Piece:
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
    # For an error whose line was read whole (an event id taken before with other
    # content): by its place in ``errors``, the line's id, which its answer names.
    error_ids: dict[int, str] = field(default_factory=dict)
    refused: set[int] = field(default_factory=set)  # parts carrying a suppressed identifier
    # Read only when a line id comes twice (by_record=False): per id its line number in the
    # piece, and a digest of its content: for an immutable source all of it (what
    # folder_scan.refuse_rewrites compares), else sources.version_digest (what breaks a tie).
    numbers: array[int] = field(default_factory=lambda: array("i"))
    digests: array[int] = field(default_factory=lambda: array("q"))


def content_digest(raw: bytes) -> int:
    """What a line says, whatever its key order and spacing: two versions of an event with
    one digest are one event sent twice; with two, another content under its id."""
    canonical = orjson.dumps(orjson.loads(raw), option=orjson.OPT_SORT_KEYS)
    return int.from_bytes(hashlib.blake2b(canonical, digest_size=8).digest(), signed=True)


def read_piece(
    source: SourceName, path: str, start: int, end: int, region: str, by_record: bool = True
) -> Piece:
    """Validate the lines of ``path[start:end]`` (whole lines) and fold their records.

    ``by_record``: one part per record, every line of the piece folded in (exact when no
    line id comes twice); else one part per distinct identity, so that a superseded line's
    part can be left out (``folder_scan._used``).
    """
    spec = SOURCES[source]
    # What model_validate_json calls, without its Python frame; the line's id and identity
    # fields are read in C: at a million lines, each Python step a line costs a second.
    validate = spec.model.__pydantic_validator__.validate_json
    fast = fast_decoder(spec.model)  # the same answer, five times sooner (fastlines.py)
    line_id, fields, problem = attrgetter(spec.id_field), identity_of(source), spec.problem
    order_of, immutable = spec.order.key, spec.order.immutable
    role = fields.role if fields is not None else ""
    counts_days = source == SourceName.TRANSACTIONS
    piece = Piece()
    ids, parts_of, errors = piece.ids, piece.parts_of, piece.errors
    parts: list[RecordData] = []
    seen: dict[tuple[object, ...], int] = {}
    emails: dict[tuple[object, ...], str | None] = {}  # per identity: its card_email
    slot_of: dict[RecordKey, int] = {}

    owner = partial(owner_key, source, region=region)
    with open(path, "rb") as handle, gc_paused():
        handle.seek(start)
        # Lines end at \n, \r\n or a lone \r, as the gateway reads them (files.py); a
        # piece ends at a \n (``cut``), so no \r\n is cut in two.
        raws = handle.read(end - start).splitlines()
        piece.lines = len(raws)
        for number, raw in enumerate(raws, start=1):
            if not raw or raw.isspace():
                continue
            if too_deep(raw):  # refused as parse_line refuses it (msgspec would take it)
                errors.append((len(ids), number, TOO_DEEP, None))
                continue
            refusal = TOO_LONG if too_long(raw) else too_big(raw) or json_refusal(raw)
            if refusal is not None:  # the same (NaN, 1e400, a key twice: json_flaws.py)
                if (readable := _readable_id(raw, spec.id_field)) is not None:
                    piece.error_ids[len(errors)] = readable  # the answer names the line
                errors.append((len(ids), number, refusal, None))
                continue
            try:
                line = fast(raw)
            except FastLineError:
                try:  # the model itself: it may accept what the fast reader refused
                    line = validate(raw)
                except ValidationError:  # parse_line's slower way says what is wrong
                    refused = parse_line(spec, raw, "", owner)
                    assert isinstance(refused, LineError)
                    if (readable := _readable_id(raw, spec.id_field)) is not None:
                        piece.error_ids[len(errors)] = readable  # the answer names the line
                    errors.append((len(ids), number, refused.message, None))
                    continue
            if problem is not None and (said := problem(line)) is not None:
                piece.error_ids[len(errors)] = str(line_id(line))
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
                    # What record_of_line keeps of the line (an older release's keys of the
                    # e-mail as typed): its fields are the identity, so once per identity.
                    if typed := typed_emails(source, line):
                        parts[slot].typed_keys |= typed_email_keys(typed)
                    seen[identity] = slot
                    if counts_days:
                        emails[identity] = card_email(*described)
            if counts_days:  # a purchase's day: how a till's own card is told (purchase_days.py)
                email = emails[identity] if identity is not None else None
                add_purchase(parts[slot], purchase_day(line), line_id(line), email)
            ids.append(line_id(line))
            parts_of.append(slot)
            if order_of is not None:
                piece.order.append(order_of(line))
            if not by_record:  # the exact pass: where each line is, and what it says (for
                piece.numbers.append(number)  # events all of it; else what breaks a tie)
                piece.digests.append(content_digest(raw) if immutable else version_digest(line))
        piece.parts = [_row(record) for record in parts]
    return piece


def _readable_id(raw: bytes, id_field: str) -> str | None:
    """The id of a line refused for its other fields, when it is JSON with a string id: the
    answer to a bad line then names it, not only its place in the file."""
    try:
        found = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    value = found.get(id_field) if isinstance(found, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def cut(path: Path, size: int) -> list[tuple[int, int]]:
    """Byte ranges of whole lines, about ``size`` bytes each."""
    total = path.stat().st_size
    ranges: list[tuple[int, int]] = []
    with path.open("rb") as handle:
        start = bom_length(handle.read(3))  # a byte order mark is no part of the first line
        while start < total:
            handle.seek(min(start + size, total))
            handle.readline()  # to the end of the line the cut fell in
            end = min(handle.tell(), total)
            ranges.append((start, end))
            start = end
    return ranges


def read_pieces(args: list[tuple[Any, ...]], workers: int) -> list[Piece]:
    """:func:`read_piece` of each task, on ``workers`` processes (one: in this process).

    Each piece's records are built here as it arrives, while the workers read on.
    """
    if workers > 1 and len(args) > 1:
        try:
            with worker_pool(min(workers, len(args))) as pool:
                return [_arrived(p) for p in pool.map(read_piece, *zip(*args, strict=True))]
        except (BrokenProcessPool, OSError) as exc:
            # No worker processes here (a sandbox, a dead worker): the same work in this
            # process, slower; a real error in the data shows up again there.
            logger.warning("reading on one core: worker processes failed (%s)", exc)
    return [_arrived(read_piece(*task)) for task in args]


def _arrived(piece: Piece) -> Piece:
    piece.records, piece.parts = list(map(_record, piece.parts)), []
    return piece

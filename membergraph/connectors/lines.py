"""Source lines: validating one line, and what loading a source found.

Every backend (files, MongoDB, HTTP) reads lines through :func:`parse_line`: a malformed
line is reported with where it came from and skipped, never fatal, never silently dropped.
"""

from __future__ import annotations

import codecs
import json
import math
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import BaseModel, ValidationError

from membergraph.connectors.json_flaws import (
    FlawedLine,
    flawed_lines,
    json_refusal,
    may_repeat,
    not_finite,
    strict_json,
)
from membergraph.connectors.reasons import Reason, public_path, public_reason, validation_reason
from membergraph.connectors.sources import SourceSpec

__all__ = [
    "INVALID_LINE",
    "Held",
    "MAX_LINE_BYTES",
    "MAX_LINE_DEPTH",
    "NOBODY",
    "NO_OWNER",
    "LineError",
    "LoadReport",
    "Notes",
    "Owner",
    "TOO_BIG",
    "TOO_DEEP",
    "TOO_LONG",
    "Ownership",
    "REFUSED",
    "bom_length",
    "utf16_refusal",
    "deeper_than",
    "exact_json",
    "number_flaw",
    "number_too_big",
    "parse_line",
    "too_big",
    "too_deep",
    "too_long",
]

Owner = Callable[[BaseModel], str | None]
"""The key of the record a line belongs to; None: the line has no owner."""
NO_OWNER = "no owner: the line names no customer this source can identify"
NOBODY = ""
"""The owner a good line that identifies no one is kept under (no record has this key):
loads keep such lines (a guest purchase, a purchase kept for the books), no member has them."""
_MAX_REPORTED = 100
MAX_LINE_DEPTH = 100
"""Levels of nesting a line may have (each object or array is one): what MongoDB stores at
most, and well under the 254 that orjson writes into the SQLite store; one rule for every
backend, so a folder, a push and a collection refuse the same lines."""
MAX_LINE_BYTES = 64 * 1024
"""The largest line a source may hold, as JSON text (Segment takes events up to 32 KB). A
line of megabytes (a runaway ``properties``) would be read whole by every lookup of the
store's keyed table that compares against it: one 7 MB event made 2,000 lookups of ids near
it take 37 s, holding the push lock meanwhile (adv7, finding H)."""
INVALID_LINE = "INVALID_LINE"
"""The code of a line refused for what it says (a field missing, a value out of range)."""
TOO_DEEP = f"nested deeper than the {MAX_LINE_DEPTH} levels a line may have"
TOO_LONG = f"longer than the {MAX_LINE_BYTES} bytes a line may have"
TOO_BIG = "holds a number beyond the 64 bits a line may hold (-2^63 to 2^63-1)"
_INT64 = range(-(1 << 63), 1 << 63)
_LONG_DIGITS = re.compile(rb"\d{19,}")
_BOM = codecs.BOM_UTF8
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


@dataclass(frozen=True, slots=True)
class Ownership:
    """An :data:`Owner` that can also say why a good line has none: its only identifier is
    a placeholder (``na@na.com`` typed at a till for a guest), so it belongs to no one.
    Such a line is counted as unattributed, not as malformed.

    Attributes:
        key: the owner function itself.
        unowned: why a line ``key`` finds no owner for is nobody's (None: it is a bad line).
    """

    key: Callable[[BaseModel], str | None]
    unowned: Callable[[BaseModel], str | None]

    def __call__(self, line: BaseModel) -> str | None:
        return self.key(line)


@dataclass(frozen=True, slots=True)
class LineError:
    """Why one line was refused: ``crm.jsonl:12: contact_id: Field required``."""

    where: str
    message: str
    unattributed: bool = False  # a good line that identifies no one, not a bad line
    line: BaseModel | None = None  # that good line: a load keeps it, with no owner
    code: str = INVALID_LINE  # what a client branches on (``UNREADABLE_CONSENT``)

    def __str__(self) -> str:
        return f"{self.where}: {self.message}"

    @property
    def public(self) -> str:
        """Where and why, without the line's values (:func:`.reasons.public_reason`): what
        ``/readyz`` and the log say."""
        return f"{self.where}: {public_reason(self.message)}"


REFUSED: ContextVar[Callable[[LineError], None] | None] = ContextVar("refused", default=None)
"""Given every malformed line a report refuses, while set (``membergraph load --rejected
FILE`` writes each one's whole reason there)."""

Notes = Callable[[BaseModel], list[tuple[str, str]]]
"""What a reader notes of a line it takes: each identifier value left out of it, as its
kind's name (``phone``) and why (``phones[0] left out: 'abc' is not a phone number``)."""


@dataclass(slots=True)
class LoadReport:
    """What reading a source file found: ``unattributed`` counts the good lines that
    identify no one, by reason (``placeholder e-mail na@na.com``); ``left_out`` counts the
    identifier values left out of the lines taken, by kind, and ``notes`` says the first of
    them with where they are (``crm.jsonl:4: phones[0] left out: ...``)."""

    lines: int = 0
    accepted: int = 0
    malformed: int = 0
    errors: list[LineError] = field(default_factory=list)
    unattributed: dict[str, int] = field(default_factory=dict)
    left_out: dict[str, int] = field(default_factory=dict)
    notes: list[LineError] = field(default_factory=list)

    def refuse(self, error: LineError) -> None:
        if error.unattributed:
            self.count_unattributed(error.message)
            return
        if (keep := REFUSED.get()) is not None:
            keep(error)  # every one, where a report keeps the first hundred
        self.malformed += 1
        if len(self.errors) < _MAX_REPORTED:
            self.errors.append(error)

    def count_unattributed(self, reason: str) -> None:
        self.unattributed[reason] = self.unattributed.get(reason, 0) + 1

    def note(self, where: str, found: list[tuple[str, str]]) -> None:
        """Count the values ``found`` left out of the line at ``where`` (:data:`Notes`)."""
        for kind, why in found:
            self.left_out[kind] = self.left_out.get(kind, 0) + 1
            if len(self.notes) < _MAX_REPORTED:
                self.notes.append(LineError(where, why))


@dataclass(frozen=True, slots=True)
class Held:
    """A source's figures as its backend holds them, the same for every process that reads
    them (``/readyz``): its lines, those that identify no one (loaded or pushed), and what
    its last folder load found (None: only the process that read the source knows)."""

    lines: int
    unattributed: int
    report: LoadReport | None = None


def deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than ``limit`` levels (a walk, not a recursion)."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def number_flaw(value: Any, floats: bool = True) -> str | None:
    """Why a decoded line's number is refused, naming where (``amount_cents``,
    ``properties.ids.2``; the first in field order): an integer outside 64 bits, and with
    ``floats`` a float that is not finite (a MongoDB document's NaN: BSON holds one, JSON
    does not); None if none is (a walk)."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            children = [(v, f"{path}.{k}" if path else str(k)) for k, v in node.items()]
        elif isinstance(node, list):
            children = [(v, f"{path}.{i}" if path else str(i)) for i, v in enumerate(node)]
        else:
            if isinstance(node, int) and not isinstance(node, bool) and node not in _INT64:
                return number_too_big(path or "line")
            if floats and isinstance(node, float) and not math.isfinite(node):
                return not_finite(path or "line", node)
            continue
        stack.extend(reversed(children))  # the first field is looked at first
    return None


def number_too_big(path: str) -> str:
    """The refusal of a line holding an integer beyond 64 bits at ``path``, as every reader
    and both bodies of ``POST /ingest`` (JSON Lines, a JSON array) say it; its public form
    names the line's own keys on the path as ``*``."""
    return Reason(f"{path}: {TOO_BIG}", f"{public_path(path.split('.'))}: {TOO_BIG}")


def exact_json(text: bytes) -> Any:
    """JSON text decoded with every integer exact: orjson reads one beyond 64 bits as a
    float (2^70 became 1.18e21: a JSON array of lines took an unknown field's 128-bit id
    as a rounded float, and refused an amount with pydantic's words), the standard parser
    keeps every digit. Only text with a run of 19 digits or more can hold one; other text
    is decoded by orjson alone, unless it holds what a line must not (``NaN``, ``1e400``, a
    key named twice: :mod:`~membergraph.connectors.json_flaws`): then, an array, each of
    its items holding one is a :class:`FlawedLine`, refused as a line.

    Raises:
        orjson.JSONDecodeError: the text is no JSON, as orjson says.
    """
    try:
        decoded = orjson.loads(text)  # validates: UTF-8, no NaN, no lone surrogate
    except orjson.JSONDecodeError as exc:
        try:
            decoded = strict_json(text)  # NaN, 1e400: each item that holds one refused
        except (ValueError, RecursionError):
            raise exc from None
    else:
        if not _LONG_DIGITS.search(text) and not may_repeat(text, decoded):
            return decoded
        try:
            decoded = strict_json(text)
        except RecursionError:  # (nested past the standard parser's reach: refused later)
            return decoded
    return flawed_lines(decoded) if isinstance(decoded, list) else decoded


def utf16_refusal(head: bytes, what: str) -> str | None:
    """Why a text starting with ``head`` is not read, when it starts with a UTF-16 byte order
    mark (Windows PowerShell 5's ``>`` and ``Out-File`` write UTF-16 by default): read as
    UTF-8, its first line was "not UTF-8" and every other line "not JSON", one more bad line
    than it holds (the last newline's second byte), whatever the lines said. ``what``: the
    file or body, as the refusal names it. None: no such mark."""
    if not head.startswith(_UTF16_BOMS):
        return None
    return (
        f"{what} is UTF-16 (it starts with a UTF-16 byte order mark); lines are JSON in UTF-8:"
        " convert it (iconv -f UTF-16 -t UTF-8, or PowerShell's Out-File -Encoding utf8)"
    )


def bom_length(head: bytes) -> int:
    """How many bytes of UTF-8 byte order mark a source text starts with (0 or 3): where its
    first line begins.

    Windows tools write one at the start of a UTF-8 file (PowerShell 5's ``Out-File -Encoding
    utf8``, Excel's "CSV UTF-8" habit carried to JSON Lines), and RFC 8259 lets a reader
    ignore it; read as part of the first line, it made that line a bad one. Every reader of a
    source file or a pushed body skips it here, at the very start only: a mark inside the
    text (two files glued together) is still a bad line, said where it is.

    Example:
        >>> bom_length(b'\\xef\\xbb\\xbf{"contact_id": "C1"}')
        3
    """
    return len(_BOM) if head.startswith(_BOM) else 0


def too_long(raw: bytes | str) -> bool:
    """Whether a line of JSON text is longer than :data:`MAX_LINE_BYTES`."""
    if isinstance(raw, str) and len(raw) * 4 <= MAX_LINE_BYTES:
        return False  # no character is more than four bytes in UTF-8
    return len(raw if isinstance(raw, bytes) else raw.encode()) > MAX_LINE_BYTES


def too_big(raw: bytes | str) -> str | None:
    """The refusal (:func:`number_too_big`, naming the field) of a line of JSON text holding
    an integer beyond 64 bits: anywhere, an unknown field or an event's properties too (a CRM
    exporting 128-bit ids as numbers); None if it holds none. Kept, such a line would make
    every answer that carries it fail to encode: the member unreadable."""
    # Such a number has 19 digits at least: most lines are spared the decoding.
    if not _LONG_DIGITS.search(raw.encode() if isinstance(raw, str) else raw):
        return None
    try:
        return number_flaw(json.loads(raw), floats=False)  # (it keeps every digit)
    except ValueError:
        return None


def _may_be_too_deep(raw: bytes | str) -> bool:
    # A line cannot nest deeper than it has brackets: counting them (in C) spares the walk
    # for nearly every line.
    if isinstance(raw, str):
        return raw.count("{") + raw.count("[") > MAX_LINE_DEPTH
    return raw.count(b"{") + raw.count(b"[") > MAX_LINE_DEPTH


def too_deep(raw: bytes | str) -> bool:
    """Whether a line of JSON text nests deeper than :data:`MAX_LINE_DEPTH` (False for text
    that is not JSON: its parser says what is wrong with it)."""
    if not _may_be_too_deep(raw):
        return False
    try:
        return deeper_than(orjson.loads(raw), MAX_LINE_DEPTH)
    except orjson.JSONDecodeError:
        return False


def _not_json(exc: orjson.JSONDecodeError) -> str:
    """What is wrong with a line that is not JSON, and where in it: the line is one line of
    its file, so its column (orjson's own "line 2 column 1" read as a second line number when
    the text ended in its newline)."""
    return f"not JSON: {exc.msg} at column {exc.pos + 1}"


def parse_line(
    spec: SourceSpec, raw: bytes | Any, where: str, owner: Owner
) -> tuple[BaseModel, str] | LineError:
    """Validate one line (JSON text as bytes, or an already decoded value) of a source; one
    longer than :data:`MAX_LINE_BYTES` is refused (every lookup near it would read it whole),
    one nested deeper than :data:`MAX_LINE_DEPTH` too (no backend could store it), and one
    holding an integer beyond 64 bits (no answer could carry it). A ``str`` is a decoded
    value (an item ``"x"`` of a JSON array), never text to parse: it is no object."""
    if isinstance(raw, bytes) and too_deep(raw):
        return LineError(where, TOO_DEEP)
    if isinstance(raw, bytes) and too_long(raw):
        return LineError(where, TOO_LONG)
    if isinstance(raw, bytes) and (big := too_big(raw)) is not None:
        return LineError(where, big)
    if isinstance(raw, bytes) and (flawed := json_refusal(raw)) is not None:
        return LineError(where, flawed)  # NaN, 1e400, a key named twice (json_flaws.py)
    if isinstance(raw, FlawedLine):  # the same, in a decoded array's item
        return LineError(where, raw.message)
    if isinstance(raw, bytes):
        try:
            # Straight from JSON text: a third faster than decoding to a dict first.
            line = spec.model.model_validate_json(raw)
        except ValidationError:
            pass  # the slow path below says precisely what is wrong
        else:
            return _owned(spec, line, where, owner)
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            return LineError(where, _not_utf8(raw) or _not_json(exc))
    if not isinstance(raw, dict):
        return LineError(where, f"expected a JSON object, got {type(raw).__name__}")
    if deeper_than(raw, MAX_LINE_DEPTH):
        return LineError(where, TOO_DEEP)
    if (flaw := number_flaw(raw)) is not None:
        return LineError(where, flaw)
    if len(orjson.dumps(raw, default=str)) > MAX_LINE_BYTES:  # a JSON array item, a document
        return LineError(where, TOO_LONG)
    try:
        line = spec.model.model_validate(raw)
    except ValidationError as exc:
        return LineError(where, validation_reason(exc))
    return _owned(spec, line, where, owner)


def _not_utf8(raw: bytes | str) -> str | None:
    """Where bytes are not UTF-8 (orjson says only "surrogates not allowed", at column 1)."""
    if isinstance(raw, str):
        return None
    try:
        raw.decode()
    except UnicodeDecodeError as exc:
        return (
            f"not UTF-8: byte 0x{raw[exc.start]:02X} at byte {exc.start + 1} (a line is JSON in"
            " UTF-8: convert a file saved as Latin-1, Windows-1252 or UTF-16)"
        )
    return None


def _owned(
    spec: SourceSpec, line: BaseModel, where: str, owner: Owner
) -> tuple[BaseModel, str] | LineError:
    problem = spec.problem(line) if spec.problem is not None else None
    if problem is not None:
        return LineError(where, problem, code=getattr(problem, "code", INVALID_LINE))
    key = owner(line)
    if key is None:
        why = owner.unowned(line) if isinstance(owner, Ownership) else None
        if why is None:
            return LineError(where, NO_OWNER)
        return LineError(where, why, unattributed=True, line=line)
    return line, key

"""JSON that parsers take but a line must not hold: ``NaN`` and ``Infinity`` (not JSON at
all), a number beyond a double (``1e400``), and a key named twice in one object.

Every parser on a line's way takes them without a word: pydantic's and Python's read
``NaN`` and ``1e400`` as floats (stored, they became ``null``: the line was answered
``created`` with a value it never had), and every parser, orjson and msgspec too, keeps the
last of two values under one key (a line naming ``transaction_id`` twice was taken under
the second, the first silently dropped). A line holding one is refused, naming the field
and why (user30 8b, 8c), on every path: a push, a folder's load, an HTTP source's answer.

The screen costs about a microsecond a line, so loads of a million lines run it on every
line: orjson decodes the line and writes it back, and the colons of both are counted.
Outside strings a colon only follows a key, and a string's colons come back as they were
(unless one was written ``\\u003a``), so a line with fewer colons written back lost a key
named twice. Only lines that fail that screen, or that orjson refuses (``NaN``, ``1e400``,
or no JSON at all), are decoded again by the standard parser, which says where.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

import orjson

from membergraph.connectors.reasons import HIDDEN, Reason, public_path

__all__ = [
    "FlawedLine",
    "flaw_of",
    "flawed_lines",
    "json_refusal",
    "may_repeat",
    "not_finite",
    "strict_json",
]

_ESCAPED = b"\\u003"  # (``\u003a`` is a colon: such a line takes the exact way)
_TWICE = "named twice in one object (a key comes once: which value to take is no guess to make)"
_NOT_JSON = "is not JSON (a number is finite: write null, or leave the field out)"
_BEYOND = "is beyond the largest number a line may hold (a double's, about 1.8e308)"


class _Constant(str):
    """Where a line wrote ``NaN``, ``Infinity`` or ``-Infinity``."""

    __slots__ = ()


class _Overflow(str):
    """Where a line wrote a number beyond a double, as written (``1e400``)."""

    __slots__ = ()


class _Repeated(dict[str, Any]):
    """An object that named a key twice (its last value kept, as every parser keeps it)."""

    repeated: str = ""


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) == len(pairs):
        return found
    marked, seen = _Repeated(found), set()
    for key, _ in pairs:
        if key in seen:
            marked.repeated = key  # the first key named a second time
            break
        seen.add(key)
    return marked


def _float(text: str) -> Any:
    number = float(text)
    return _Overflow(text) if math.isinf(number) else number


def strict_json(text: bytes | str) -> Any:
    """``text`` decoded by the standard parser (every integer's digits kept), its flaws
    marked where they are for :func:`flaw_of` to say.

    Raises:
        ValueError: the text is no JSON even so.
    """
    return json.loads(text, object_pairs_hook=_pairs, parse_constant=_Constant, parse_float=_float)


def not_finite(path: str, number: float | str) -> str:
    """The refusal of a line holding ``number``, not finite, at ``path`` (``"line"``: the
    line itself): JSON text's ``NaN`` (a word), or a MongoDB document's (a float: BSON holds
    one, JSON none)."""
    word = number if isinstance(number, str) else "NaN" if math.isnan(number) else "Infinity"
    word = "-Infinity" if isinstance(number, float) and number < 0 else word
    shown = public_path(path.split(".")) if path != "line" else path
    return Reason(f"{path}: {word} {_NOT_JSON}", f"{shown}: {word} {_NOT_JSON}")


def flaw_of(value: Any) -> str | None:
    """What is wrong with a value :func:`strict_json` decoded, naming where (the first, in
    field order): ``amount: NaN is not JSON ...``; None: nothing."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            if isinstance(node, _Repeated):
                key = f"{path}.{node.repeated}" if path else node.repeated
                return Reason(f"{key}: {_TWICE}", f"{public_path(key.split('.'))}: {_TWICE}")
            children = [(v, f"{path}.{k}" if path else str(k)) for k, v in node.items()]
        elif isinstance(node, list):
            children = [(v, f"{path}.{i}" if path else str(i)) for i, v in enumerate(node)]
        else:
            # Said without the line's own keys on the path, nor a number's digits (a
            # reason's public form: /readyz and the log, connectors/reasons.py).
            shown = public_path(path.split(".")) if path else "line"
            if isinstance(node, _Constant):  # (NaN, Infinity: JSON's words, no value)
                return not_finite(path or "line", str(node))
            if isinstance(node, _Overflow):
                return Reason(f"{path or 'line'}: {node} {_BEYOND}", f"{shown}: {HIDDEN} {_BEYOND}")
            continue
        stack.extend(reversed(children))  # the first field is looked at first
    return None


@dataclass(frozen=True, slots=True)
class FlawedLine:
    """An item of a decoded array of lines (a pushed JSON array, an HTTP source's answer)
    holding a flaw: refused as a line (``parse_line``), the flaw named."""

    message: str


def flawed_lines(items: list[Any]) -> list[Any]:
    """``items`` (decoded by :func:`strict_json`), each holding a flaw a :class:`FlawedLine`."""
    return [FlawedLine(said) if (said := flaw_of(item)) is not None else item for item in items]


def may_repeat(raw: bytes, decoded: Any) -> bool:
    """Whether JSON text orjson decoded to ``decoded`` may have named a key twice (the
    colons' screen of the module's doc)."""
    try:
        written = orjson.dumps(decoded)
    except orjson.JSONEncodeError:
        return True  # (nothing JSON decodes fails here; were it to, the exact way)
    return _ESCAPED in raw or raw.count(b":") != written.count(b":")


def json_refusal(raw: bytes) -> str | None:
    """Why a line of JSON text is refused for a flaw of :mod:`this module <json_flaws>`,
    naming the field; None: it has none (or it is no JSON at all, which its reader says)."""
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        pass  # NaN, 1e400, or no JSON: the exact way says which
    else:
        if not may_repeat(raw, decoded):
            return None
    try:
        return flaw_of(strict_json(raw))
    except (ValueError, RecursionError):
        return None

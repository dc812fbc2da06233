"""JSON for answers: orjson, and the standard encoder for what orjson cannot carry.

orjson refuses an integer beyond 64 bits (``TypeError: Integer exceeds 64-bit range``).
Lines holding one are refused on the way in, but a store may hold one taken before that
rule: without a fallback, every answer carrying that line (a member's web activity, her
export) would be a 500, whatever the client asked. JSON itself has no bound on a number,
so the standard encoder writes it exactly; the cost is paid only by such an answer.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

import orjson

__all__ = ["dumps"]


def dumps(value: Any, *, indent: bool = False) -> bytes:
    """``value`` as JSON bytes (orjson's rendering), also when it holds a huge integer."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else None)
    except TypeError as exc:
        if "64-bit" not in str(exc):
            raise
    text = json.dumps(
        value,
        default=_default,
        ensure_ascii=False,
        allow_nan=False,
        indent=2 if indent else None,
        separators=None if indent else (",", ":"),
    )
    return text.encode()


def _default(value: Any) -> Any:
    # What orjson renders natively and the standard encoder does not.
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    raise TypeError(f"{type(value).__name__} is not JSON")

"""Why a line was refused, as anyone may read it: ``/readyz`` (which asks no credentials)
and the log at WARNING.

A reason is written for the line's sender (a push's answer, ``membergraph load
--rejected``), who holds the line: it may quote the line's values, and it quotes each one
with ``repr`` (``currency: Value error, 'Jane Secret' is no ISO 4217 currency code``). Its
public form (:func:`public_reason`) says what was wrong, the field and the rule, without
any value: each quoted value is ``***``, and a field path names a line's own keys (an
unknown ``consents`` key, an event's ``properties``) as ``*``. A number of the rule (a
limit such as 2147483647) is the rule's, never masked.
"""

from __future__ import annotations

import re
import types
import typing
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

__all__ = ["HIDDEN", "Reason", "unquoted", "public_path", "public_reason", "validation_reason"]

HIDDEN = "***"
_QUOTED = re.compile(r"""'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*\"""")
"""A value as ``repr`` quotes it (either quote, escapes inside)."""
_UNSAID_TYPES = frozenset(
    ("union_tag_invalid", "get_attribute_error", "iteration_error", "mapping_type")
)
"""Pydantic's errors whose message may carry the input (a union's tag, a foreign error)."""
_OWN_TYPES = frozenset(("value_error", "assertion_error"))
"""Errors our validators raise: their text quotes values as every reason does."""
_TYPE_TAGS = frozenset(("str", "int", "float", "bool", "none", "list", "dict"))
"""Where pydantic names a union's member in a path (``ids.str``)."""


class Reason(str):
    """A reason whose public form is not its text with the quoted values taken out (a
    pydantic message quotes the rule's own values: ``Input should be 'completed' or
    'refunded'``). Pickled whole (a folder's pieces are read in other processes)."""

    __slots__ = ("public",)
    public: str

    def __new__(cls, text: str, public: str) -> Reason:
        reason = super().__new__(cls, text)
        reason.public = public
        return reason

    def __reduce__(self) -> tuple[Any, tuple[str, str]]:
        return Reason, (str(self), self.public)


def unquoted(value: str, rule: str) -> Reason:
    """``value rule`` (a date as ISO writes it), its public form ``*** rule``."""
    return Reason(f"{value} {rule}", f"{HIDDEN} {rule}")


def public_reason(text: str) -> str:
    """``text`` without the line's values (module docstring).

    Example:
        >>> public_reason("currency: Value error, 'Jane Secret' is no ISO 4217 currency code")
        'currency: Value error, *** is no ISO 4217 currency code'
    """
    public = getattr(text, "public", None)
    return public if isinstance(public, str) else _QUOTED.sub(HIDDEN, str(text))


@cache
def _field_names() -> frozenset[str]:
    """Every field name (and alias) of the source lines' models, nested models too."""
    from membergraph.connectors.sources import SOURCES  # (sources import the line readers)

    names: set[str] = set()
    seen: set[type[BaseModel]] = set()
    todo: list[type[BaseModel]] = [spec.model for spec in SOURCES.values()]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            names.add(name)
            if info.alias:
                names.add(info.alias)
            todo.extend(_models_in(info.annotation))
    return frozenset(names)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is not None:
        return [m for arg in typing.get_args(annotation) for m in _models_in(arg)]
    return []


def public_path(parts: tuple[int | str, ...] | list[str]) -> str:
    """A field path (``properties.ids.2``) with each part that is no field of a line's
    model (a key the line chose: ``consents``' unknown ones, ``properties``') as ``*``."""
    names = _field_names()
    shown = [
        p if isinstance(p, int) or p in names or p in _TYPE_TAGS or p.isdigit() else "*"
        for p in parts
    ]
    return ".".join(str(p) for p in shown) or "line"


def validation_reason(exc: ValidationError) -> Reason:
    """What pydantic found wrong with a line (``field: message``, ``; ``-separated), with
    its public form: pydantic's own messages name the rule, not the input (those few that
    may are said by their kind); our validators' are masked as every reason is."""
    said, public = [], []
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        said.append(f"{'.'.join(str(p) for p in loc) or 'line'}: {error['msg']}")
        kind = error["type"]
        if kind in _OWN_TYPES:
            raised = error.get("ctx", {}).get("error")
            said_so = raised.args[0] if isinstance(raised, Exception) and raised.args else None
            own = said_so.public if isinstance(said_so, Reason) else None
            message = public_reason(error["msg"]) if own is None else f"Value error, {own}"
        elif kind in _UNSAID_TYPES:
            message = f"not valid here ({kind})"
        else:
            message = error["msg"]
        public.append(f"{public_path(tuple(loc))}: {message}")
    return Reason("; ".join(said), "; ".join(public))

"""A fast first reader for source lines, derived from their pydantic models.

``membergraph resolve`` validates a million lines; pydantic takes about 9 µs a line here,
msgspec about 1.5 µs (measured on ``transactions.jsonl``). The line models stay the one
truth: :func:`fast_decoder` builds a msgspec ``Struct`` from a model, field by field, and
refuses (``NotImplementedError``) any type, constraint or validator it cannot copy exactly.
What it cannot copy must not be guessed at.

The fast reader is only a first try. msgspec is stricter than pydantic's lax mode (no
``"12"`` for an int, no ``"2024-01-01"`` for a datetime), so a line it refuses goes to the
model, which accepts it or says precisely what is wrong. A line it accepts, the model
accepts too, with the same values; ``tests/connectors/test_fastlines.py`` checks both on
generated lines. Timestamps may differ in the 7th fractional digit (msgspec rounds, pydantic
truncates): batch resolution never reads them, which is why only it uses this reader.
"""

from __future__ import annotations

import keyword
import types
import typing
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from typing import Annotated, Any, Literal

import annotated_types
import msgspec
from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from membergraph.connectors.models import NOT_BOOL, WHOLE

__all__ = ["FastLineError", "fast_converter", "fast_decoder"]

FastLineError = msgspec.DecodeError
"""What a fast decoder raises for a line it does not accept (its ``ValidationError`` too)."""

Check = tuple[str, Callable[[Any], Any], bool]  # field, after-validator, whether run on None

_PLAIN = (str, int, float, bool, date, datetime, Any)
_BOUNDS = {
    annotated_types.Ge: "ge",
    annotated_types.Gt: "gt",
    annotated_types.Le: "le",
    annotated_types.Lt: "lt",
}


@cache
def fast_decoder(model: type[BaseModel]) -> Callable[[bytes], Any]:
    """A function from a JSON line to an object with ``model``'s fields and values.

    It raises :data:`FastLineError` for any line the model would refuse, and for some lines
    the model accepts after coercion: ask the model about those.
    """
    return msgspec.json.Decoder(_struct(model)).decode


@cache
def fast_converter(model: type[BaseModel]) -> Callable[[Any], Any]:
    """As :func:`fast_decoder`, from an already decoded object (a MongoDB document: its
    fields, times as ISO text, unknown fields such as ``_id`` ignored)."""
    struct = _struct(model)
    return lambda obj: msgspec.convert(obj, struct)


@cache
def _struct(model: type[BaseModel]) -> type[msgspec.Struct]:
    config = model.model_config
    lax = not (config.get("strict") or config.get("str_strip_whitespace"))
    if not lax or config.get("extra") not in {"allow", "ignore", None}:
        raise NotImplementedError(f"{model.__name__}: model_config {config} has no fast copy")
    found = model.__pydantic_decorators__
    if any(
        [found.validators, found.field_validators, found.root_validators, found.model_validators]
    ):
        raise NotImplementedError(f"{model.__name__}: validator methods have no fast copy")
    fields: list[tuple[str, Any, Any]] = []
    checks: list[Check] = []
    for name, info in model.model_fields.items():
        field, field_checks = _field(name, info, f"{model.__name__}.{name}")
        fields.append(field)
        checks += field_checks
    namespace = {"__post_init__": _after(tuple(checks))} if checks else {}
    # Unknown fields are ignored, as ``extra="allow"`` keeps them unread; a model whose
    # unknown fields get its line refused (``unknown_refused``) has them refused here, so
    # the model, which keeps them, says why.
    refused = bool(getattr(model, "unknown_refused", False))
    return msgspec.defstruct(
        f"Fast{model.__name__}",
        fields,
        kw_only=True,
        namespace=namespace,
        forbid_unknown_fields=refused,
    )


def _field(name: str, info: FieldInfo, where: str) -> tuple[tuple[str, Any, Any], list[Check]]:
    """A struct field for a model field, and the after-validators to run on its value."""
    if info.alias or info.validation_alias:
        raise NotImplementedError(f"{where}: aliases have no fast copy")
    kind, inner = _field_type(info.annotation, where)
    kind, outer = _annotated(kind, info.metadata, where)
    # As pydantic: the type's own validators first (on a value, not on None), then the
    # field's (on whatever the field holds). Pydantic leaves a default unvalidated, and a
    # decoded struct cannot tell a default from a value: no validator may meet a default.
    checks = [(name, check, False) for check in inner] + [(name, check, True) for check in outer]
    factory = info.default_factory
    if factory is not None:
        if checks or info.default_factory_takes_validated_data:
            raise NotImplementedError(f"{where}: this default factory has no fast copy")
        made = typing.cast(Callable[[], Any], factory)
        return (name, kind, msgspec.field(default_factory=made)), checks
    if info.default is PydanticUndefined:
        return (name, kind, msgspec.NODEFAULT), checks
    if (outer or (inner and info.default is not None)) and not _kept(checks, info.default):
        raise NotImplementedError(f"{where}: a validated default has no fast copy")
    return (name, kind, info.default), checks


def _kept(checks: list[Check], default: Any) -> bool:
    """The checks take the default as it is (``"USD"`` for a currency): running them on it,
    as the struct will, gives what pydantic gives by leaving it unvalidated."""
    value = default
    try:
        for _, check, on_none in checks:
            if value is not None or on_none:
                value = check(value)
    except (ValueError, TypeError):
        return False
    return bool(value == default and type(value) is type(default))


def _after(checks: tuple[Check, ...]) -> Callable[[Any], None]:
    """A ``__post_init__`` running the checks, written out one statement each (msgspec turns
    a ValueError or TypeError raised there into its ValidationError). The checks of a
    purchase or a web event took 1.5 to 2 µs a line in a loop, 0.9 to 1.1 written out."""
    lines, scope = ["def __post_init__(self):"], {}
    for n, (name, check, on_none) in enumerate(checks):
        if not name.isidentifier() or keyword.iskeyword(name):  # never named in code
            raise NotImplementedError(f"field {name!r} has no fast copy")
        scope[f"check{n}"] = check
        if on_none:
            lines.append(f"    self.{name} = check{n}(self.{name})")
        else:  # one inside ``X | None`` runs on X only
            lines += [
                f"    if self.{name} is not None:",
                f"        self.{name} = check{n}(self.{name})",
            ]
    exec("\n".join(lines), scope)  # noqa: S102 - the code is ours, the names are fields
    return typing.cast(Callable[[Any], None], scope["__post_init__"])


def _field_type(annotation: Any, where: str) -> tuple[Any, list[Callable[[Any], Any]]]:
    """The msgspec type of a field, and the after-validators of its non-null value."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in args if arg is not type(None)]
        if len(members) != 1 or len(args) != 2:
            raise NotImplementedError(f"{where}: only X | None has a fast copy")
        kind, checks = _field_type(members[0], where)
        return kind | None, checks
    if origin is Annotated:
        kind, inner = _field_type(args[0], where)
        kind, outer = _annotated(kind, args[1:], where)
        return kind, [*inner, *outer]
    return _plain(annotation, where), []


def _annotated(
    kind: Any, metadata: typing.Sequence[Any], where: str
) -> tuple[Any, list[Callable[[Any], Any]]]:
    bounds: dict[str, Any] = {}
    checks: list[Callable[[Any], Any]] = []
    for item in metadata:
        if isinstance(item, AfterValidator):
            checks.append(item.func)  # type: ignore[arg-type]
        elif isinstance(item, FieldInfo) and item.is_required():  # Field(ge=..., le=...)
            bounds |= _bounds(item.metadata, where)
        elif item is NOT_BOOL or item is WHOLE:
            continue  # msgspec never reads a boolean, nor any text, as a number
        elif type(item) in _BOUNDS:
            bounds |= _bounds([item], where)
        else:
            raise NotImplementedError(f"{where}: {item!r} has no fast copy")
    if bounds:
        kind = Annotated[kind, msgspec.Meta(**bounds)]
    return kind, checks


def _bounds(metadata: typing.Sequence[Any], where: str) -> dict[str, Any]:
    found = {}
    for item in metadata:
        name = _BOUNDS.get(type(item))
        if name is None:
            raise NotImplementedError(f"{where}: {item!r} has no fast copy")
        found[name] = getattr(item, name)
    return found


def _plain(annotation: Any, where: str) -> Any:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if annotation in _PLAIN:
        return annotation
    if origin is Literal and all(isinstance(arg, str) for arg in args):
        return annotation
    if origin is list:
        return list[_plain(args[0], where)]  # type: ignore[misc]
    if origin is dict and args[0] is str:
        return dict[str, _plain(args[1], where)]  # type: ignore[misc]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _struct(annotation)
    raise NotImplementedError(f"{where}: {annotation!r} has no fast copy")

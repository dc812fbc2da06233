"""Strawberry's resolver of a planned field, with what Strawberry works out on every call
worked out once, for the plan (``compiled.py``).

Strawberry wraps a field that has a resolver in layers it runs on every call: an ``Info``
built, the arguments converted (their annotations walked again, a module imported), each
extension's ``map_arguments``, the resolver's reserved parameters (self, root, parent,
info) looked up, the extensions chained anew with ``reduce`` and ``partial``, the result
awaited through ``await_maybe``. For a field without an exception handler, whose extensions
do not map arguments and whose arguments take none of the reserved names,
:func:`direct_resolver` builds the same chain of the same extensions once; a call builds
the ``Info``, converts the arguments (once and for all where the document writes them as
literals that convert to plain values: strings, numbers, booleans, enum members) and calls
the chain. The resolver, the extensions (permissions, masking, the member scope) and what
they are given are Strawberry's own.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from functools import partial, reduce
from typing import Any

from strawberry.extensions.field_extension import FieldExtension, build_field_extension_resolvers
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.arguments import convert_arguments
from strawberry.types.field import StrawberryField

__all__ = ["direct_resolver"]

_PLAIN = (str, int, float, bool, type(None), Enum)


def direct_resolver(
    field: StrawberryField, converter: GraphQLCoreConverter, literal: dict[str, Any] | None
) -> Callable[..., Any] | None:
    """What Strawberry's resolver of ``field`` answers, as graphql-core calls it
    (``resolve(source, info, **arguments)``); ``literal``: the field's arguments as
    graphql-core coerced them once (None: read per request). None: Strawberry's own
    resolver is called (a field this does not do)."""
    resolver = field.base_resolver
    handlers = getattr(converter, "_get_field_exception_handlers", None)
    if resolver is None or field.is_subscription or handlers is None or handlers(field):
        return None
    if any(type(e).map_arguments is not FieldExtension.map_arguments for e in field.extensions):
        return None
    reserved = [
        resolver.self_parameter,
        resolver.parent_parameter,
        resolver.root_parameter,
        resolver.info_parameter,
    ]
    names = {p.name for p in reserved if p is not None} | {"info"}
    if any(argument.python_name in names for argument in field.arguments):
        return None
    takes_self = resolver.self_parameter is not None
    sources = [p.name for p in (resolver.parent_parameter, resolver.root_parameter) if p]
    info_name = resolver.info_parameter.name if resolver.info_parameter else None
    # Strawberry hands an ``info`` keyword past the extensions and back to the resolver.
    passed_on = info_name == "info"

    def result(source: Any, info: Any, **kwargs: Any) -> Any:
        if passed_on:
            kwargs["info"] = info
        return field.get_result(
            source, info=info, args=[source] if takes_self else [], kwargs=kwargs
        )

    chained: Callable[..., Any] = reduce(
        lambda inner, outer: partial(outer, inner), build_field_extension_resolvers(field), result
    )
    info_class, config = converter.config.info_class, converter.config
    registry, arguments = converter.scalar_registry, field.arguments
    fixed = _converted_once(literal, field, converter)

    def resolve(source: Any, info: Any, **kwargs: Any) -> Any:
        strawberry_info = info_class(_raw_info=info, _field=field)
        if fixed is not None:
            field_kwargs = dict(fixed)
        else:
            field_kwargs = convert_arguments(
                kwargs, arguments, scalar_registry=registry, config=config, info=strawberry_info
            )
        for name in sources:
            field_kwargs[name] = source
        if info_name is not None and not passed_on:
            field_kwargs[info_name] = strawberry_info
        return chained(source, strawberry_info, **field_kwargs)

    return resolve


def _converted_once(
    literal: dict[str, Any] | None, field: StrawberryField, converter: GraphQLCoreConverter
) -> dict[str, Any] | None:
    """The literal arguments as Strawberry converts them, when every value is a plain one
    that no resolver can change for the next request (None: converted per call)."""
    if literal is None:
        return None
    try:
        converted = convert_arguments(
            literal,
            field.arguments,
            scalar_registry=converter.scalar_registry,
            config=converter.config,
            info=None,
        )
    except Exception:  # converted per call, where the executor says what is wrong
        return None
    return converted if all(isinstance(v, _PLAIN) for v in converted.values()) else None

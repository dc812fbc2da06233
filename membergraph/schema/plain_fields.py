"""Fields that read an attribute (and mask or audit it), resolved without Strawberry's wrapping.

Strawberry resolves a field without a resolver through its own layers: for a "basic" field
(no extension) four calls to reach ``getattr``; for a field with a field extension, an
``Info`` built, the (absent) arguments converted and the extensions chained again on every
call, several times the work of reading the attribute and masking it. A profile answers
some forty such fields. For a field with no resolver, no arguments and no extension but our
own (:class:`MaskPII`, :class:`MemberScope`), the resolver is built once, with the schema:
Strawberry's default resolver (``getattr`` of the Python name) and the same extensions in
the same order (the first listed innermost, as Strawberry chains them), given graphql-core's
``info`` (they read its ``context``, ``path`` and ``field_name``: the same as Strawberry's).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from graphql import GraphQLObjectType, GraphQLSchema
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from membergraph.schema.permissions import MaskPII
from membergraph.schema.privacy import MemberScope

__all__ = ["resolve_plain_fields"]

_OURS = (MaskPII, MemberScope)


def resolve_plain_fields(schema: GraphQLSchema) -> int:
    """Gives every plain field of ``schema`` a resolver built once (module doc); answers how
    many fields it changed."""
    changed = 0
    for named in schema.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named.name.startswith("__"):
            continue
        for graphql_field in named.fields.values():
            field = (graphql_field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
            if isinstance(field, StrawberryField) and _plain(field):
                graphql_field.resolve = _resolver(field)
                changed += 1
    return changed


def _plain(field: StrawberryField) -> bool:
    return (
        field.base_resolver is None
        and not field.arguments
        and not field.is_subscription
        and all(type(e) in _OURS for e in field.extensions)
    )


def _resolver(field: StrawberryField) -> Callable[..., Any]:
    read, name = field.default_resolver, field.python_name

    def value(source: Any, info: Any) -> Any:
        return read(source, name)

    resolve: Callable[..., Any] = value
    for extension in field.extensions:
        resolve = partial(extension.resolve, resolve)
    return resolve

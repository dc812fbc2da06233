"""A planned document's variables, coerced as graphql-core coerces them, without its
per-request work where the values need none.

A plan takes variables of type ``String``, ``ID`` and ``Boolean`` only (``compiled.py``).
graphql-core coerces them on every request: each definition's type looked up from its AST
again, then each value through the type's ``parse_value``, which answers a ``str`` given
for a ``String`` or an ``ID``, and a ``bool`` given for a ``Boolean``, as it is.
:class:`PlainVariables` looks the definitions up once; a request whose every value is of
exactly that class gets them as they are, with the sources graphql-core records; any other
(a missing or null value, a default, a number for an ``ID``, a wrong type) is coerced by
graphql-core itself, errors and all.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from graphql import (
    GraphQLBoolean,
    GraphQLError,
    GraphQLID,
    GraphQLSchema,
    GraphQLString,
    Undefined,
    VariableDefinitionNode,
    get_named_type,
)
from graphql.execution.get_variable_signature import get_variable_signature
from graphql.execution.values import (
    VariableValues,
    VariableValuesOrErrors,
    VariableValueSource,
    get_variable_values,
)

__all__ = ["PlainVariables"]

_AS_THEY_ARE = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}


class PlainVariables:
    """The variables of one operation (its definitions looked up once)."""

    def __init__(self, schema: GraphQLSchema, nodes: Collection[VariableDefinitionNode]) -> None:
        self.schema = schema
        self.nodes = nodes
        self.taken: list[tuple[Any, type]] | None = []
        for node in nodes:
            signature = get_variable_signature(schema, node)
            plain = None
            if not isinstance(signature, GraphQLError):
                plain = _AS_THEY_ARE.get(get_named_type(signature.type))  # type: ignore[call-overload]
            if plain is None:
                self.taken = None  # graphql-core's, every time
                break
            self.taken.append((signature, plain))

    def coerced(self, variables: Mapping[str, Any] | None) -> VariableValuesOrErrors:
        """What ``get_variable_values`` answers for ``variables``."""
        inputs = dict(variables or {})
        if self.taken is not None:
            sources: dict[str, VariableValueSource] = {}
            values: dict[str, Any] = {}
            for signature, plain in self.taken:
                value = inputs.get(signature.name, Undefined)
                if value.__class__ is not plain:
                    break
                sources[signature.name] = VariableValueSource(signature, value)
                values[signature.name] = value
            else:
                return VariableValues(sources, values)
        return get_variable_values(self.schema, self.nodes, inputs)

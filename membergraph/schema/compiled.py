"""Known operations, executed without graphql-core's executor.

A personalization service asks the same few documents (a profile by e-mail) thousands of
times a second. graphql-core executes each of them field by field through its general
machinery: fields collected and merged, a plan of field details, argument coercion, a
task per awaitable, completion by type with null propagation and error paths. For a
document of a simple shape (one query; fields of object types, lists and leaves; no
fragment, directive, merged field or abstract type; variables of type String, ID or
Boolean, so that its cost does not depend on them), a plan is made once per
text: for each field its definition, its resolver (the very one graphql-core calls:
Strawberry's, with its permission classes, field extensions and argument conversion, or
the plain resolver built once in ``plain_fields.py``) and its arguments when they are
literals. Running the plan calls those resolvers in graphql-core's order with
graphql-core's own ``GraphQLResolveInfo`` (same path, nodes, types, variables and context:
masking and the audit read them as they do) and completes values as graphql-core does
(``serialize`` for a leaf, ``is_type_of`` for an object, each item of a list); the
resolvers that answer awaitables run as tasks started in field order, as
``gather_with_cancel`` runs them, so DataLoaders batch the same keys in the same turns.
(Run in the request's own task instead, each until it waits, they cost less CPU alone
but lengthened the tail under concurrent load: ``docs/benchmarks-history.md``, tenth round.)

The plan follows only answers without errors. The moment anything would make one (a
resolver raising, a permission refused, a null where the type says non-null, a value that
does not serialize), it stops with :class:`~membergraph.schema.plan_run.NotFollowed` and
the request is executed the usual way: every error answer is graphql-core's and
Strawberry's own. This module makes plans; running one is
:mod:`~membergraph.schema.plan_run`. Which documents are planned, and the plans kept by
document text: :mod:`~membergraph.schema.known`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    FieldNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    NameNode,
    OperationDefinitionNode,
    Undefined,
    default_field_resolver,
    get_argument_values,
    get_named_type,
    is_leaf_type,
)
from graphql.pyutils import Path, gather_with_cancel, is_awaitable
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField

from membergraph.schema.direct import direct_resolver
from membergraph.schema.plan_run import (
    PLAIN,
    ROOT_VALUE,
    Complete,
    NotFollowed,
    PlannedField,
    Run,
    execute,
    info_of,
)
from membergraph.schema.plan_variables import PlainVariables

__all__ = ["WRITES", "Plan", "plan_of"]


WRITES = "membergraph.writes"
"""A field's metadata key (``strawberry.field(metadata={WRITES: True})``): its resolver
writes (an audit entry, ...), so no plan runs it; the executor runs it once."""


@dataclass(slots=True)
class Plan:
    """A document's operation, planned once (module doc)."""

    schema: GraphQLSchema
    operation: OperationDefinitionNode
    fields: tuple[PlannedField, ...]
    cost: int
    budget: int
    variables: PlainVariables

    async def run(self, variables: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
        """The operation's ``data``, or :class:`NotFollowed`."""
        coerced = self.variables.coerced(variables)
        if isinstance(coerced, list):
            raise NotFollowed  # the variables' errors, said by graphql-core
        run = Run(self.schema, self.operation, coerced, context)
        data = execute(self.fields, ROOT_VALUE, None, run)
        return await data if is_awaitable(data) else cast(dict[str, Any], data)

    @property
    def extensions(self) -> dict[str, Any]:
        """What the schema's guard reports of a request it let through."""
        return {"cost": {"requested": self.cost, "budget": self.budget}}


def _completer(
    type_: GraphQLOutputType, nodes: list[FieldNode], schema: GraphQLSchema, name: str
) -> Complete:
    """How graphql-core completes a value of ``type_`` (``complete_value``), for the types
    a plan takes; raises :class:`_Unplanned` for the others."""
    if isinstance(type_, GraphQLNonNull):
        inner = _completer(type_.of_type, nodes, schema, name)

        def non_null(value: Any, path: Path | None, run: Run) -> Any:
            completed = inner(value, path, run)
            if completed is None:
                raise NotFollowed  # graphql-core: an error, null propagated to the parent
            if completed.__class__ not in PLAIN and is_awaitable(completed):
                return _non_null_later(completed)
            return completed

        return non_null
    if isinstance(type_, GraphQLList):
        item = _completer(type_.of_type, nodes, schema, name)
        leaves = is_leaf_type(get_named_type(type_))

        def each(value: Any, path: Path | None, run: Run) -> Any:
            if value is None or value is Undefined:
                return None
            if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
                raise NotFollowed  # graphql-core: "Expected Iterable"
            if leaves:  # a leaf's path reaches no one
                items = [item(v, None, run) for v in value]
            else:
                assert path is not None
                items = [item(v, path.add_key(i, None), run) for i, v in enumerate(value)]
            if any(i.__class__ not in PLAIN and is_awaitable(i) for i in items):
                return _all_of(items)
            return items

        return each
    if isinstance(type_, (GraphQLScalarType, GraphQLEnumType)):
        serialize = type_.serialize

        def leaf(value: Any, path: Path | None, run: Run) -> Any:
            if value is None or value is Undefined:
                return None
            try:
                serialized = serialize(value)
            except Exception as exc:
                raise NotFollowed from exc
            if serialized is Undefined or serialized is None:
                raise NotFollowed
            return serialized

        return leaf
    if isinstance(type_, GraphQLObjectType):
        fields = _fields_of(type_, nodes, schema)
        is_type_of = type_.is_type_of

        def object_(value: Any, path: Path | None, run: Run) -> Any:
            if value is None or value is Undefined:
                return None
            assert path is not None  # an object's fields have paths below it
            if is_type_of is not None:
                info = info_of(name, nodes, type_, type_, path, run)
                if is_type_of(value, info) is not True:
                    raise NotFollowed
            return execute(fields, value, path, run)

        return object_
    raise _Unplanned  # an interface or a union: resolving the type is not planned


async def _non_null_later(completed: Awaitable[Any]) -> Any:
    value = await completed
    if value is None:
        raise NotFollowed
    return value


async def _all_of(items: list[Any]) -> list[Any]:
    async def one(item: Any) -> Any:
        return await item if is_awaitable(item) else item

    try:
        return await gather_with_cancel(*(one(i) for i in items))
    except Exception as exc:
        raise NotFollowed from exc


class _Unplanned(Exception):
    """The document has something a plan does not do."""


def _fields_of(
    parent: GraphQLObjectType, nodes: list[FieldNode], schema: GraphQLSchema
) -> tuple[PlannedField, ...]:
    """The fields selected on ``parent`` by ``nodes`` (one node: merging is not planned)."""
    if len(nodes) != 1 or nodes[0].selection_set is None:
        raise _Unplanned
    planned: list[PlannedField] = []
    keys: set[str] = set()
    for selection in nodes[0].selection_set.selections:
        if not isinstance(selection, FieldNode) or selection.directives:
            raise _Unplanned  # a fragment, or @include / @skip
        name = selection.name.value
        key = selection.alias.value if selection.alias else name
        if key in keys or (name.startswith("__") and name != "__typename"):
            raise _Unplanned  # merged fields; introspection
        keys.add(key)
        planned.append(_field(parent, selection, key, schema))
    return tuple(planned)


def _field(
    parent: GraphQLObjectType, node: FieldNode, key: str, schema: GraphQLSchema
) -> PlannedField:
    name = node.name.value
    if name == "__typename":
        typename = parent.name

        def resolve_typename(source: Any, info: Any) -> str:
            return typename

        definition = GraphQLField(GraphQLNonNull(GraphQLString))
        return PlannedField(
            key, name, [node], definition, parent, resolve_typename, {}, _leaf_as_is
        )
    definition = parent.fields[name]
    literal = not any(_has_variable(a.value) for a in node.arguments or ())
    args = get_argument_values(definition, node) if literal else None
    planned = PlannedField(
        key,
        name,
        [node],
        definition,
        parent,
        definition.resolve or default_field_resolver,
        args,
        _completer(definition.type, [node], schema, name),
        leaf=is_leaf_type(get_named_type(definition.type)),
    )
    field = (definition.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if isinstance(field, StrawberryField) and field.metadata.get(WRITES):
        # A read that writes (an export is audited): a plan that falls back would run it
        # twice, or run it where the executor would have cancelled it.
        raise _Unplanned
    strawberry_schema = getattr(schema, "_strawberry_schema", None)
    if isinstance(field, StrawberryField) and strawberry_schema is not None:
        direct = direct_resolver(field, strawberry_schema.schema_converter, args)
        if direct is not None:  # Strawberry's resolver, its per-call work done once
            planned.resolve = direct
    if (
        isinstance(field, StrawberryField)
        and field.base_resolver is None
        and not field.arguments
        and not field.extensions
        and not field.is_subscription
        and not node.arguments
    ):
        # What Strawberry's resolver of such a field does (and plain_fields.py's).
        planned.attribute, planned.read = field.python_name, field.default_resolver
    return planned


def _leaf_as_is(value: Any, path: Path | None, run: Run) -> Any:
    return value


def _has_variable(value: Any) -> bool:
    if value.kind == "variable":
        return True
    return any(_has_variable(v) for v in getattr(value, "values", ()) or ()) or any(
        _has_variable(f.value) for f in getattr(value, "fields", ()) or ()
    )


def plan_of(
    schema: GraphQLSchema, operation: OperationDefinitionNode, cost: int, budget: int
) -> Plan | None:
    """The plan of a query ``operation`` the guard accepted (None: its shape is not planned:
    fragments, directives, merged fields, introspection, abstract types)."""
    root = schema.query_type
    if root is None:
        return None
    node = FieldNode(name=NameNode(value=""), selection_set=operation.selection_set)
    try:
        fields = _fields_of(root, [node], schema)
    except _Unplanned:
        return None
    variables = PlainVariables(schema, operation.variable_definitions or ())
    return Plan(schema, operation, fields, cost, budget, variables)

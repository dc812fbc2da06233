"""Running a plan (:mod:`~membergraph.schema.compiled`): each object's fields resolved in
graphql-core's order with graphql-core's own resolve info, the resolvers' awaitables run
as tasks started in field order (as ``gather_with_cancel`` runs them), and every value
completed by the completer its field was planned with.

A run stops with :class:`NotFollowed` the moment anything would make an error; the
request is then executed the usual way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from graphql import (
    FieldNode,
    GraphQLField,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLSchema,
    OperationDefinitionNode,
    get_argument_values,
)
from graphql.execution.values import VariableValues
from graphql.pyutils import Path, gather_with_cancel, is_awaitable

__all__ = [
    "PLAIN",
    "ROOT_VALUE",
    "Complete",
    "NotFollowed",
    "PlannedField",
    "Run",
    "execute",
    "info_of",
]

ROOT_VALUE = None  # what the HTTP view passes as the root value
# Values that are never awaitable, told apart without graphql-core's is_awaitable.
PLAIN = frozenset({str, int, float, bool, type(None), list, dict})


class NotFollowed(Exception):
    """The plan stopped where graphql-core would have made an error (or done something
    the plan does not do): execute the request the usual way."""


def _not_planned(values: Any) -> Any:
    raise NotFollowed  # a resolver handing work to graphql-core's executor: not planned


_HELPERS = GraphQLResolveInfoHelpers(_not_planned, _not_planned)


Complete = Callable[[Any, "Path | None", "Run"], Any]
"""How a planned field completes its value (graphql-core's ``complete_value``)."""


@dataclass(slots=True)
class PlannedField:
    """One selected field, planned: how to resolve it and complete its value."""

    key: str
    name: str
    nodes: list[FieldNode]
    definition: GraphQLField
    parent: GraphQLObjectType
    resolve: Callable[..., Any]
    args: dict[str, Any] | None  # literal arguments, coerced once; None: read per request
    complete: Complete
    attribute: str | None = None  # a plain attribute, read with ``read``
    read: Callable[[Any, str], Any] = getattr
    leaf: bool = False


@dataclass(slots=True)
class Run:
    """One execution of a plan: what every field's info shares."""

    schema: GraphQLSchema
    operation: OperationDefinitionNode
    variables: VariableValues
    context: Any


def execute(
    fields: tuple[PlannedField, ...], source: Any, path: Path | None, run: Run
) -> dict[str, Any] | Awaitable[dict[str, Any]]:
    """The fields of one object, in order; a resolver's awaitable becomes a task, started
    in field order (as graphql-core's ``gather_with_cancel``), its value completed when it
    is done."""
    results: dict[str, Any] = {}
    pending: list[tuple[PlannedField, Any, Path | None, bool]] = []
    try:
        _resolve_all(fields, source, path, run, results, pending)
    except BaseException:
        for _, awaitable, _, _ in pending:
            close = getattr(awaitable, "close", None)
            if close is not None:  # a coroutine never awaited: no warning, no leak
                close()
        raise
    if not pending:
        return results
    return _gathered(results, pending, run)


def _resolve_all(
    fields: tuple[PlannedField, ...],
    source: Any,
    path: Path | None,
    run: Run,
    results: dict[str, Any],
    pending: list[tuple[PlannedField, Any, Path | None, bool]],
) -> None:
    for field in fields:
        if field.attribute is not None:
            # A plain attribute (no resolver, argument or extension): graphql-core's info
            # would reach no one; its path only the fields below it.
            field_path = None if field.leaf else Path(path, field.key, field.parent.name)
            try:
                value = field.read(source, field.attribute)
            except Exception as exc:
                raise NotFollowed from exc
            results[field.key] = None
            completed = field.complete(value, field_path, run)
            if completed.__class__ in PLAIN or not is_awaitable(completed):
                results[field.key] = completed
            else:
                pending.append((field, completed, field_path, True))
            continue
        field_path = Path(path, field.key, field.parent.name)
        info = info_of(
            field.name, field.nodes, field.definition.type, field.parent, field_path, run
        )
        args = field.args
        try:
            if args is None:  # a null over a defaulted variable: the executor says why
                args = get_argument_values(field.definition, field.nodes[0], run.variables)
            value = field.resolve(source, info, **args)
        except Exception as exc:
            raise NotFollowed from exc
        results[field.key] = None
        if value.__class__ not in PLAIN and is_awaitable(value):
            pending.append((field, value, field_path, False))
            continue
        completed = field.complete(value, field_path, run)
        if completed.__class__ not in PLAIN and is_awaitable(completed):
            pending.append((field, completed, field_path, True))
        else:
            results[field.key] = completed


def info_of(
    name: str,
    nodes: list[FieldNode],
    type_: GraphQLOutputType,
    parent: GraphQLObjectType,
    path: Path | None,
    run: Run,
) -> GraphQLResolveInfo[Any]:
    """graphql-core's own resolve info for a field of the run (what masking, the audit and
    the permission classes read)."""
    return GraphQLResolveInfo(
        name,
        nodes,
        type_,
        parent,
        path,  # type: ignore[arg-type]
        run.schema,
        {},
        ROOT_VALUE,
        run.operation,
        run.variables,
        run.context,
        is_awaitable,
        None,
        _HELPERS,
    )


async def _gathered(
    results: dict[str, Any], pending: list[tuple[PlannedField, Any, Path | None, bool]], run: Run
) -> dict[str, Any]:
    try:
        await gather_with_cancel(
            *(_finish(results, f, value, path, run, done) for f, value, path, done in pending)
        )
    except Exception as exc:  # the others were cancelled, as the executor cancels them
        raise NotFollowed from exc
    return results


async def _finish(
    results: dict[str, Any],
    field: PlannedField,
    value: Awaitable[Any],
    path: Path | None,
    run: Run,
    done: bool,
) -> None:
    resolved = await value
    if done:
        results[field.key] = resolved
        return
    completed = field.complete(resolved, path, run)
    results[field.key] = await completed if is_awaitable(completed) else completed

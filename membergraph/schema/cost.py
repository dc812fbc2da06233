"""Query cost: what a request may ask for, decided before anything runs.

Depth, alias and token limits do not bound work: 30 aliases of ``members(first: 100)``, each
with purchases and activity, pass all three and took seconds. Every request is therefore
costed from its document and variables after validation, and one over the budget is refused
with ``QUERY_TOO_COSTLY`` naming both figures; nothing executes. A request under it reports
its cost in ``extensions.cost``.

The model (documented in docs/bad-input.md, the same for every field):

- each field returning an object costs 1 for every time it is resolved; scalars are free;
- a field with a ``first`` argument is resolved for up to ``first`` (or ``last``) items: its
  subtree is multiplied by it (the argument's value, or its variable's, or the default page);
- ``edges`` and ``nodes`` under such a field are those items, not a second list;
- ``_entities`` (Federation) resolves one entity per representation: its subtree is
  multiplied by their number (inline or in a variable), and more than ``MAX_REPRESENTATIONS``
  are refused outright;
- any other list of objects (``records``, ``identityHistory``) counts as ``LIST_GUESS`` items.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    ListValueNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    is_composite_type,
)
from graphql.utilities import get_operation_ast

from membergraph.schema.kept import Kept

__all__ = [
    "DEFAULT_PAGES",
    "LIST_GUESS",
    "MAX_REPRESENTATIONS",
    "cost_of",
    "request_cost",
    "too_costly",
]

LIST_GUESS = 10
"""Items assumed for a list of objects without ``first`` (a member's records, its history)."""

DEFAULT_PAGES = {"Member.transactions": 10, "Member.activity": 20}
"""The page a list that reads both ways (``first`` or ``last``, so neither has a default in
the schema) answers when given neither."""

MAX_REPRESENTATIONS = 1000
"""Representations one ``_entities`` field may carry: a router splits larger fetches."""

_ITEMS = frozenset({"edges", "nodes"})


def cost_of(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The cost of the operation ``operation_name`` of a valid ``document``."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    walk = _Walk(schema, document, operation, variables or {})
    return walk.selection(root, operation.selection_set, 1, paged=False)


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        self.variables = dict(variables)
        for definition in operation.variable_definitions or ():
            name = definition.variable.name.value
            if name not in self.variables and isinstance(definition.default_value, IntValueNode):
                self.variables[name] = int(definition.default_value.value)

    def selection(
        self, parent: GraphQLNamedType, selection: SelectionSetNode, times: int, *, paged: bool
    ) -> int:
        return sum(
            self.field(parent_type, node, times, paged=paged)
            for parent_type, node in self.fields(parent, selection)
        )

    def fields(
        self, parent: GraphQLNamedType, selection: SelectionSetNode
    ) -> Iterator[tuple[GraphQLNamedType, FieldNode]]:
        for node in selection.selections:
            if isinstance(node, FieldNode):
                yield parent, node
                continue
            if isinstance(node, FragmentSpreadNode):
                fragment = self.fragments.get(node.name.value)
                if fragment is None:
                    continue
                condition: NamedTypeNode | None = fragment.type_condition
                sub = fragment.selection_set
            elif isinstance(node, InlineFragmentNode):
                condition, sub = node.type_condition, node.selection_set
            else:  # pragma: no cover (graphql-core has no other selection)
                continue
            narrowed = self.schema.get_type(condition.name.value) if condition else parent
            yield from self.fields(narrowed or parent, sub)

    def field(self, parent: GraphQLNamedType, node: FieldNode, times: int, *, paged: bool) -> int:
        name = node.name.value
        definition: GraphQLField | None = getattr(parent, "fields", {}).get(name)
        if name.startswith("__") or definition is None or node.selection_set is None:
            return 0  # scalars, __typename and introspection are free
        target = get_named_type(definition.type)
        if not is_composite_type(target):
            return 0
        first = self.first(parent, definition, node)
        if first is None and name == "_entities":
            first = self.representations(node)
        if first is not None:
            items, paged_below = first, True
        elif _is_list(definition) and not (paged and name in _ITEMS):
            items, paged_below = LIST_GUESS, False
        else:
            items, paged_below = 1, paged and name in _ITEMS
        resolved = times * items
        return resolved + self.selection(target, node.selection_set, resolved, paged=paged_below)

    def first(
        self, parent: GraphQLNamedType, definition: GraphQLField, node: FieldNode
    ) -> int | None:
        if "first" not in definition.args:
            return None
        for argument in node.arguments or ():
            if argument.name.value not in ("first", "last"):  # (never both: refused)
                continue
            value = argument.value
            if isinstance(value, IntValueNode):
                return max(int(value.value), 0)
            if isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                if isinstance(given, int):
                    return max(given, 0)
        default = definition.args["first"].default_value
        if isinstance(default, int):
            return default
        return DEFAULT_PAGES.get(f"{parent.name}.{node.name.value}", LIST_GUESS)

    def representations(self, node: FieldNode) -> int:
        """How many entities ``_entities`` is asked for, literal or variable (a single
        object is coerced to a list of one); over ``MAX_REPRESENTATIONS`` is refused."""
        count = 1
        for argument in node.arguments or ():
            value = argument.value
            if argument.name.value != "representations":
                continue
            if isinstance(value, ListValueNode):
                count = len(value.values)
            elif isinstance(value, VariableNode):
                given = self.variables.get(value.name.value)
                count = len(given) if isinstance(given, list) else 1
        if count > MAX_REPRESENTATIONS:
            raise GraphQLError(
                f"_entities asks for {count} representations, over the limit of "
                f"{MAX_REPRESENTATIONS} a request: split the fetch",
                extensions={"code": "BAD_USER_INPUT", "limit": MAX_REPRESENTATIONS},
            )
        return count


def _is_list(definition: GraphQLField) -> bool:
    kind = definition.type
    if isinstance(kind, GraphQLNonNull):
        kind = kind.of_type
    return isinstance(kind, GraphQLList)


def too_costly(cost: int, budget: int) -> GraphQLError:
    return GraphQLError(
        f"the query costs {cost:,}, over the budget of {budget:,}: ask for fewer items "
        "(smaller `first`, fewer aliases) or split it",
        extensions={"code": "QUERY_TOO_COSTLY", "cost": cost, "budget": budget},
    )


_known: Kept[int] = Kept()  # shared by every request on purpose


def request_cost(
    schema: Any,
    query: str | None,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The cost of a request for a valid ``document`` (raises ``GraphQLError`` for too many
    ``_entities`` representations). Kept per query text, operation and what of the variables
    the cost depends on; ``schema`` is Strawberry's."""
    variables = variables or {}
    key = (id(schema), query, operation_name, _sizes(variables)) if query is not None else None
    return _known.get(key, lambda: cost_of(schema._schema, document, operation_name, variables))


def _sizes(variables: Mapping[str, Any]) -> tuple[tuple[str, int], ...]:
    """What of the variables the cost depends on: integers (``first``) and list lengths
    (``_entities``' representations)."""
    sizes: list[tuple[str, int]] = []
    for name, value in variables.items():
        if type(value) is int:
            sizes.append((name, value))
        elif isinstance(value, list):
            sizes.append((name, len(value)))
    return tuple(sorted(sizes))

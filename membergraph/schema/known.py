"""Which documents run as a plan (:mod:`~membergraph.schema.compiled`): a query the schema's
guard accepts (token limit, single operation, spread size, validation with the depth and
alias rules, cost within the budget) whose variables are of type String, ID or Boolean (so
that its cost does not depend on them), planned once per document text and operation name
and kept up to a bound (the one planned first goes first)."""

from __future__ import annotations

from typing import Any

from graphql import (
    DocumentNode,
    GraphQLError,
    ListTypeNode,
    NamedTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    OperationType,
    TypeNode,
    specified_rules,
)

from membergraph.schema.compiled import Plan, plan_of
from membergraph.schema.cost import request_cost
from membergraph.schema.guard import validated
from membergraph.schema.operation import parse_document, refuse_unnamed_choice
from membergraph.schema.spread import oversized

__all__ = ["KnownOperations"]

# Variables of these types leave the cost as it is (it depends on integers and lists only).
_PLAIN_VARIABLES = frozenset({"String", "ID", "Boolean"})


class KnownOperations:
    """Plans by document text and operation name, made once (None: executed the usual way).

    Args:
        schema: Strawberry's schema.
        rules: the validation rules the guard adds (depth, aliases, introspection).
        max_tokens: the guard's token limit on parsing.
        max_cost: the guard's cost budget.
    """

    def __init__(
        self, schema: Any, rules: tuple[Any, ...], max_tokens: int, max_cost: int, size: int = 256
    ) -> None:
        self.schema = schema
        self.rules = tuple(specified_rules) + rules
        self.max_tokens = max_tokens
        self.max_cost = max_cost
        self.size = size
        self._plans: dict[tuple[str, str | None], Plan | None] = {}

    def plan(self, query: str, operation_name: str | None) -> Plan | None:
        key = (query, operation_name)
        try:
            return self._plans[key]
        except KeyError:
            pass
        try:
            found = self._plan(query, operation_name)
        except Exception:  # a rule failing on a document it did not expect (the depth
            found = None  # rule on an unknown fragment): the usual way says what is wrong
        if len(self._plans) >= self.size:
            self._plans.pop(next(iter(self._plans)))
        self._plans[key] = found
        return found

    def _plan(self, query: str, operation_name: str | None) -> Plan | None:
        schema = self.schema._schema
        try:
            document = parse_document(query, max_tokens=self.max_tokens)
            refuse_unnamed_choice(document, operation_name)
        except GraphQLError:
            return None
        operation = _operation(document, operation_name)
        if (
            operation is None
            or operation.operation is not OperationType.QUERY
            or operation.directives
            or not all(_plain_variable(v.type) for v in operation.variable_definitions or ())
            or oversized(query, document) is not None
            or validated(schema, document, self.rules)
        ):
            return None
        try:
            cost = request_cost(self.schema, query, document, operation_name, {})
        except GraphQLError:
            return None
        if cost > self.max_cost:
            return None
        return plan_of(schema, operation, cost, self.max_cost)


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    if any(not isinstance(d, OperationDefinitionNode) for d in document.definitions):
        return None  # fragments
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


def _plain_variable(type_: TypeNode) -> bool:
    if isinstance(type_, NonNullTypeNode):
        type_ = type_.type
    if isinstance(type_, ListTypeNode) or not isinstance(type_, NamedTypeNode):
        return False
    return type_.name.value in _PLAIN_VARIABLES

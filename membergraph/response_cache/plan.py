"""Which documents' answers the response cache may keep: what the change feed can
invalidate, decided once per document (not per field, not per request)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import (
    SKIP,
    DocumentNode,
    EnumValueNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableNode,
    Visitor,
    parse,
    visit,
)

__all__ = ["NEITHER", "Plan", "plan"]

_ROOTS = frozenset({"member", "memberByIdentifier", "__typename"})
# Member fields that read only the member's own records, identifiers, events and lines (a
# change to any of them is a feed entry naming the member). Not rfm or segments: a member's
# scores rank it against everyone, so anyone's purchase moves them. A field added to Member
# is left out until someone decides it belongs here.
_MEMBER_FIELDS = frozenset(
    {
        "__typename",
        "id",
        "redirectedFrom",
        "profile",
        "identifiers",
        "records",
        "transactions",
        "webActivity",
        "callCenterInteractions",
        "loyalty",
        "consents",
        "reachableChannels",
        "activity",
        "offers",
        "callCenter",
        "explain",
        "identityHistory",
    }
)


@dataclass(frozen=True, slots=True)
class Plan:
    """What the cache makes of a request's document."""

    mutation: bool  # changes something: catch up with the feed before answering
    cacheable: bool
    variables: tuple[str, ...] = ()  # the operation's, by name: what its answer depends on
    name: str | None = None  # the operation's (asked by name or not, it is the same one)
    looks_up: tuple[str, str | None, str] | None = None
    """A cacheable query's root lookup: (``member`` or ``memberByIdentifier``, the kind
    written in the document or None, the variable holding the ID or value), when it has
    one such field and reads the lookup value from a variable (what warming enumerates)."""
    by_match_key: bool = False
    """The answer depends on the lookup's variable only through the identifier's match key
    (``memberByIdentifier`` with its kind written, the variable used nowhere else): two
    values with one key (``A@x.org`` and ``a@x.org ``) have one answer."""


NEITHER = Plan(mutation=False, cacheable=False)


@lru_cache(maxsize=2048)
def plan(schema: GraphQLSchema, query: str, operation_name: str | None) -> Plan:
    """Whether a document's operation changes anything, and whether its answer may be kept
    (see the module's docstring). A document that does not parse is neither."""
    try:
        document = parse(query)
    except GraphQLError:
        return NEITHER
    operation = _operation(document, operation_name)
    if operation is None:
        return NEITHER
    kind = operation.operation.value
    if kind != "query":
        return Plan(mutation=kind == "mutation", cacheable=False)
    fields = _FieldsRead(TypeInfo(schema))
    visit(document, TypeInfoVisitor(fields.type_info, fields))
    names = tuple(v.variable.name.value for v in operation.variable_definitions or ())
    looks_up = _lookup(operation) if fields.cacheable else None
    named = operation.name.value if operation.name else None
    keyed = (
        looks_up is not None
        and looks_up[0] == "memberByIdentifier"
        and _uses(document, looks_up[2]) == 1
    )
    return Plan(False, fields.cacheable, names, named, looks_up, keyed)


def _uses(document: DocumentNode, variable: str) -> int:
    """How many times the document reads ``variable`` (its definitions aside)."""
    uses = 0

    class Uses(Visitor):
        def enter_variable_definition(self, *_: Any) -> Any:
            return SKIP

        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            nonlocal uses
            uses += node.name.value == variable

    visit(document, Uses())
    return uses


def _lookup(operation: OperationDefinitionNode) -> tuple[str, str | None, str] | None:
    roots = [s for s in operation.selection_set.selections if isinstance(s, FieldNode)]
    roots = [r for r in roots if r.name.value != "__typename"]
    if len(roots) != 1:
        return None
    arguments = {a.name.value: a.value for a in roots[0].arguments or ()}
    held = arguments.get("id" if roots[0].name.value == "member" else "value")
    if not isinstance(held, VariableNode):
        return None
    kind = arguments.get("kind")
    written = kind.value if isinstance(kind, EnumValueNode) else None
    if roots[0].name.value == "memberByIdentifier" and written is None:
        return None
    return roots[0].name.value, written, held.name.value


def _operation(document: DocumentNode, name: str | None) -> OperationDefinitionNode | None:
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name and o.name.value == name), None)


class _FieldsRead(Visitor):
    """Every field the document selects, with the type it is selected on (fragments too:
    a fragment of another operation only makes the verdict stricter)."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info
        self.cacheable = True

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        parent = self.type_info.get_parent_type()
        name = node.name.value
        allowed = {"Query": _ROOTS, "Member": _MEMBER_FIELDS}
        # A field not in the schema (no parent type) is refused by validation anyway.
        if parent is None or name not in allowed.get(parent.name, (name,)):
            self.cacheable = False

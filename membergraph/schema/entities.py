"""``_entities``, a supergraph router's look-up of members by key, with its input checked.

Strawberry's resolver trusts each representation: a string, a missing ``__typename``, a type
that is no entity or a missing key failed as an unexpected error (masked, with a traceback in
the log). Here each is checked first, and a bad one is ``BAD_USER_INPUT`` naming its index
and what is wrong. Only the key reaches ``resolve_reference``. How many representations a
request may carry, and what they cost, is the cost walk's business (``schema/cost.py``): it
counts them before anything runs.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError
from strawberry.federation import Schema
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import Key
from strawberry.types.info import Info

if TYPE_CHECKING:
    from membergraph.schema.known import KnownOperations

__all__ = ["FederatedSchema"]


class FederatedSchema(Schema):
    """Strawberry's Federation schema whose ``_entities`` refuses malformed representations
    with ``BAD_USER_INPUT`` instead of an unexpected error."""

    known: KnownOperations | None = None
    """Plans of the documents clients send again and again (``compiled.py``), under the
    limits ``build_schema`` gave the schema's guard."""

    def entities_resolver(
        self, info: Info, representations: list[FederationAny]
    ) -> list[FederationAny]:
        checked = [self._checked(i, r) for i, r in enumerate(representations)]
        return super().entities_resolver(info, checked)  # type: ignore[arg-type]

    @cached_property
    def entity_keys(self) -> dict[str, list[tuple[str, ...]]]:
        """Each entity type's keys (a type may have several ``@key``s): fields by name."""
        keys: dict[str, list[tuple[str, ...]]] = {}
        for name, type_ in self.schema_converter.type_map.items():
            for directive in getattr(type_.definition, "directives", None) or ():
                if isinstance(directive, Key):
                    keys.setdefault(name, []).append(tuple(str(directive.fields).split()))
        return keys

    def _checked(self, index: int, representation: object) -> dict[str, Any]:
        where = f"representations[{index}]"
        entities = ", ".join(sorted(self.entity_keys))
        if not isinstance(representation, dict):
            kind = _JSON_KINDS.get(type(representation), type(representation).__name__)
            raise _bad(
                f"{where} must be an object such as "
                f'{{"__typename": "Member", "id": "m_..."}}, not a {kind}'
            )
        type_name = representation.get("__typename")
        if not isinstance(type_name, str):
            raise _bad(f"{where} has no __typename (an entity here: {entities})")
        if type_name not in self.entity_keys:
            raise _bad(f"{where}: {type_name!r} is not an entity here (entities: {entities})")
        for key in self.entity_keys[type_name]:
            if all(_is_key_value(representation.get(field)) for field in key):
                return {"__typename": type_name, **{f: representation[f] for f in key}}
        wanted = " or ".join(" ".join(key) for key in self.entity_keys[type_name])
        raise _bad(f"{where} ({type_name}) needs its key: {wanted}, a string")


_JSON_KINDS = {str: "string", int: "number", float: "number", bool: "boolean", list: "list"}
_JSON_KINDS[type(None)] = "null"


def _is_key_value(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def _bad(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})

"""The GraphQL schema: types, the Query root and the extensions every request runs."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import strawberry
from graphql.validation import ASTValidationRule, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter

from membergraph.schema.conflicts import ConflictMutation
from membergraph.schema.entities import FederatedSchema
from membergraph.schema.facts import BIG_INT, BigInt
from membergraph.schema.guard import Limits, OperationGuard
from membergraph.schema.known import KnownOperations
from membergraph.schema.member import Member
from membergraph.schema.mutation import MemberChanged, Mutation, Subscription
from membergraph.schema.operation import MAX_TOKENS
from membergraph.schema.plain_fields import resolve_plain_fields
from membergraph.schema.privacy import PrivacyMutation, PrivacyQuery, audit_member_fields
from membergraph.schema.query import Query
from membergraph.schema.released import ReleasedExecutionContext
from membergraph.schema.suggestions import MatchSuggestion, SuggestionMutation, SuggestionQuery
from membergraph.schema.types import IdentityEvent

__all__ = ["build_schema", "print_sdl"]


audit_member_fields(Member)
# Unmasked values outside a member are audited against the members they concern.
audit_member_fields(IdentityEvent, lambda event: [event.member_id] if event.member_id else [])
audit_member_fields(MatchSuggestion, lambda suggestion: [str(m) for m in suggestion.member_ids])
audit_member_fields(MemberChanged, lambda change: [str(m) for m in change.member_ids])


@strawberry.type(name="Query", description="Read the member graph.")
class _Query(Query, PrivacyQuery, SuggestionQuery):
    pass


@strawberry.type(
    name="Mutation",
    description="Stewards' identity changes (each answers the members as they are after it) "
    "and privacy requests.",
)
class _Mutation(Mutation, PrivacyMutation, SuggestionMutation, ConflictMutation):
    pass


class _KeptNames(NameConverter):
    """Strawberry's camelCase names, each converted once: it converts a field's argument
    names again on every call of a resolver that takes arguments."""

    def __init__(self) -> None:
        super().__init__()
        self._names: dict[str, str] = {}  # Python names in the schema: a bounded set

    def apply_naming_config(self, name: str) -> str:
        converted = self._names.get(name)
        if converted is None:
            converted = self._names[name] = super().apply_naming_config(name)
        return converted


def build_schema(  # noqa: PLR0913 (each limit is its own setting)
    max_depth: int = 10,
    max_aliases: int = 30,
    max_tokens: int = MAX_TOKENS,
    max_cost: int = 50_000,
    *,
    introspection: bool = True,
    extensions: Sequence[Callable[[], SchemaExtension]] = (),
) -> FederatedSchema:
    """The schema with its limits and caches (parse and validation dominate query cost).

    The limit rules are built once here: Strawberry's ``QueryDepthLimiter`` and
    ``MaxAliasesLimiter`` build a new rule class per request, which makes every request a
    miss of the validation cache (its key includes the rules).
    """
    rules: list[type[ASTValidationRule]] = [
        depth_rule(max_depth, None, None),
        aliases_rule(max_aliases),
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    limits = Limits(max_tokens=max_tokens, rules=tuple(rules), max_cost=max_cost)
    # An Apollo Federation v2 subgraph: Member is an entity keyed by `id` (`_entities`,
    # `_service { sdl }`), so the member graph can join a company's supergraph.
    schema = FederatedSchema(
        query=_Query,
        mutation=_Mutation,
        subscription=Subscription,
        config=StrawberryConfig(scalar_map={BigInt: BIG_INT}, name_converter=_KeptNames()),
        execution_context_class=ReleasedExecutionContext,
        federation_version="2.9",  # what Apollo's router and The Guild's composition know
        extensions=[
            lambda: OperationGuard(limits),  # limits, caches, cost, masking, audit
            *extensions,
        ],
    )
    resolve_plain_fields(schema._schema)
    if not extensions:  # another extension (tracing) sees each operation: none is planned
        schema.known = KnownOperations(schema, limits.rules, max_tokens, max_cost)
    return schema


def print_sdl() -> str:
    """The SDL clients generate code from (kept in ``schema.graphql``)."""
    return build_schema().as_str() + "\n"

"""What every GraphQL request goes through around its execution, as one schema extension.

In order: the token limit on parsing; the parsed document kept per text, a document of
several operations refused when the request names none (``operation.py``); a document whose
fragments expand too far refused before validation (``spread.py``); validation with the
depth and alias rules, kept per document; the cost refused over the budget, or reported in
``extensions.cost`` (``cost.py``). After the operation: unexpected errors masked, and the
personal data it unmasked recorded in the audit.

One extension rather than one per step: Strawberry builds each extension's hooks again for
every request (a context manager per hook and extension), which cost about as much as the
steps themselves for a request whose document is already parsed, validated and costed.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import ExecutionResult as GraphQLExecutionResult
from graphql import GraphQLError
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.schema.schema import validate_document
from strawberry.types.execution import ExecutionContext, StreamExecutionResult
from strawberry.types.execution import ExecutionResult as StrawberryExecutionResult
from strawberry.types.graphql import OperationType

from membergraph.full_start import first_load_refusal
from membergraph.privacy.audit import record_reads
from membergraph.resolvers.errors import CodedError, store_unavailable
from membergraph.schema.cost import request_cost, too_costly
from membergraph.schema.operation import parse_document, refuse_unnamed_choice
from membergraph.schema.spread import oversized
from membergraph.sqlite_room import out_of_room

__all__ = ["Limits", "OperationGuard", "validated"]

logger = logging.getLogger(__name__)
MASKED = "Unexpected error."
AUDIT_UNAVAILABLE = (
    "the audit of personal data read could not be written, so nothing was answered; "
    "try again shortly"
)

AUDIT_FULL = (
    "the store's disk is full: the audit of this read could not be written, so no personal"
    " data was answered (none is read unaudited); masked reads still answer (without"
    " pii:read); make room on the store's disk, then ask again"
)

# Validation's errors, kept per document and rules (parsing is kept per text).
_validate = lru_cache(maxsize=128)(validate_document)


def validated(
    schema: Any, document: Any, rules: tuple[type[ASTValidationRule], ...]
) -> list[GraphQLError]:
    """Validation's errors for ``document`` under ``rules``, kept as the guard keeps them."""
    errors: list[GraphQLError] = _validate(schema, document, rules)
    return errors


@dataclass(frozen=True, slots=True)
class Limits:
    """What a request may ask, built once per schema (rules built per request would make
    every request a miss of the validation cache, whose key includes them)."""

    max_tokens: int
    rules: tuple[type[ASTValidationRule], ...]
    max_cost: int


class OperationGuard(SchemaExtension):
    """Limits, caches, cost, error masking and the audit of personal reads (module doc)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.cost: int | None = None
        self.streamed = False  # a subscription's events were masked as they went out

    async def on_operation(self) -> AsyncIterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = self.limits.max_tokens
        context.validation_rules = context.validation_rules + self.limits.rules
        yield
        if not self.streamed:
            result = context.result
            if not isinstance(result, (GraphQLExecutionResult, StrawberryExecutionResult)):
                result = getattr(result, "initial_result", None)  # incremental delivery's
            _mask_errors(result)
        try:
            await record_reads(context.context)
        except Exception as exc:
            # No personal data answered without its audit entry; the store's words stay in
            # the log.
            full = out_of_room(exc)
            if full is None:
                logger.exception("the audit of personal data read could not be written")
                raise GraphQLError(
                    AUDIT_UNAVAILABLE, extensions={"code": "STORE_UNAVAILABLE"}
                ) from exc
            logger.warning("the audit of personal data read could not be written: %s", full)
            raise GraphQLError(AUDIT_FULL, extensions={"code": "STORE_FULL"}) from exc

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        document = parse_document(context.query, **context.parse_options)
        context.graphql_document = document
        # Strawberry keeps the name the request gave only here; its public `operation_name`
        # falls back to the first operation's, which is the behaviour refused.
        refuse_unnamed_choice(document, getattr(context, "_provided_operation_name", None))
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.pre_execution_errors = self._refusals(context)
        yield

    def _refusals(self, context: ExecutionContext) -> list[GraphQLError]:
        document = context.graphql_document
        assert document is not None  # on_parse set it or raised
        too_large = oversized(context.query, document)
        if too_large is not None:
            return [too_large]
        errors: list[GraphQLError] = _validate(
            context.schema._schema, document, context.validation_rules
        )
        if errors:
            return errors
        unready = _unready_for_changes(context)
        if unready is not None:
            return [unready]
        try:
            cost = request_cost(
                context.schema, context.query, document, context.operation_name, context.variables
            )
        except GraphQLError as refused:  # too many representations
            return [refused]
        self.cost = cost
        return [too_costly(cost, self.limits.max_cost)] if cost > self.limits.max_cost else []

    async def on_stream_result(self, result: StreamExecutionResult) -> AsyncIterator[None]:
        # A subscription is one operation that lasts: each change it pushes is recorded
        # and masked as it goes out, not when the subscriber leaves.
        await record_reads(self.execution_context.context)
        self.streamed = True
        _mask_errors(result)
        for parts in (getattr(result, "incremental", None), getattr(result, "completed", None)):
            for part in parts or ():
                _mask_errors(part)
        yield

    def get_results(self) -> dict[str, Any]:
        if self.cost is None or self.cost > self.limits.max_cost:
            return {}
        return {"cost": {"requested": self.cost, "budget": self.limits.max_cost}}


def _unready_for_changes(context: ExecutionContext) -> GraphQLError | None:
    """A mutation over a store whose first load did not finish is refused before it runs,
    as a push is (``full_start.first_load_refusal``): that load, run again, resolves the
    store without the change."""
    gateway = getattr(context.context, "gateway", None)
    refusal = None if gateway is None else first_load_refusal(gateway)
    if refusal is None or context.operation_type is not OperationType.MUTATION:
        return None
    return CodedError(f"{refusal}; nothing was changed", "STORE_UNAVAILABLE")


def _mask_errors(result: object) -> None:
    errors = getattr(result, "errors", None)
    if errors:
        result.errors = [_masked(e) if _should_mask(e) else e for e in errors]  # type: ignore[attr-defined]


def _should_mask(error: GraphQLError) -> bool:
    # Validation errors, our coded errors and a request naming no runnable operation say
    # something useful; anything a resolver raised unexpectedly is masked so no internals leak.
    if error.original_error is None:
        return False
    return not isinstance(error.original_error, (GraphQLError, CannotGetOperationTypeError))


def _masked(error: GraphQLError) -> GraphQLError:
    """A store failure becomes ``STORE_UNAVAILABLE``, without detail; anything else
    ``Unexpected error.``. The detail (which server, what failed) goes to the log only."""
    return store_unavailable(error) or GraphQLError(
        message=MASKED,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        original_error=None,
    )

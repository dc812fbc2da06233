"""Which operation of a document runs: the one the request names, or the only one.

Strawberry runs a document's first operation when the request names none. GraphQL's
GetOperation makes that a request error as soon as the document holds several: running the
first would answer a question the client may not have asked. Checked as the document is
parsed, so HTTP and WebSocket requests alike are refused before validation.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import GraphQLError, OperationDefinitionNode
from strawberry.extensions import ParserCache
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types.graphql import OperationType

__all__ = ["MAX_TOKENS", "NamedOperationParser", "UnnamedOperation", "operation_type"]

MAX_TOKENS = 5000
"""Tokens a document may hold (Strawberry's ``MaxTokensLimiter``): parsing stops past them."""


class UnnamedOperation(CannotGetOperationTypeError):
    """A document of several operations and no ``operationName``: Strawberry's view and
    WebSocket handler answer it as they answer an unknown name (HTTP 400, close 4400)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(None)
        self.names = names

    def as_http_error_reason(self) -> str:
        return (
            f"the document holds {len(self.names)} operations ({', '.join(self.names)}): "
            "name the one to run in operationName"
        )


class NamedOperationParser(ParserCache):
    """Strawberry's parser cache, refusing a document of several operations when the request
    names none."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        document = self.cached_parse_document(context.query, **context.parse_options)
        context.graphql_document = document
        # Strawberry keeps the name the request gave only here; its public `operation_name`
        # falls back to the first operation's, which is the behaviour refused.
        if getattr(context, "_provided_operation_name", None) is None:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) > 1:
                raise UnnamedOperation(
                    [o.name.value if o.name else "anonymous" for o in operations]
                )
        yield


_PARSER = NamedOperationParser()


def operation_type(
    query: object, operation_name: object, max_tokens: int = MAX_TOKENS
) -> OperationType | None:
    """Which kind of operation a request runs, or None when that is not known before it
    runs: the document does not parse (within ``max_tokens``), names no such operation, or
    holds several and the request names none. Read through the parser cache the schema
    uses, with the schema's token bound, so the document is parsed once for both."""
    if not isinstance(query, str) or not (
        operation_name is None or isinstance(operation_name, str)
    ):
        return None
    try:
        document = _PARSER.cached_parse_document(query, max_tokens=max_tokens)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return None
    return OperationType(operations[0].operation.value)

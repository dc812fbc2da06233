"""Which operation of a document runs: the one the request names, or the only one.

Strawberry runs a document's first operation when the request names none. GraphQL's
GetOperation makes that a request error as soon as the document holds several: running the
first would answer a question the client may not have asked. Checked as the document is
parsed (``schema/guard.py``), so HTTP and WebSocket requests alike are refused before
validation.
"""

from __future__ import annotations

from functools import lru_cache

from graphql import DocumentNode, GraphQLError, OperationDefinitionNode, parse
from strawberry.schema.exceptions import CannotGetOperationTypeError
from strawberry.types.graphql import OperationType

__all__ = [
    "MAX_TOKENS",
    "UnnamedOperation",
    "operation_type",
    "parse_document",
    "refuse_unnamed_choice",
]

MAX_TOKENS = 5000
"""Tokens a document may hold (Strawberry's ``MaxTokensLimiter``): parsing stops past them."""

parse_document = lru_cache(maxsize=128)(parse)
"""graphql-core's ``parse``, kept per text and options: the schema's parser cache."""


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


def refuse_unnamed_choice(document: DocumentNode, provided_name: str | None) -> None:
    """Raises :class:`UnnamedOperation` when ``document`` holds several operations and the
    request named none (``provided_name``: the name the request gave, not Strawberry's
    fallback to the first operation's)."""
    if provided_name is not None:
        return
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) > 1:
        raise UnnamedOperation([o.name.value if o.name else "anonymous" for o in operations])


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
        document = parse_document(query, max_tokens=max_tokens)
    except GraphQLError:
        return None
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is not None:
        operations = [o for o in operations if o.name and o.name.value == operation_name]
    if len(operations) != 1:
        return None
    return OperationType(operations[0].operation.value)

"""Which operation of a document runs: the one the request names, or the only one.

Strawberry runs a document's first operation when the request names none. GraphQL's
GetOperation makes that a request error as soon as the document holds several: running the
first would answer a question the client may not have asked. Checked as the document is
parsed, so HTTP and WebSocket requests alike are refused before validation.
"""

from __future__ import annotations

from collections.abc import Iterator

from graphql import OperationDefinitionNode
from strawberry.extensions import ParserCache
from strawberry.schema.exceptions import CannotGetOperationTypeError

__all__ = ["NamedOperationParser", "UnnamedOperation"]


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

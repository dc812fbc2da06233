"""Expected failures as GraphQL errors with ``extensions.code``; everything else is masked."""

from __future__ import annotations

from graphql import GraphQLError

from membergraph.connectors.base import ConnectorError, SourceTimeout

__all__ = ["CodedError", "bad_input", "source_failed"]


class CodedError(GraphQLError):
    """An error the client can act on; its code is in ``extensions.code``."""

    def __init__(self, message: str, code: str, **extensions: object) -> None:
        super().__init__(message, extensions={"code": code, **extensions})


def bad_input(message: str, **extensions: object) -> CodedError:
    """The request asked for something malformed: a bad identifier, cursor or page size."""
    return CodedError(message, "BAD_USER_INPUT", **extensions)


def source_failed(error: ConnectorError) -> CodedError:
    """A source failed; the rest of the answer still comes back."""
    code = "SOURCE_TIMEOUT" if isinstance(error, SourceTimeout) else "SOURCE_UNAVAILABLE"
    return CodedError(str(error), code, source=error.source)

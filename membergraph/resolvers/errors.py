"""Expected failures as GraphQL errors with ``extensions.code``; everything else is masked."""

from __future__ import annotations

import logging

from graphql import GraphQLError

from membergraph.connectors.base import ConnectorError, SourceTimeout
from membergraph.identity.store import StoreBusy, StoreError

__all__ = ["CodedError", "bad_input", "over_time_budget", "source_failed", "store_unavailable"]

logger = logging.getLogger(__name__)


class CodedError(GraphQLError):
    """An error the client can act on; its code is in ``extensions.code``."""

    def __init__(self, message: str, code: str, **extensions: object) -> None:
        super().__init__(message, extensions={"code": code, **extensions})


def bad_input(message: str, **extensions: object) -> CodedError:
    """The request asked for something malformed: a bad identifier, cursor or page size."""
    return CodedError(message, "BAD_USER_INPUT", **extensions)


def over_time_budget(seconds: float) -> CodedError:
    """A request ran past its time budget (``MEMBERGRAPH_REQUEST_TIMEOUT``), over HTTP or
    WebSocket: answered ``TIMEOUT`` rather than leaving the client waiting, and one WARNING
    line for the operator (a slow source or store, or a budget too tight)."""
    logger.warning("a request ran past its time budget of %g s: answered TIMEOUT", seconds)
    return CodedError(f"the request took longer than {seconds:g} s", "TIMEOUT")


def source_failed(error: ConnectorError) -> CodedError:
    """A source failed; the rest of the answer still comes back."""
    code = "SOURCE_TIMEOUT" if isinstance(error, SourceTimeout) else "SOURCE_UNAVAILABLE"
    return CodedError(str(error), code, source=error.source)


UNAVAILABLE = "the identity store is unavailable; try again shortly"
BUSY = (
    "the identity store is locked by another connection (a load, a backup, an operator's"
    " transaction) for longer than the request's time budget: nothing was changed; send it"
    " again"
)


def store_unavailable(error: GraphQLError) -> GraphQLError | None:
    """A resolver's store failure as ``STORE_UNAVAILABLE`` (None: not a store failure).

    Which server failed and how goes to the log, never to the client.
    """
    if not isinstance(error.original_error, StoreError):
        return None
    logger.warning("identity store failed: %s", error.original_error)
    said = BUSY if isinstance(error.original_error, StoreBusy) else UNAVAILABLE
    return GraphQLError(
        said,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": "STORE_UNAVAILABLE"},
    )

"""Reading a request's headers straight from its ASGI scope, as the pure ASGI middleware
does: each reads one to three of the dozen headers a request carries, so none builds a
map of them all."""

from __future__ import annotations

from starlette.types import Scope

__all__ = ["header", "named_headers"]


def header(scope: Scope, name: bytes) -> str | None:
    """The value of the header ``name`` (lower-case), the first one sent; None if absent."""
    for key, value in scope["headers"]:
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def named_headers(scope: Scope, names: frozenset[bytes]) -> dict[str, str]:
    """The headers among ``names`` (lower-case), by lower-case name (the last one sent, as
    a dict of them all would hold)."""
    found = {}
    for key, value in scope["headers"]:
        key = key.lower()
        if key in names:
            found[key.decode("latin-1")] = value.decode("latin-1")
    return found

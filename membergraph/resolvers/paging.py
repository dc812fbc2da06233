"""Relay-style paging helpers: opaque cursors and page-size checks."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from membergraph.resolvers.errors import bad_input

__all__ = ["Page", "check_first", "decode_cursor", "encode_cursor", "page_of"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a connection."""

    items: list[tuple[str, T]]  # (cursor, node)
    total: int
    has_next: bool
    has_previous: bool


def encode_cursor(kind: str, value: str) -> str:
    """An opaque cursor: clients must not build or parse them."""
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> str:
    """The value inside a cursor of ``kind``; a foreign or broken cursor is BAD_USER_INPUT."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise bad_input(f"invalid cursor {cursor!r}", argument="after") from None
    prefix, _, value = text.partition(":")
    if prefix != kind or not value:
        raise bad_input(f"cursor {cursor!r} does not belong to this list", argument="after")
    return value


def check_first(first: int, maximum: int) -> None:
    """Refuse page sizes outside 0..maximum with a message naming the limit."""
    if first < 0 or first > maximum:
        raise bad_input(f"first must be between 0 and {maximum}, got {first}", argument="first")


def page_of(nodes: Sequence[T], first: int, after: str | None, kind: str) -> Page[T]:
    """Page an in-memory, already ordered list by position."""
    start = 0
    if after is not None:
        value = decode_cursor(kind, after)
        # ASCII digits only: str.isdigit() takes "²", which int() refuses.
        if not (value.isascii() and value.isdigit() and len(value) <= 18):
            raise bad_input(f"invalid cursor {after!r}", argument="after")
        start = int(value) + 1
    chosen = nodes[start : start + first]
    items = [(encode_cursor(kind, str(start + i)), node) for i, node in enumerate(chosen)]
    return Page(items, len(nodes), start + first < len(nodes), start > 0)

"""Relay-style paging helpers: opaque cursors and page-size checks.

Lists that grow while a client pages (a member's purchases and activity) page by key: the
cursor holds the sort key of the last item seen, not its position, so an item arriving
between two pages never repeats one and never pushes one out of sight.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import orjson

from membergraph.resolvers.errors import bad_input

__all__ = ["Page", "check_first", "decode_cursor", "encode_cursor", "page_by_key", "page_of"]

Key = tuple[float | str, ...]

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


def page_by_key(
    nodes: Sequence[T], first: int, after: str | None, kind: str, key: Callable[[T], Key]
) -> Page[T]:
    """Page a list sorted by ``key``, largest first (newest first), by keyset: the page
    after a cursor starts at the first item whose key sorts after the cursor's."""
    start = 0
    if after is not None:
        last = _key_in(after, kind)
        if nodes and not _same_shape(last, key(nodes[0])):
            # ``tx:[]`` sorts before every key: a hand-made cursor paged to an empty end.
            message = f"cursor {after!r} does not belong to this list"
            raise bad_input(message, argument="after")
        start = next((i for i, node in enumerate(nodes) if key(node) < last), len(nodes))
    chosen = nodes[start : start + first]
    items = [(_cursor(kind, key(node)), node) for node in chosen]
    return Page(items, len(nodes), start + first < len(nodes), start > 0)


def _same_shape(a: Key, b: Key) -> bool:
    """Whether two keys hold as many parts, a text where the other holds a text."""
    return len(a) == len(b) and all(
        isinstance(x, str) == isinstance(y, str) for x, y in zip(a, b, strict=True)
    )


def _cursor(kind: str, key: Key) -> str:
    return encode_cursor(kind, orjson.dumps(key).decode())


def _key_in(cursor: str, kind: str) -> Key:
    value = decode_cursor(kind, cursor)
    try:
        parts = orjson.loads(value)
    except orjson.JSONDecodeError:
        parts = None
    if not isinstance(parts, list) or not all(
        isinstance(p, str | float | int) and not isinstance(p, bool) for p in parts
    ):
        raise bad_input(f"invalid cursor {cursor!r}", argument="after")
    return tuple(parts)

"""Relay-style paging helpers: cursors bound to their list, and page-size checks.

Every list makes and takes back its cursors one way (:class:`Cursors`): ``kind:value`` in
base64url, a dot and a tag, a keyed hash under the store's key (:mod:`.store_keys`) of the
list's kind, whose list it is (a member's ID for a member's ``transactions`` and
``activity``) and the value. A cursor built by hand, given by another list, or for another
member's, is refused with BAD_USER_INPUT naming ``after`` (or ``before``), however well
formed; every gateway over the store takes the cursors any of them gave, after restarts too.

Lists that grow while a client pages (a member's purchases and activity) page by key: the
cursor holds the sort key of the last item seen, not its position, so an item arriving
between two pages never repeats one and never pushes one out of sight.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import orjson

from membergraph.resolvers.errors import bad_input

__all__ = ["Cursors", "Page", "Window", "check_first", "page_by_key"]

Key = tuple[float | str, ...]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a connection."""

    items: list[tuple[str, T]]  # (cursor, node)
    total: int
    has_next: bool
    has_previous: bool


@dataclass(frozen=True, slots=True)
class Cursors:
    """How one list makes its cursors and takes them back (module doc).

    Args:
        kind: the list (``member``, ``tx``, ``activity``, ...).
        tag: the store's keyed hash of cursors (``StoreKeys.tag``).
        whose: whose list it is: the first binds the cursors made, any of them is taken
            (a member's ID and the ID it was asked by: a merge between two pages keeps the
            cursor good for the ID the client pages).
        name: how a refusal names the list ("`matchSuggestions`").
    """

    kind: str
    tag: Callable[..., str]
    whose: tuple[str, ...] = ("",)
    name: str = "this list"

    def make(self, value: str) -> str:
        """The cursor of ``value`` (clients must not build or parse them)."""
        body = base64.urlsafe_b64encode(f"{self.kind}:{value}".encode()).decode().rstrip("=")
        return f"{body}.{self.tag(self.kind, self.whose[0], value)}"

    def open(self, cursor: str, argument: str = "after") -> str:
        """The value of a cursor this list gave; any other is BAD_USER_INPUT."""
        shown = cursor if len(cursor) <= 60 else cursor[:60] + "..."
        body, dot, given = cursor.rpartition(".")
        try:
            text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            text = ""
        kind, _, value = text.partition(":")
        end = "endCursor" if argument == "after" else "startCursor"
        again = f"pass back an edge's `cursor`, or the `{end}` of {self.name}, as it came"
        if not (dot and value and given.isascii()):
            raise bad_input(f"invalid cursor {shown!r}: {again}", argument=argument)
        if kind != self.kind:
            raise bad_input(
                f"cursor {shown!r} does not belong to this list: {again}", argument=argument
            )
        if not any(hmac.compare_digest(given, self.tag(kind, w, value)) for w in self.whose):
            whose = "another member's list" if self.whose != ("",) else "another list"
            raise bad_input(
                f"cursor {shown!r} was not given by this list (made by hand, or given for "
                f"{whose}): {again}",
                argument=argument,
            )
        return value


def check_first(first: int, maximum: int, argument: str = "first") -> None:
    """Refuse page sizes outside 0..maximum with a message naming the limit."""
    if first < 0 or first > maximum:
        raise bad_input(
            f"{argument} must be between 0 and {maximum}, got {first}", argument=argument
        )


@dataclass(frozen=True, slots=True)
class Window:
    """What a page of a keyset list is asked: ``first`` after ``after`` (forward, the
    default), or ``last`` before ``before`` (backward); either cursor may bound the other;
    ``size`` items from the start when neither ``first`` nor ``last`` is given."""

    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    size: int = 10


def page_by_key(
    nodes: Sequence[T], asked: Window, cursors: Cursors, key: Callable[[T], Key]
) -> Page[T]:
    """Page a list sorted by ``key``, largest first (newest first), by keyset: ``after``
    starts the page at the first item whose key sorts after the cursor's, ``before`` ends it
    at the last whose key sorts before it; ``first`` takes the newest of those, ``last`` the
    oldest (``asked.size`` from the start when neither is given). ``has_previous`` and
    ``has_next`` say exactly whether items precede and follow the page, whichever way it was
    read."""
    if asked.first is not None and asked.last is not None:
        raise bad_input("pass first or last, not both", argument="last")
    start, end = 0, len(nodes)
    if asked.after is not None:
        after = _key_in(asked.after, cursors, key, nodes, "after")
        start = next((i for i, node in enumerate(nodes) if key(node) < after), len(nodes))
    if asked.before is not None:
        before = _key_in(asked.before, cursors, key, nodes, "before")
        end = next((i for i, node in enumerate(nodes) if key(node) <= before), len(nodes))
    end = max(start, end)
    if asked.last is not None:
        start = max(start, end - asked.last)
    else:
        end = min(end, start + (asked.size if asked.first is None else asked.first))
    items = [(cursors.make(orjson.dumps(key(node)).decode()), node) for node in nodes[start:end]]
    return Page(items, len(nodes), end < len(nodes), start > 0)


def _same_shape(a: Key, b: Key) -> bool:
    """Whether two keys hold as many parts, a text where the other holds a text."""
    return len(a) == len(b) and all(
        isinstance(x, str) == isinstance(y, str) for x, y in zip(a, b, strict=True)
    )


def _key_in(
    cursor: str, cursors: Cursors, key: Callable[[T], Key], nodes: Sequence[T], argument: str
) -> Key:
    value = cursors.open(cursor, argument)
    try:
        parts = orjson.loads(value)
    except orjson.JSONDecodeError:
        parts = None
    if not isinstance(parts, list) or not all(
        isinstance(p, str | float | int) and not isinstance(p, bool) for p in parts
    ):
        raise bad_input(f"invalid cursor {cursor!r}", argument=argument)
    found = tuple(parts)
    if nodes and not _same_shape(found, key(nodes[0])):
        raise bad_input(f"cursor {cursor!r} does not belong to this list", argument=argument)
    return found

"""``matchSuggestions`` paged by the last pair read, never by position.

A steward reads a page, accepts or rejects some of its pairs, then reads on: the queue has
shrunk by then, and new contacts may have brought new pairs. A position would skip the pairs
that slid up into the page already read. So a cursor names the last pair read: its two
contacts and its place in the order (its sort key). The next page starts after that pair
while it is still listed (scores move together when the contacts grow: the pair keeps its
rank), and after where it stood once it is decided. A cursor holds the order and least score
it was made under: the same place means nothing in another list, so it is refused there.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import orjson

from membergraph.identity.steward_suggestions import MemberSuggestion, match_suggestions
from membergraph.resolvers.context import RequestContext
from membergraph.resolvers.errors import bad_input
from membergraph.resolvers.paging import Cursors, Page, check_first
from membergraph.resolvers.store_keys import list_cursors

__all__ = ["MAX_SUGGESTIONS_PAGE", "SuggestionOrder", "SuggestionPage", "suggestion_page"]

MAX_SUGGESTIONS_PAGE = 100
SuggestionOrder = Literal["best", "worst", "oldest", "newest"]
Place = tuple[float | str, ...]  # ascending in the list's order; the pair's two keys last

_ORDERS = ("best", "worst", "oldest", "newest")
_KIND = "suggestion"
_GIVEN_BY = "pass back an edge's `cursor` or the `endCursor` of `matchSuggestions` as it came"
_LONG_AGO = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SuggestionPage:
    """A page of suggestions, and when each of its members was created (a pair's age)."""

    page: Page[MemberSuggestion]
    created: dict[str, datetime]


async def suggestion_page(
    ctx: RequestContext,
    first: int,
    after: str | None,
    min_score: float | None,
    order: SuggestionOrder = "best",
) -> SuggestionPage:
    """The page after ``after`` of the match suggestions in ``order`` (best, worst, oldest
    or newest first), the whole queue ordered before it is paged."""
    check_first(first, MAX_SUGGESTIONS_PAGE)
    if min_score is not None and not 0.0 <= min_score <= 1.0:
        raise bad_input("minScore is a probability, 0 to 1", argument="minScore")
    gateway = ctx.gateway
    least = gateway.identity.rules.suggestions.min_score if min_score is None else min_score
    cursors = await list_cursors(ctx, _KIND, "matchSuggestions")
    last = None if after is None else _place_in(after, order, least, cursors)
    found = await match_suggestions(gateway.identity, min_score, gateway.scored_pairs)
    created: dict[str, datetime] = {}
    if order in ("oldest", "newest"):
        # By age: every member's creation, read in one pass (chunked by the store).
        created = await gateway.identity.store.member_created(m for s in found for m in s.members)
    places = sorted((_place(s, order, created), n) for n, s in enumerate(found))
    start = 0 if last is None else _start_after(last, [p for p, _ in places])
    chosen = [(p, found[n]) for p, n in places[start : start + first]]
    if not created:
        created = await gateway.identity.store.member_created(
            m for _, s in chosen for m in s.members
        )
    items = [(_cursor(cursors, order, least, place), s) for place, s in chosen]
    page = Page(items, len(found), start + first < len(found), start > 0)
    return SuggestionPage(page, created)


def _place(found: MemberSuggestion, order: SuggestionOrder, created: dict[str, datetime]) -> Place:
    """A pair's sort key, ascending in ``order``: ties fall to the better score, then to
    the two contacts' keys, so every pair has one place."""
    s = found.suggestion
    pair = (s.a[1], s.b[1])
    if order == "best":
        return (-s.score, *pair)
    if order == "worst":
        return (s.score, *pair)
    since = max(created.get(m, _LONG_AGO) for m in found.members).timestamp()
    return (since if order == "oldest" else -since, -s.score, *pair)


def _start_after(last: Place, places: list[Place]) -> int:
    """Where the page after ``last`` starts: right after its pair while listed (its score
    may have moved with the others'), else after the place it held."""
    pair = last[-2:]
    for n, place in enumerate(places):
        if place[-2:] == pair:
            return n + 1
    try:
        return bisect_right(places, last)
    except TypeError:  # a key of other types than this order's
        raise bad_input(f"invalid cursor {_GIVEN_BY}", argument="after") from None


def _cursor(cursors: Cursors, order: SuggestionOrder, least: float, place: Place) -> str:
    return cursors.make(orjson.dumps([order, least, *place]).decode())


def _place_in(after: str, order: SuggestionOrder, least: float, cursors: Cursors) -> Place:
    """The place a cursor names, refused when it is not one of this list's or was made
    under another order or least score."""
    parts = _parts(cursors.open(after))
    if parts is None:
        raise bad_input(f"{after!r} is not a cursor this list gave: {_GIVEN_BY}", argument="after")
    made_order, made_least, *place = parts
    if made_order != order:
        raise bad_input(
            f"this cursor reads on the list in orderBy: {str(made_order).upper()}, not "
            f"{order.upper()}: ask with the orderBy it was given under, or start again "
            "without `after`",
            argument="after",
        )
    if made_least != least:
        raise bad_input(
            f"this cursor reads on the list at minScore {made_least:g}, not {least:g}: ask "
            "with the minScore it was given under, or start again without `after`",
            argument="after",
        )
    return tuple(place)


def _parts(value: str) -> list[float | str] | None:
    """The cursor's order, least score and place; None when they are not a suggestion's."""
    try:
        parts = orjson.loads(value)
    except ValueError:
        return None
    if not isinstance(parts, list) or len(parts) not in (5, 6) or parts[0] not in _ORDERS:
        return None
    typed = all(isinstance(p, int | float) and not isinstance(p, bool) for p in parts[1:-2])
    return parts if typed and all(isinstance(p, str) for p in parts[-2:]) else None

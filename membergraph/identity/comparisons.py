"""How two CRM contacts compare, field by field: the agreement levels that match
suggestions weigh (:mod:`~membergraph.identity.suggestions`).

Each comparison answers a level (``exact``, ``close``, ``differs``, ``missing``, and for
some fields more: an address's ``street`` or ``postcode``, a phone's ``shared``), never a
weight: the weights are rules.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator

from rapidfuzz.distance import OSA, JaroWinkler, Levenshtein

from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.records import RecordData
from membergraph.identity.rules import NearDuplicates

__all__ = [
    "Junk",
    "address_level",
    "agree_on_own",
    "birth_level",
    "contact_levels",
    "fold_text",
    "name_agreement",
    "name_levels",
    "street_of",
    "values_of",
]


def fold_text(text: str | None) -> str:
    if not text:
        return ""
    folded = unicodedata.normalize("NFKD", text.casefold())
    return " ".join("".join(c for c in folded if c.isalnum() or c.isspace()).split())


def name_agreement(a: RecordData, b: RecordData, close: NearDuplicates) -> dict[str, str]:
    """The level of first and last name, by field (:func:`name_levels`)."""
    return {field_: level for field_, level, *_ in name_levels(a, b, close)}


def name_levels(
    a: RecordData, b: RecordData, close: NearDuplicates
) -> list[tuple[str, str, str, str]]:
    """(field, level, ``a``'s name compared folded, ``b``'s as written) of first and last
    name, trying them swapped too."""
    af, al, bf, bl = (
        fold_name(n or "") for n in (a.first_name, a.last_name, b.first_name, b.last_name)
    )

    def level(x: str, y: str, least: float, short: bool) -> str:
        if not x or not y:
            return "missing"
        if x == y:
            return "exact"
        return "close" if close._close(x, y, least, short) else "differs"

    rank = {"exact": 3, "close": 2, "missing": 1, "differs": 0}
    straight = [
        ("first_name", level(af, bf, close.first_name_min, True), af, b.first_name or ""),
        ("last_name", level(al, bl, close.last_name_min, False), al, b.last_name or ""),
    ]
    one = ("", level(al, bf, close.first_name_min, True), al, b.first_name or "")
    other = ("", level(af, bl, close.last_name_min, False), af, b.last_name or "")
    if rank[one[1]] + rank[other[1]] <= rank[straight[0][1]] + rank[straight[1][1]]:
        return straight
    # Swapped: whose names were swapped is not known. Kin share a family name, not a first
    # name, so the better agreement is read as the family name's (the reading that says
    # less): Steven Jackson / Jackson, David is one family name and two first names.
    if rank[one[1]] > rank[other[1]]:
        one, other = other, one
    return [("first_name", *one[1:]), ("last_name", *other[1:])]


def birth_level(a: RecordData, b: RecordData) -> str:
    if a.birth_date is None or b.birth_date is None:
        return "missing"
    if a.birth_date == b.birth_date:
        return "exact"
    x, y = a.birth_date, b.birth_date
    one_part = sum((x.year != y.year, x.month != y.month, x.day != y.day)) == 1
    swapped = x.year == y.year and x.month == y.day and x.day == y.month
    return "close" if one_part or swapped else "differs"


def street_of(address: str) -> str:
    """An address line folded, without spaces (``auroraclose`` is ``aurora close``)."""
    return fold_text(address.partition("|")[0]).replace(" ", "")


def address_level(a: RecordData, b: RecordData) -> str:
    """``exact``; ``close`` (one postcode, lines close); ``street`` (lines close, postcodes
    not: a typed postcode is the likelier slip than the same line elsewhere); ``postcode``
    (the postcode alone); ``differs``."""
    if not a.address or not b.address:
        return "missing"
    post_a, post_b = a.address.partition("|")[2], b.address.partition("|")[2]
    line_a, line_b = street_of(a.address), street_of(b.address)
    same_line = line_a == line_b
    if same_line and post_a == post_b:
        return "exact"
    if not line_a or not line_b:
        return "postcode" if post_a and post_a == post_b else "differs"
    if post_a and post_a == post_b:
        spaced = fold_text(a.address.partition("|")[0]), fold_text(b.address.partition("|")[0])
        return "close" if JaroWinkler.similarity(*spaced) >= 0.88 else "postcode"
    # Elsewhere, only one house number (give or take a slip) on one street; or, under a
    # postcode one slip away (a digit, two swapped), a house number left out on one side.
    near = same_line or JaroWinkler.similarity(line_a, line_b) >= 0.88
    number_a, number_b = _digits(line_a), _digits(line_b)
    slip = bool(number_a and number_b) and Levenshtein.distance(number_a, number_b) <= 1
    if near and not slip and bool(number_a) != bool(number_b):
        slip = bool(post_a and post_b) and OSA.distance(post_a, post_b) <= 1
    return "street" if near and slip else "differs"


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


Junk = Callable[[IdentifierKind, str], bool]
"""Whether a value is a placeholder (:meth:`~membergraph.identity.rules.Rules.is_junk`)."""


def values_of(record: RecordData, kind: IdentifierKind, junk: Junk | None = None) -> set[str]:
    """A record's values of a kind, placeholders left out: they say nothing of anyone."""
    return {
        i.key for i in record.identifiers if i.kind is kind and not (junk and junk(kind, i.key))
    }


def contact_levels(
    a: RecordData,
    b: RecordData,
    home: bool,
    junk: Junk | None,
    crowded: Callable[[IdentifierKind, str], bool] | None = None,
) -> Iterator[tuple[str, str, tuple[str, str]]]:
    """(field, level, the values shown) for phones and e-mails: ``differs`` when each
    contact has one the other lacks (two people, each with their own: twins, a couple; a
    value ``crowded`` says many people carry is no one's own),
    else ``shared`` (``household`` for a phone shared at one address: the household's
    line; ``crowded`` when every value shared is one that ``crowded`` says many people
    carry); nothing when neither applies."""
    for name, kind in (("phone", IdentifierKind.PHONE), ("email", IdentifierKind.EMAIL)):
        mine, theirs = values_of(a, kind, junk), values_of(b, kind, junk)
        # A value many people carry (a store's e-mail typed for her) is no one's own.
        only_mine = sorted(v for v in mine - theirs if not (crowded and crowded(kind, v)))
        only_theirs = sorted(v for v in theirs - mine if not (crowded and crowded(kind, v)))
        shared = sorted(mine & theirs)
        if only_mine and only_theirs:
            yield name, "differs", (only_mine[0], only_theirs[0])
        elif shared:
            own = [value for value in shared if not (crowded and crowded(kind, value))]
            if not own:
                # A family's e-mail, a store's line: sharing it says little of one person.
                yield name, "crowded", (shared[0], shared[0])
                continue
            # A phone shared at one address is the household's line: no news once the
            # address agrees (the fields are not independent there).
            level = "household" if name == "phone" and home else "shared"
            yield name, level, (own[0], own[0])


def agree_on_own(a: RecordData, b: RecordData, close: NearDuplicates) -> bool:
    """Whether two contacts agree on something of the person's own: the birth date, or the
    first name (or the names swapped). A household (same last name, address and line) is
    no evidence of one person when both of those differ: a parent and a child, a couple."""
    if birth_level(a, b) in ("exact", "close"):
        return True
    levels = name_agreement(a, b, close)
    # A first name left out is no sign of another person: the contact may be theirs.
    return levels["first_name"] in ("exact", "close", "missing")

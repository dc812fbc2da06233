"""First names as two forms write one person's: a middle initial added, a short form typed
with a slip.

``Ken A.`` on a web form with a middle-name box is ``Ken``; ``Greg`` on one contact and
``Grefory`` (a slip of ``Gregory``) on the other are one name, as ``Keenny`` (``Kenny``) is
``Kenneth``'s: a listed short form, then a typo, is still close. A slip that lands on
another person's name (``Tina`` is a form of ``Christina``, a slip away from ``Christian``)
is not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping

from rapidfuzz.distance import OSA

from membergraph.identity.normalize import fold_name
from membergraph.identity.typing_slips import keys_beside

__all__ = ["first_name_core", "names_swapped", "slipped_short_form"]

# Started only where a run of spaces starts: Python's ``re`` tries a pattern at every
# position, and from each space of a long run it would read the rest of the run again.
_INITIAL_AT_END = re.compile(r"(?<!\s)\s+\w\.?$")
_SLIP_FROM = 4  # letters: in a shorter name one edit makes another name (Ann/Jan)
_VOWELS = frozenset("aeiouy")


def first_name_core(name: str) -> str:
    """A first name without a middle initial after it (``Ken A.`` is ``Ken``, ``Luis G``
    is ``Luis``); a name that is only an initial stays as it is.

    Example:
        >>> first_name_core("anthony m.")
        'anthony'
    """
    core = _INITIAL_AT_END.sub("", name.strip())
    return core or name


def slipped_short_form(
    a: str,
    b: str,
    forms: Mapping[str, frozenset[str]],
    other_people: Callable[[str, str], bool],
    common: Collection[str] | None = None,
) -> bool:
    """Whether one folded first name is a listed form of the other (``forms``: each name's
    nickname group) typed with one slip (a letter left out, added, another, or two swapped:
    one edit, in a name of four letters or more), and not another person's name
    (``other_people``).
    One edit, not a similarity: ``Chris`` is as like ``Christian`` as ``Christopher``.
    With ``common`` (the common first names), a short form of three letters is read too
    (:func:`_typed_short_form`)."""
    for one, other in ((a, b), (b, a)):
        if len(other) < _SLIP_FROM:
            continue
        for form in forms.get(one, ()):
            if form == one or len(form) < _SLIP_FROM or other_people(form, other):
                continue
            if OSA.distance(form, other, score_cutoff=1) <= 1:
                return True
    return common is not None and _typed_short_form(a, b, forms, common)


def _typed_short_form(
    a: str, b: str, forms: Mapping[str, frozenset[str]], common: Collection[str]
) -> bool:
    """Whether two folded first names, one or both no common first name (a typing), are one
    name: each read as the listed names of three letters or more one slip from it (a common
    name as itself; one slip of the fingers, :func:`_typed`), one of those is the other's or
    a listed form of it. A short form of three letters typed with a slip is too short for the
    one-slip reading above (``Suue``: Sue, Susan's; ``JCK``: Jack, John's; ``Rbo``: Rob,
    Robert's; ``Jum`` and ``Jamees``: Jim and James). Two common names (``Ann``/``Jan``:
    twins') are never read so; two typings meet on a name, not on a short form two names
    share (``Christne``, ``Christopehr``: both ``Chris``).

    Example:
        >>> forms = {"sue": frozenset({"sue", "susan"}), "susan": frozenset({"sue", "susan"})}
        >>> _typed_short_form("suue", "susan", forms, set(forms))
        True
        >>> _typed_short_form("sue", "susan", forms, set(forms))  # both common
        False
    """
    if a in common and b in common:
        return False

    def read(name: str) -> set[str]:
        if name in common or len(name) < 3:
            return {name}
        return {n for n in forms if len(n) >= 3 and _typed(n, name)}

    return any(x == y or y in forms.get(x, ()) for x in read(a) for y in read(b))


def _typed(name: str, typed: str) -> bool:
    """Whether ``typed`` is ``name`` with one slip of the fingers that makes no name: two
    letters next to each other swapped (``Rbo``), one typed with the key beside it (``Jrn``
    for ``Jen``), a letter struck twice (``Suue``), or one left out leaving no vowel
    (``Jck``). Names of their own a letter from a short form are not read so: ``Joy`` (not
    ``Joey``), ``Roy`` (``Ray``: the keys far apart), ``Jana`` (``Jan``)."""
    if OSA.distance(name, typed, score_cutoff=1) != 1:
        return False
    if len(typed) > len(name):  # the letter added doubles the one beside it
        return any(typed[i] == typed[i + 1] for i in range(len(typed) - 1))
    if len(typed) < len(name):
        return not _VOWELS.intersection(typed)
    differ = [(x, y) for x, y in zip(name, typed, strict=True) if x != y]
    return len(differ) == 2 or keys_beside(*differ[0])


def names_swapped(a: tuple[str, str, str], b: tuple[str, str, str]) -> bool:
    """Whether two signatures (first name, family name, birth date) give one name with its
    first and family names swapped, two different words (``Miller William`` and ``William
    Miller``, a form filled in the wrong boxes).

    Example:
        >>> names_swapped(("pham", "susan", ""), ("Susan", "Pham", ""))
        True
        >>> names_swapped(("james", "james", ""), ("james", "james", ""))
        False
    """
    first_a, first_b = (fold_name(first_name_core(sig[0])) for sig in (a, b))
    last_a, last_b = fold_name(a[1]), fold_name(b[1])
    return bool(first_a) and first_a != last_a and (first_a, last_a) == (last_b, first_b)

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
from collections.abc import Callable, Mapping

from rapidfuzz.distance import OSA

from membergraph.identity.normalize import fold_name

__all__ = ["first_name_core", "names_swapped", "slipped_short_form"]

# Started only where a run of spaces starts: Python's ``re`` tries a pattern at every
# position, and from each space of a long run it would read the rest of the run again.
_INITIAL_AT_END = re.compile(r"(?<!\s)\s+\w\.?$")
_SLIP_FROM = 4  # letters: in a shorter name one edit makes another name (Ann/Jan)


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
) -> bool:
    """Whether one folded first name is a listed form of the other (``forms``: each name's
    nickname group) typed with one slip (a letter left out, added, another, or two swapped:
    one edit, in a name of four letters or more), and not another person's name
    (``other_people``).
    One edit, not a similarity: ``Chris`` is as like ``Christian`` as ``Christopher``."""
    for one, other in ((a, b), (b, a)):
        if len(other) < _SLIP_FROM:
            continue
        for form in forms.get(one, ()):
            if form == one or len(form) < _SLIP_FROM or other_people(form, other):
                continue
            if OSA.distance(form, other, score_cutoff=1) <= 1:
                return True
    return False


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

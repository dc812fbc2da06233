"""Whose name an e-mail address carries: a CRM contact's own, or a relative's.

A parent who enrols a student's card gives the parent's own address; a spouse gives the
couple's shop account. Linked as usual, that address joins the parent's card-less online
orders, opens and clicks to the young adult's contact. Nothing else in the data tells the
two apart (the orders carry no name), but the address itself often does: people's
addresses name them, and a relative's names the family with another first name:
``benjaminjohnson@`` or ``dbrown@`` on David Johnson's and Joseph Brown's contacts. A form
of her own name (``kenneth.johnson``, ``kjohnson`` and ``ken_johnson`` on Ken Johnson's), a
maiden name (``sarah_belanger`` on Sarah Gutierrez's) or no name at all
(``coffeelover113``) says nothing against her.
"""

from __future__ import annotations

import re
from functools import lru_cache

from membergraph.identity.name_forms import first_name_core
from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.normalize import fold_name

__all__ = ["a_relatives_email", "names_anyone", "names_her"]

_WORDS = re.compile(r"[\s\-'.,]+")
_NOT_LETTERS = re.compile(r"[^a-z]")
_SEPARATORS = re.compile(r"[._\-]+")
_FAMILY_LEAST = 3  # letters of a family name to look for: "Li" is in too many addresses
_FAMILY_SLIP_FROM = 5  # letters from which a family name typed with one slip is looked for
# Words beside a family name that name the household, not another person of it.
_HOUSEHOLD = frozenset({"the", "family", "fam", "home", "house", "mr", "mrs", "ms", "dr"})


def _words(name: str | None) -> list[str]:
    return [w for w in (fold_name(part) for part in _WORDS.split(name or "")) if w]


def _around(local: str, family: str | None) -> list[tuple[str, str, str]]:
    """Each ``(before, after, word)`` the local part leaves around the family name (whole,
    or a word of it: ``word``), or, when it is nowhere, around the name typed with one slip
    on the contact (``Gacria``: ``seangarcia66``); those with nothing on one side, if any (a
    name and a family name, either way round: ``Howad`` is ``howard`` in
    ``jameshoward``, not ``howar`` and a ``d``)."""
    found = _all_around(local, family)
    clean = [(before, after, word) for before, after, word in found if not (before and after)]
    return clean or found


def _all_around(local: str, family: str | None) -> list[tuple[str, str, str]]:
    found: list[tuple[str, str, str]] = []
    names = sorted({fold_name(family or ""), *_words(family)}, key=len, reverse=True)
    for name in names:
        if len(name) < _FAMILY_LEAST:
            continue
        at = local.find(name)
        while at >= 0:
            found.append((local[:at], local[at + len(name) :], name))
            at = local.find(name, at + 1)
    if found:
        return found
    for name in names:
        if len(name) < _FAMILY_SLIP_FROM:
            continue
        for size in (len(name), len(name) - 1, len(name) + 1):
            for at in range(len(local) - size + 1):
                if NearDuplicates.one_slip(local[at : at + size], name):
                    found.append((local[:at], local[at + size :], name))
    return found


def _hers(
    rest: str, given: str | None, family: str | None, names: NearDuplicates, beside: str = ""
) -> bool:
    """Whether what an address has beside the family name (``beside``, the word of it found)
    can stand for the contact: an initial or a form of her first name (a short form, a
    slip), or another of her names. The initial of the word it is beside is not one of hers
    (``jjones`` on Nicholas Jones's contact: another J. Jones)."""
    firsts = _words(first_name_core(given or ""))
    lasts = [*_words(family), fold_name(family or "")]
    if rest in _HOUSEHOLD:  # johnsonfamily: the household's address, hers too
        return True
    if len(rest) == 1:  # jdoe: an initial
        others = [w for w in lasts if w != beside] if beside else lasts
        return any(form[:1] == rest for w in firsts + others for form in names.first_name_forms(w))
    if rest in lasts:
        return True
    for word in firsts:
        if len(word) <= 2:  # an initial, a clipped name: its first letter is all it says
            if rest[0] == word[0]:
                return True
            continue
        if any(names.first_name_in(rest, form) for form in names.first_name_forms(word)):
            return True
    return False


def a_relatives_email(
    email: str,
    first_name: str | None,
    last_name: str | None,
    names: NearDuplicates,
    *,
    first_names_not_slips: bool = False,
) -> bool:
    """Whether an e-mail on a CRM contact names another person of her family: the part
    before ``@`` (digits and separators aside) is her family name with a first name or an
    initial that is not a form of hers (``benjaminjohnson``, ``dbrown``), or, with no family
    name of hers in it, begins with a listed first name, a whole word, that is not hers
    (``michael397`` on Joseph Smith's, ``richard_harris`` on Patricia Williams's). Names
    written the other way round (``Johnson Ken``) are read both ways: an
    address that fits her either way is hers. With ``first_names_not_slips``, an address that
    is a listed first name and nothing else, that first name being her family name with a
    slip (``william862`` on Richard Williams's: Williams without its s), names that first
    name (a parent's), not her family name typed with a slip; a family name that
    is no common one still counts as a first name of hers written the other way round
    (``matthew112`` on ``SANDERS MATTTHEW``).

    Example:
        >>> names = NearDuplicates()
        >>> a_relatives_email("benjaminjohnson@outlook.com", "David", "Johnson", names)
        True
        >>> a_relatives_email("kjohnson@outlook.com", "Ken", "Johnson", names)
        False
    """
    if not first_name or not last_name or not first_name.strip() or not last_name.strip():
        return False
    if any(names.names_no_one(n) for n in (first_name, last_name, f"{first_name} {last_name}")):
        return False  # Walk-In Customer: the address is whoever stood at the till's
    local = email.rpartition("@")[0].split("+", 1)[0]
    letters = _NOT_LETTERS.sub("", fold_name(local))
    if not letters:
        return False
    for before, after, word in _around(letters, first_name):  # names swapped: Johnson Ken
        rest = before or after
        if rest and not (before and after) and _hers(rest, last_name, first_name, names, word):
            return False
    said = [
        bool(before or after)
        and not (before and after)
        and not _hers(before or after, first_name, last_name, names, word)
        for before, after, word in _around(letters, last_name)
    ]
    slipped = first_names_not_slips and _a_first_name_slipped(letters, last_name, names)
    if said and not slipped:
        return all(said)
    # No family name of hers in it: another person's first name, alone or before another
    # family name (michael397, richard_harris on Patricia Williams's contact). Only whole
    # words: "jonesm" begins with Jon, "donna" with Don.
    words = [w for w in (_NOT_LETTERS.sub("", fold_name(t)) for t in _SEPARATORS.split(local)) if w]
    if not words:
        return False
    if not names.listed_first_name(words[0]):
        return _names_another(letters, words, first_name, last_name, names)
    if any(_hers(word, first_name, last_name, names) for word in words[1:]):
        return False  # thomas.j on Jess Collins's: a family name (a maiden name), her initial
    return not any(
        names.first_names_close(form, words[0])
        for n, field in enumerate((first_name, last_name))  # either way: Patel Steph, stephanie23
        for word in _words(first_name_core(field))
        if not (slipped and n == 1 and names.common_family_name(word))
        for form in names.first_name_forms(word)
    )


def _a_first_name_slipped(letters: str, family: str, names: NearDuplicates) -> bool:
    """Whether an address's letters are a listed first name and nothing else, found only as
    her family name with one slip (``william`` for Williams)."""
    if _NOT_LETTERS.sub("", fold_name(family)) in letters or not names.listed_first_name(letters):
        return False
    found = _all_around(letters, family)
    return bool(found) and all(not before and not after for before, after, _ in found)


def _names_another(
    letters: str, words: list[str], first_name: str, last_name: str, names: NearDuplicates
) -> bool:
    """Whether an address with no name of the contact's in it names another person by
    common names (``first_names``, ``family_names``): a first name alone (``priya401``), a
    first and family name (``miguelsanchez``), or an initial and a family name either way
    round (``nhernandez``, ``andersonp``: a clerk's), none of them hers. A first name or
    initial that begins as hers does not (``srah``, ``jn``: her own name typed short or with
    a slip), nor does a word that is both a first and a family name (``carter``), nor a
    listed first name before letters that are no listed family name: a word of her own
    choosing begins so as often as another's name does (``jackfruit``, ``robinhood``,
    ``tomatoes``)."""
    forms = {
        form
        for field in (first_name, last_name)  # either way round, as above
        for word in _words(first_name_core(field))
        for form in names.first_name_forms(word)
    }
    # Initials a first name may begin with: a common family name in the family field is
    # one (donna169 on Christopher Davis's contact names another, not a D. Davis).
    initials = {
        form[:1]
        for n, field in enumerate((first_name, last_name))
        for word in _words(first_name_core(field))
        if n == 0 or not names.common_family_name(word)
        for form in names.first_name_forms(word)
    }
    family = {*_words(last_name), fold_name(last_name)}

    def another_first(word: str) -> bool:
        return (
            len(word) >= _FAMILY_LEAST
            and names.common_first_name(word)
            and not names.common_family_name(word)
            and word[:1] not in initials
            and not any(names.first_names_close(form, word) for form in forms)
        )

    def another_family(word: str) -> bool:
        return (
            names.common_family_name(word)
            and word not in forms
            and not any(names.last_names_close(word, hers) for hers in family)
        )

    if another_first(words[0]):  # priya401, priya.k: nothing of hers after it
        return not any(_hers(word, first_name, last_name, names) for word in words[1:])
    for cut in range(_FAMILY_LEAST, len(letters) - _FAMILY_LEAST + 1):
        if another_first(letters[:cut]) and another_family(letters[cut:]):
            return True  # miguelsanchez
    return any(
        len(rest) >= _FAMILY_SLIP_FROM
        and initial not in initials
        and another_family(rest)
        and not names.common_first_name(rest)
        for initial, rest in ((letters[0], letters[1:]), (letters[-1], letters[:-1]))
    )  # nhernandez, andersonp


def names_her(
    email: str, first_name: str | None, last_name: str | None, names: NearDuplicates
) -> bool:
    """Whether an e-mail's part before ``@`` names the contact: her family name alone or
    with a form of her first name or an initial beside it (``kjohnson``,
    ``johnson.ken``), or a form of her first name first (``joshua843``). A relative's
    address on a young adult's contact (``hgray53213`` on David Phillips's, his mother's)
    names someone else; ``coffeelover113`` names no one.

    Example:
        >>> names_her("joshua843@mail.com", "Joshua", "Morris", NearDuplicates())
        True
        >>> names_her("hgray53213@gmail.com", "David", "Phillips", NearDuplicates())
        False
        >>> names_her("andrewhill@icloud.com", None, "Hill", NearDuplicates())  # no first name
        True
    """
    first_name, last_name = (first_name or "").strip(), (last_name or "").strip()
    local = email.rpartition("@")[0].split("+", 1)[0]
    letters = _NOT_LETTERS.sub("", fold_name(local))
    if not letters or not (first_name or last_name):
        return False
    for before, after, word in _around(letters, last_name) if last_name else ():
        rest = before or after
        if not first_name or not rest:  # a contact without a first name: nothing against
            return True
        if not (before and after) and _hers(rest, first_name, last_name, names, word):
            return True
    words = [w for w in (_NOT_LETTERS.sub("", fold_name(t)) for t in _SEPARATORS.split(local)) if w]
    return bool(words) and any(
        names.first_name_in(words[0], form)
        for word in _words(first_name_core(first_name))
        if len(word) > 2
        for form in names.first_name_forms(word)
    )


def names_anyone(email: str, names: NearDuplicates) -> bool:
    """Whether an e-mail's part before ``@`` holds a common name of three letters or more
    (``first_names``, ``family_names``, the nicknames' names): ``thomas_johnson``,
    ``sstpierre`` and ``jgreen`` name someone; a handle such as ``coffeelover113`` or
    ``bluejay3322`` names no one, and says nothing of whose it is.

    Example:
        >>> names_anyone("coffeelover113@gmail.com", NearDuplicates())
        False
        >>> names_anyone("thomas_johnson@yahoo.com", NearDuplicates())
        True
    """
    local = email.rpartition("@")[0].split("+", 1)[0]
    letters = _NOT_LETTERS.sub("", fold_name(local))
    return (
        _any_name(names.first_names, names.family_names, names.nicknames).search(letters)
        is not None
    )


@lru_cache(maxsize=4)
def _any_name(
    first_names: tuple[str, ...],
    family_names: tuple[str, ...],
    nicknames: tuple[tuple[str, ...], ...],
) -> re.Pattern[str]:
    words = {
        fold_name(n) for n in (*first_names, *family_names, *(n for g in nicknames for n in g))
    }
    words = {_NOT_LETTERS.sub("", w) for w in words}
    kept = sorted((w for w in words if len(w) >= _FAMILY_LEAST), key=len, reverse=True)
    return re.compile("|".join(kept))

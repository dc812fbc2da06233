"""A holder's name in an e-mail, though the CRM spelt her name with a slip.

Whose an e-mail given with a card is (:mod:`~membergraph.identity.card_emails`) turns on
whether it names the card's holder. The address is typed by her, the name on her contact by
a clerk: ``patriciaanderson46@`` is Patricia Anderson's though her contact says ``Patriia
Andeerson``, ``tsmith@`` Timothy Smith's though it says ``Smih``. A word of her name is in
the address when a stretch of its letters is that word with one slip: a letter missed, added
or hit wrong, or two letters swapped. A short word (four letters) only by a letter missed on
the contact or two swapped (``Kmar`` in ``robert_kumar``, ``Mray`` in ``mary969``): one
letter hit wrong would find ``Tori`` in ``store64602``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz.distance import OSA

from membergraph.identity.normalize import fold_name

__all__ = ["names_one_of_with_slips"]

_NOT_LETTERS = re.compile(r"[^a-z]")
_LEAST = 4  # letters of a name word to look for with a slip: three-letter words match too much
_LONG = 5  # from this length, any one slip


def names_one_of_with_slips(email: str, words: Iterable[str]) -> bool:
    """Whether the part before ``@`` of ``email`` holds one of ``words`` (folded name words),
    each as written or with one slip.

    Example:
        >>> names_one_of_with_slips("patricianelson52@gmail.com", ["trsh", "nelsoon"])
        True
        >>> names_one_of_with_slips("store64602@shop.com", ["tori", "johnson"])
        False
    """
    local = _NOT_LETTERS.sub("", fold_name(email.partition("@")[0]))
    for word in words:
        if word in local:
            return True
        size = len(word)
        if size < _LEAST:
            continue
        lengths = (size - 1, size, size + 1) if size >= _LONG else (size, size + 1)
        for length in lengths:
            for start in range(len(local) - length + 1):
                part = local[start : start + length]
                if OSA.distance(part, word, score_cutoff=1) > 1:
                    continue
                if size >= _LONG or length > size or sorted(part) == sorted(word):
                    return True
    return False

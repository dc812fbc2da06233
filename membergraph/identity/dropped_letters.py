"""One person's two contacts under first names a letter apart, told from twins'.

A clerk who leaves a letter out of her first name (``Micael``, ``Jennifr``) types the same
string as parents who name twins a letter apart (``Patrick`` and ``Patrik``), and both are
born on one day. What tells them apart is her e-mail: a till's typing leaves it as she
spells herself (``michael.collins95@`` on the ``Micael`` contact), while each twin's
address names its own holder (``patrik.smith@``, ``patrick.smith@``) or none (a family's).
"""

from __future__ import annotations

import re

from membergraph.identity.name_forms import first_name_core
from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules

__all__ = ["born_one", "letter_dropped", "typed_without_a_letter"]

_NOT_LETTERS = re.compile(r"[^a-z]")


def letter_dropped(a: str, b: str) -> bool:
    """Whether one folded name is the other with one letter inside it left out (``micael``,
    ``jennifr``): not its first or last letter, nor one of a doubled pair, where names
    differ as often as typings do (``ann``/``anne``, ``alan``/``allan``).

    Example:
        >>> letter_dropped("michael", "micael"), letter_dropped("anne", "ann")
        (True, False)
        >>> letter_dropped("allan", "alan"), letter_dropped("megan", "mean")
        (False, True)
    """
    short, long = (a, b) if len(a) < len(b) else (b, a)
    if len(long) != len(short) + 1:
        return False
    return any(
        long[:at] + long[at + 1 :] == short and long[at] not in (long[at - 1], long[at + 1])
        for at in range(1, len(long) - 1)
    )


def _spelled_by_other(record: RecordData, own: str, other: str) -> bool:
    """Whether an e-mail of a contact spells the other contact's first name, not its own."""
    for identifier in record.identifiers:
        if identifier.kind is IdentifierKind.EMAIL:
            letters = _NOT_LETTERS.sub("", fold_name(identifier.key.rpartition("@")[0]))
            if other in letters and own not in letters:
                return True
    return False


def typed_without_a_letter(rules: Rules, a: RecordData, b: RecordData) -> bool:
    """Whether two contacts born the same given day are one person whose first name a till
    typed with a letter inside left out (``near_duplicates.dropped_letters_born_one``, read
    only where ``births_outweigh_own_values`` lets a birthday count): not both common first
    names, and an e-mail on one spelling the other's first name, not its own (``Micael``
    with ``michael.collins95@``). Twins named ``Patrick`` and ``Patrik`` each have an address
    of their own, or a family's naming neither."""
    near = rules.near_duplicates
    sig_a, sig_b = a.signature, b.signature
    if not (near.dropped_letters_born_one and near.births_outweigh_own_values):
        return False
    if sig_a is None or sig_b is None or near.birth_said(sig_a[2], sig_b[2]) != "agreed":
        return False
    first_a, first_b = (fold_name(first_name_core(sig[0])) for sig in (sig_a, sig_b))
    if not letter_dropped(first_a, first_b):
        return False
    if near.common_first_name(first_a) and near.common_first_name(first_b):
        return False
    return _spelled_by_other(a, first_a, first_b) or _spelled_by_other(b, first_b, first_a)


def born_one(rules: Rules, a: RecordData, b: RecordData) -> bool:
    """Whether two contacts are one person born on one day whose values of their own say
    nothing of two people: ``NearDuplicates.born_one`` on their signatures, or a letter
    left out of her first name (:func:`typed_without_a_letter`)."""
    return rules.near_duplicates.born_one(a.signature, b.signature) or typed_without_a_letter(
        rules, a, b
    )

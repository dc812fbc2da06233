"""Slips of the keys a clerk makes typing a contact: one letter of a name typed with the key
next to the right one (``Jphn`` for ``John``), one digit of a birth year mistyped
(``1983-03-28`` for ``1982-03-28``).
"""

from __future__ import annotations

__all__ = ["finger_slip", "keyboard_slip", "keys_beside", "year_slip"]


def year_slip(a: str, b: str) -> bool:
    """Whether two ISO dates differ in one digit of the year only."""
    return a[4:] == b[4:] and sum(x != y for x, y in zip(a[:4], b[:4], strict=True)) == 1


def _qwerty_neighbours() -> dict[str, frozenset[str]]:
    # Each row is offset by about half a key from the one above: the key in row r, column c
    # touches columns c and c + 1 of the row above and c - 1 and c of the row below.
    rows = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    near: dict[str, set[str]] = {}
    for r, row in enumerate(rows):
        for c, key in enumerate(row):
            spots = [(r, c - 1), (r, c + 1), (r - 1, c), (r - 1, c + 1), (r + 1, c - 1), (r + 1, c)]
            near[key] = {
                rows[rr][cc] for rr, cc in spots if 0 <= rr < len(rows) and 0 <= cc < len(rows[rr])
            }
    return {key: frozenset(keys) for key, keys in near.items()}


_NEAR_KEYS = _qwerty_neighbours()


def keys_beside(x: str, y: str) -> bool:
    """Whether two letters are keys next to each other on a QWERTY keyboard."""
    return y in _NEAR_KEYS.get(x, ())


def keyboard_slip(a: str, b: str) -> bool:
    """Whether two names of four letters or more differ in one letter, typed with a key
    next to the right one."""
    if len(a) != len(b) or len(a) < 4:
        return False
    differ = [(x, y) for x, y in zip(a, b, strict=True) if x != y]
    return len(differ) == 1 and differ[0][1] in _NEAR_KEYS.get(differ[0][0], ())


def finger_slip(a: str, b: str) -> bool:
    """Whether two names differ by a slip of the fingers: a letter typed with the key next
    to the right one (:func:`keyboard_slip`), or two letters next to each other swapped
    (``ptarick``); not by a letter left off or added (``ann``/``anne``), as names do."""
    if keyboard_slip(a, b):
        return True
    if len(a) != len(b) or a == b:
        return False
    at = next(i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y)
    swapped = at + 1 < len(a) and a[at] == b[at + 1] and a[at + 1] == b[at]
    return swapped and a[at + 2 :] == b[at + 2 :]

"""Family names as two forms write one person's or two people's: a generational suffix
(``Bennett Jr.``) on one only tells a father from his son of one name; a second surname
added or left out (``Díaz``/``Díaz Ramírez``) or a hyphenated married name is one person's.
"""

from __future__ import annotations

__all__ = ["generation", "surname_kept"]


_GENERATIONS = {
    "jr": "jr",
    "junior": "jr",
    "sr": "sr",
    "senior": "sr",
    "ii": "ii",
    "2nd": "ii",
    "iii": "iii",
    "3rd": "iii",
    "iv": "iv",
}


def generation(family_name: str) -> tuple[str, str]:
    """A family name without its generational suffix, and the suffix (``""``: none):
    ``Bennett Jr.`` is ``("Bennett", "jr")``. Folded, the suffix would read as a second
    surname kept (``Bennett``/``BennettJr``): a father and his son named alike are two."""
    words = family_name.replace(",", " ").replace(".", " ").split()
    if len(words) > 1 and (generation := _GENERATIONS.get(words[-1].casefold())):
        return " ".join(words[:-1]), generation
    return family_name, ""


def surname_kept(a: str, b: str) -> bool:
    """Whether one folded family name begins or ends the other: a second surname added or
    left out (``Díaz``/``Díaz Ramírez``), a hyphenated married name (``Dubois-Harris``)."""
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return len(short) >= 3 and (long.startswith(short) or long.endswith(short))

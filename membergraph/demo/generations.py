"""The tenth round's phenomenon (issue 19), drawn from its own random stream
(``Generator.tenth``) so that the rest of a data set stays what it was for a seed.

A son named after his father (``junior``): the household's youngest, at least 18 years
younger than its eldest man-or-woman of the name, takes that elder's first and family name;
his contacts write ``Jr.`` after the family name, and the father's ``Sr.``, each only as
often as a form has room for it (``generation_written``). Without the suffix, two contacts
of one name at one address differ only by their birth dates and values of their own: two
people all the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from membergraph.demo.people import Generator, Person

__all__ = ["name_sons_after_fathers", "written_family_name"]


def _renamed(email: str | None, was: str, now: str) -> str | None:
    """An e-mail made from the name drawn before, naming its person as he is now (no draw)."""
    if email is None or not email.startswith(was.lower()):
        return email
    return now.lower() + email[len(was) :]


def name_sons_after_fathers(gen: Generator, households: dict[int, list[Person]]) -> None:
    """Name a household's youngest after its eldest, at the profile's ``junior`` rate."""
    rate = gen.profile.junior
    if rate <= 0:
        return
    for members_ in households.values():
        if len(members_) < 2:
            continue
        eldest = min(members_, key=lambda p: p.birth)
        son = max(members_, key=lambda p: p.birth)
        if son.birth.year - eldest.birth.year < 18 or son.twin_of or eldest.twin_of:
            continue
        if gen.tenth.random() >= rate:
            continue
        son.email = _renamed(son.email, son.first, eldest.first)
        son.first, son.last = eldest.first, eldest.last
        son.generation, eldest.generation = "Jr.", "Sr."


def written_family_name(gen: Generator, p: Person, last: str) -> str:
    """A contact's family name as written: with the person's generational suffix (``Jr.``,
    ``Sr.``) as often as the profile's ``generation_written``."""
    if p.generation is None or not last:
        return last
    if gen.tenth.random() >= gen.profile.generation_written:
        return last
    return f"{last} {p.generation}"

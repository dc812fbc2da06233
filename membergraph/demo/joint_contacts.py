"""The thirty-second round's fourth phenomenon (issue 19), drawn from its own random stream
(``Generator.joint``) so that the rest of a data set stays what it was for a seed.

A couple's joint contact: the partner who enrolled wrote both first names in the form's
first-name field (``Mary & John``, ``John and Mary``), as a household's account is often
opened at a loyalty desk. The contact is hers (her e-mail, her card, her mobile); his own
contact, if he enrolled too, carries his name alone, the same family name and the same
home. A rule reading names sees his first name on her contact; her other contact (a
duplicate) carries her name alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from membergraph.demo.people import Generator, Person

__all__ = ["joint_contacts"]

NAME = "joint_contact"


def joint_contacts(
    gen: Generator, households: dict[int, list[Person]], taken: set[str]
) -> set[str]:
    """Write, at the profile's ``joint_contact`` rate, a household's first two adults' names
    on the first one's first contact (the one in the CRM), neither ``taken`` by another
    phenomenon; the couples' ids."""
    rate, rng = gen.profile.joint_contact, gen.joint
    couples: set[str] = set()
    if rate <= 0:
        return couples
    for members_ in households.values():
        adults = [p for p in members_[:2] if p.birth.year <= 2003 and not p.twin_of]
        if len(adults) < 2 or any(p.generation or p.id in taken for p in adults):
            continue
        if rng.random() >= rate:
            continue
        holder, partner = adults if adults[0].in_crm else adults[::-1]
        if not holder.in_crm or holder.first == partner.first:
            continue
        joiner = rng.choice([" & ", " and ", " + ", "&"])
        first, second = (holder.first, partner.first)
        kind = "hers first"
        if rng.random() < 0.4:
            first, second, kind = second, first, "his first"
        holder.joint_first = f"{first}{joiner}{second}"
        seen = "he enrolled" if partner.in_crm else "he did not"
        gen.touched.setdefault(NAME, []).append((f"{kind},{seen}", holder.id, partner.id))
        couples |= {holder.id, partner.id}
    return couples

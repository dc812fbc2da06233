"""The thirty-second round's first phenomenon (issue 19), drawn from its own random stream
(``Generator.namesakes``) so that the rest of a data set stays what it was for a seed.

A father falls silent: his CRM contact is updated no more and his card is used no more (he
shops elsewhere, he moved in with a partner), months before the data ends. His son of his
first and family name, grown up, enrols later on the household's e-mail (the father's own,
or the family's he gave), without a birth date, with a card and a mobile of his own, and
uses the card in store. Both are alive; the two contacts, one name on one address, one
ending before the other begins, are what the handover rules
(``reenrolments.one_name_handed_over``, ``handed_over_least_days``) read as one customer
enrolled again. The son enrols a few days after his father's contact or card was last seen
(``days``: 13 calendar days at most, under ``handed_over_least_days``) or months after
(``months``: 45 days or more).
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from membergraph.demo.orders import between, order_line, stamp
from membergraph.demo.people import Person
from membergraph.demo.vocabulary import NOW

if TYPE_CHECKING:
    from membergraph.demo.people import Generator, Writer

__all__ = ["namesake_sons", "silence_fathers"]

NAME = "namesake_son"


def silence_fathers(
    gen: Generator, w: Writer, households: dict[int, list[Person]]
) -> list[tuple[Person, str]]:
    """Pick, at the profile's ``namesake_son`` rate, fathers (born 1976 or before, in the
    CRM with an e-mail and a card) whose contacts and purchases fall silent (their lines
    written 90 to 400 days earlier); each with the kind of gap before his son enrols."""
    rate, rng = gen.profile.namesake_son, gen.namesakes
    if rate <= 0:
        return []
    fathers: list[tuple[Person, str]] = []
    for members_ in households.values():
        twins = {p.twin_of for p in members_} - {None}
        elders = {p.elder_email for p in members_} - {None}
        for person in members_:
            fit = person.in_crm and person.card and person.email and person.birth.year <= 1976
            if not fit or person.twin_of or person.id in twins or person.generation:
                continue
            if person.email in elders or rng.random() >= rate:
                continue
            w.silenced[person.id] = timedelta(days=rng.randrange(90, 400))
            kind = "days" if rng.random() < gen.profile.namesake_son_days else "months"
            fathers.append((person, kind))
            break  # one father a household
    return fathers


def namesake_sons(
    gen: Generator,
    w: Writer,
    fathers: list[tuple[Person, str]],
    address: dict[int, tuple[str, str, str]],
) -> None:
    """Write each silenced father's son: his contact, undated, on the household's e-mail
    with a card and a mobile of his own, a few days or months after his father's last line,
    and his card's purchases in store from then on."""
    rng = gen.namesakes
    for father, kind in fathers:
        last = w.last_seen.get(father.id, NOW - w.silenced[father.id])
        room = (NOW - last).days - 20
        # Days: at most 13 calendar days from his last day to the son's first.
        gap = rng.randrange(1, 13) if kind == "days" else rng.randrange(45, max(46, room))
        start = last + timedelta(days=gap, seconds=rng.randrange(86400))
        son = gen.new_person_id()
        card = f"LD{rng.randrange(10**7, 10**8)}"
        email = father.family if father.family and rng.random() < 0.5 else father.email
        home = address[father.household]
        contact = gen.new_contact_id()
        line = {
            "contact_id": contact,
            "first_name": father.first if rng.random() < 0.8 else father.first.upper(),
            "last_name": father.last,
            "emails": [email],
            "phones": [gen.phone(rng)],
            "loyalty_id": card,
            "birth_date": None,
            "address": {"line1": home[0], "city": home[1], "postal_code": home[2], "country": "US"},
            "preferred_language": "en",
            "consents": {k: rng.random() < 0.7 for k in ("email", "sms", "push", "phone")},
            "updated_at": stamp(min(start, NOW)),
        }
        w.write("crm", line, contact, son)
        for _ in range(rng.randint(2, 6)):
            order = order_line(rng, "TN", between(rng, min(start, NOW)), card, None)
            w.write("transactions", order, order["transaction_id"], son)
        family = "family" if email == father.family else "his"
        gen.touched.setdefault(NAME, []).append((f"{kind},{family}", father.id, son))

"""The thirty-second round's third phenomenon (issue 19), drawn from its own random stream
(``Generator.old_contacts``) so that the rest of a data set stays what it was for a seed.

A customer's first enrolment, years before the data begins: a contact without a birth date,
on her e-mail, with a card of its own and no phone (or an old number of its own). She keeps
using that card, in store and on the web store, where she orders under an address she never
gave the CRM (her work's, a newer one); later she enrolled again, dated (the contact her
other lines already make). What ``undated_using_another_apart`` reads as two people: the
undated contact, first seen before the dated one, seen using an address neither holds.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from membergraph.demo.orders import between, order_line, stamp
from membergraph.demo.vocabulary import DOMAINS, NOW

if TYPE_CHECKING:
    from membergraph.demo.people import Generator, Person, Writer

__all__ = ["old_contacts"]

NAME = "old_contact_in_use"


def old_contacts(
    gen: Generator,
    w: Writer,
    people: list[Person],
    address: dict[int, tuple[str, str, str]],
    taken: set[str],
) -> None:
    """Write, at the profile's ``old_contact_in_use`` rate, an adult's older undated contact
    (people ``taken`` by another phenomenon excepted), its card's purchases over the data's
    two years and one or two of its web orders under an address of hers no contact holds."""
    rate, rng = gen.profile.old_contact_in_use, gen.old_contacts
    if rate <= 0:
        return
    for p in people:
        adult = p.birth.year <= NOW.year - 26
        if not (p.in_crm and p.email and adult) or p.twin_of or p.generation or p.id in taken:
            continue
        if p.elder_email or rng.random() >= rate:
            continue
        written = NOW - timedelta(days=730 + rng.randrange(30, 1500), seconds=rng.randrange(86400))
        card = f"LD{rng.randrange(10**7, 10**8)}"
        home = address[p.household]
        phones = [gen.phone(rng)] if rng.random() < 0.5 else []
        contact = gen.new_contact_id()
        line = {
            "contact_id": contact,
            "first_name": p.first,
            "last_name": p.last,
            "emails": [p.email],
            "phones": phones,
            "loyalty_id": card,
            "birth_date": None,
            "address": {"line1": home[0], "city": home[1], "postal_code": home[2], "country": "US"},
            "preferred_language": "en",
            "consents": {k: rng.random() < 0.7 for k in ("email", "sms", "push", "phone")},
            "updated_at": stamp(written),
        }
        w.write("crm", line, contact, p.id)
        since = NOW - timedelta(days=730)
        for _ in range(rng.randint(2, 5)):
            order = order_line(rng, "TO", between(rng, since), card, None)
            w.write("transactions", order, order["transaction_id"], p.id)
        local = f"{p.first.lower()}.{p.last.lower()}{rng.randrange(10, 100)}"
        other = f"{local}@{rng.choice(['workmail.com', *DOMAINS])}"
        for _ in range(rng.randint(1, 2)):
            order = order_line(rng, "TO", between(rng, since), card, other)
            w.write("transactions", order, order["transaction_id"], p.id)
        kind = "old phone" if phones else "no phone"
        gen.touched.setdefault(NAME, []).append((kind, p.id))

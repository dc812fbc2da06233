"""The thirtieth round's phenomenon (issue 19), drawn from its own random stream
(``Generator.thirtieth``) so that the rest of a data set stays what it was for a seed.

A young adult (25 or younger) with a card of her own orders online, on the web's store,
with her card under an elder's address: the household's eldest with an e-mail, 18 years
or more older (a student shopping on a parent's account, the parent's address for the
receipts). The elder's own card-less online orders are under that address too: to a rule
that takes every address a card's web order gives as the holder's, they are hers.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from membergraph.demo.orders import order_line
from membergraph.demo.people import a_generation_older, eldest_with_email
from membergraph.demo.vocabulary import NOW

if TYPE_CHECKING:
    from membergraph.demo.people import Generator, Person, Writer

__all__ = ["parents_address_orders"]


def parents_address_orders(gen: Generator, w: Writer, households: dict[int, list[Person]]) -> None:
    """Write, at the profile's ``parents_address`` rate, one to three web orders of a young
    adult's card under her household's eldest's e-mail."""
    rate, rng = gen.profile.parents_address, gen.thirtieth
    if rate <= 0:
        return
    for members_ in households.values():
        eldest = eldest_with_email(members_)
        if eldest is None:
            continue
        for person in members_:
            young = person.birth.year >= NOW.year - 25 and person.card is not None
            if not young or not a_generation_older(eldest, person):
                continue
            if rng.random() >= rate:
                continue
            for _ in range(rng.randint(1, 3)):
                moment = NOW - timedelta(seconds=rng.randrange(730 * 86400))
                line = order_line(rng, "TP", moment, person.card, eldest.email)
                tid = line["transaction_id"]
                w.write("transactions", line, tid, person.id)

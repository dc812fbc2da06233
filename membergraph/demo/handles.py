"""The thirty-second round's second phenomenon (issue 19), drawn from its own random
stream (``Generator.handles``) so that the rest of a data set stays what it was for a seed.

A household's shared address is a handle: one that names none of them (``family.home42@``,
``ourhouse7@``: ``anyone``) or only the family (``thesmiths1990@``: ``family``). A parent
gives it on her contact and on the contact she enrols a student of the household with (25 or
younger); the student also uses an address of her own (her card's web orders under it).
Card-less web orders come under the handle: the parent's (``parent``), or the student's,
who orders under both (``student``). What ``shared_emails_given_for_others`` reads: the
student seen using her own address and never the shared one, the orders are the parent's.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from membergraph.demo.orders import order_line
from membergraph.demo.people import a_generation_older
from membergraph.demo.vocabulary import DOMAINS, NOW

if TYPE_CHECKING:
    from membergraph.demo.people import Generator, Person, Writer

__all__ = ["give_handles", "handle_orders"]

NAME = "shared_handle"
_WORDS = ["family.home", "ourhouse", "home.mail", "the.family", "sunnyhouse", "homebase"]


def give_handles(
    gen: Generator,
    households: dict[int, list[Person]],
    family_email: dict[int, str],
    taken: set[str],
) -> list[tuple[Person, Person, str]]:
    """Give, at the profile's ``shared_handle`` rate, a household without a family address
    a handle on a parent's contact and a student's (neither ``taken`` by another
    phenomenon, so that each case shows one); each pair with its kind: whose orders
    come under it, and whether it names the family."""
    rate, rng = gen.profile.shared_handle, gen.handles
    if rate <= 0:
        return []
    pairs: list[tuple[Person, Person, str]] = []
    for household, members_ in households.items():
        if household in family_email:
            continue
        parents = [p for p in members_ if p.in_crm and p.email and p.birth.year <= 1988]
        students = [
            p for p in members_ if p.in_crm and p.email and p.card and p.birth.year >= NOW.year - 25
        ]
        pair = next(((a, b) for a in parents for b in students if a_generation_older(a, b)), None)
        if pair is None or any(p.family or p.id in taken for p in pair) or rng.random() >= rate:
            continue
        parent, student = pair
        named = "anyone" if rng.random() < 0.6 else "family"
        local = rng.choice(_WORDS) if named == "anyone" else f"the{parent.last.lower()}s"
        number = rng.randrange(10, 1000) if named == "anyone" else rng.randrange(1960, 2000)
        parent.handle = student.handle = f"{local}{number}@{rng.choice(DOMAINS)}"
        user = "parent" if rng.random() < gen.profile.handle_parents_orders else "student"
        pairs.append((parent, student, f"{user},{named}"))
    return pairs


def handle_orders(gen: Generator, w: Writer, pairs: list[tuple[Person, Person, str]]) -> None:
    """Write each student's card web orders under her own address, and the card-less web
    orders under the household's handle, the parent's or the student's."""
    rng = gen.handles
    for parent, student, user in pairs:
        assert student.handle is not None and student.email is not None
        for _ in range(rng.randint(1, 2)):
            moment = NOW - timedelta(seconds=rng.randrange(730 * 86400))
            line = order_line(rng, "TH", moment, student.card, student.email)
            w.write("transactions", line, line["transaction_id"], student.id)
        buyer = parent if user.startswith("parent") else student
        for _ in range(rng.randint(1, 3)):
            moment = NOW - timedelta(seconds=rng.randrange(730 * 86400))
            line = order_line(rng, "TH", moment, None, student.handle)
            w.write("transactions", line, line["transaction_id"], buyer.id)
        gen.touched.setdefault(NAME, []).append((user, parent.id, student.id))

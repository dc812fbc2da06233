"""The eighth round's phenomena (issue 19), each drawn from its own random stream
(``Generator.eighth``) so that the rest of a data set stays what it was for a seed.

- A re-enrolment at a till that took no e-mail: the duplicate shares only the phone and
  address with the first contact (``till_reenrolment``); of those, people who shop with the
  new card since, its online orders giving their e-mail (``reenrolled_card_used``).
- An e-mail given with a ``+tag`` on any domain, not only Gmail's (``email_tagged``), or
  copied from a page with a zero-width space along (``email_invisible``).
- A duplicate's first name with a middle initial (``Ken A.``, ``middle_initial``), and a
  short form typed with a slip (``Jhonny`` for John's ``Johnny``, ``slipped_short_name``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from membergraph.demo.names import mistyped
from membergraph.demo.people import happens
from membergraph.demo.vocabulary import STORE_EMAIL

if TYPE_CHECKING:
    from membergraph.demo.people import Generator, Person

__all__ = ["as_given", "duplicate_first_name", "till_reenrolment_emails"]

_ZWSP = "\u200b"


def till_reenrolment_emails(gen: Generator, p: Person, emails: list[str], card: str) -> list[str]:
    """A re-enrolment's e-mails: as the first contact's, or, made at a till that took no
    e-mail, none or the store's own address; she may shop with the new ``card`` since
    (her online orders on it give her e-mail)."""
    if not happens(gen.eighth, gen.profile.till_reenrolment):
        return emails
    rng = gen.eighth
    if p.card and happens(gen.eighth, gen.profile.reenrolled_card_used):
        p.card = card
    return [STORE_EMAIL.format(store=rng.randrange(1, 40))] if rng.random() < 0.5 else []


def as_given(gen: Generator, email: str, tagged: bool = False) -> str:
    """An e-mail as a person gives it: with a ``+tag`` on any domain (when ``tagged`` is
    allowed: an online order), or with a zero-width space copied along."""
    if tagged and "+" not in email and happens(gen.eighth, gen.profile.email_tagged):
        local, at, domain = email.rpartition("@")
        email = f"{local}+{gen.eighth.choice(['shop', 'deals', 'nf'])}{at}{domain}"
    if happens(gen.eighth, gen.profile.email_invisible):
        email += _ZWSP
    return email


def duplicate_first_name(gen: Generator, first: str, variant: str) -> str:
    """A duplicate's first name as written (``variant``: the name variant drawn): a middle
    initial after it, or a short form typed with a slip."""
    profile = gen.profile
    if variant == "short" and happens(gen.eighth, profile.slipped_short_name):
        first = mistyped(gen.eighth, first)
    if happens(gen.eighth, profile.middle_initial):
        first = f"{first} {gen.eighth.choice('ABCDEFGHJKLMNPRSTW')}."
    return first

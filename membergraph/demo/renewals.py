"""The eleventh round's phenomena (issue 19), each drawn from its own random stream
(``Generator.eleventh``) so that the rest of a data set stays what it was for a seed.

- A duplicate's birth date with one digit of the year mistyped (``birth_year_slipped``:
  ``1983-03-28`` typed ``1982-03-28`` or ``1993-03-28``); the day and month stay hers.
- A duplicate made after she changed her mobile number (``new_mobile``): the second
  contact carries the new number, not the old, and both forms took her birth date. Each
  contact then has a phone of its own, as twins on a household's landline have: only the
  birth date and the first name, which twins do not share both, tell her apart from them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from membergraph.demo.people import happens
from membergraph.demo.vocabulary import NOW

if TYPE_CHECKING:
    from membergraph.demo.people import Generator, Person

__all__ = ["renewed_phones", "slipped_birth"]


def slipped_birth(gen: Generator, birth: str | None) -> str | None:
    """A duplicate's birth date (ISO) as typed: one digit of its year mistyped, at the
    profile's ``birth_year_slipped`` rate."""
    if birth is None or not happens(gen.eleventh, gen.profile.birth_year_slipped):
        return birth
    rng = gen.eleventh
    at = rng.choice([2, 3])  # the decade or the year: the digits people slip on
    digit = rng.choice([d for d in "0123456789" if d != birth[at]])
    slipped = birth[:at] + digit + birth[at + 1 :]
    # A form refuses a date after today (so does ingestion: no one is born after it): the
    # slip into the future (2004 typed 2044) was caught there and the date typed right.
    return birth if slipped > NOW.date().isoformat() else slipped


def renewed_phones(gen: Generator, p: Person, phones: list[str], birth: str | None) -> list[str]:
    """A duplicate's phones, its mobile a new number at the profile's ``new_mobile`` rate
    when its form took the birth date (her old number gone with her old contract)."""
    if birth is None or not p.mobile or not happens(gen.eleventh, gen.profile.new_mobile):
        return phones
    kept = [phone for phone in phones if _digits(phone)[-10:] != p.mobile[-10:]]
    return [gen.phone(gen.eleventh), *kept]


def _digits(phone: str) -> str:
    return "".join(ch for ch in phone if ch.isdigit())

"""One birthday under one first name, written in full on one contact and as its short form on
the other: one person, whatever values of her own each has."""

from __future__ import annotations

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, world

LANDLINE = "3134380747"  # the household's line, on both contacts
HOME = {"line1": "8043 River St", "city": "Springfield", "postal_code": "48928", "country": "US"}


def contacts(first: str, again: str) -> tuple:
    one = crm(
        "C0000001", first=first, last="Harris", birth="1950-09-26",
        emails=["sunshine12@mail.org"], phones=[LANDLINE], address=HOME,
    )  # fmt: skip
    other = crm(
        "C0000002", first=again, last="Harris", birth="1950-09-26",
        emails=["bluejay34@work.org"], phones=[LANDLINE], address=HOME,
    )  # fmt: skip
    return one, other


@pytest.mark.parametrize(
    ("first", "again", "merged"),
    [
        pytest.param("Jennifer", "Jen", True, id="a-listed-short-form"),
        pytest.param("William", "Billy", True, id="a-listed-pet-name"),
        pytest.param("Jennifer", "Jennifer", True, id="one-name"),
        # Twins' names a letter apart, or a short form that is two names' (Christopher's,
        # Christine's): their values of their own say two people.
        pytest.param("Anne", "Ann", False, id="twins-a-letter-apart"),
        pytest.param("Jon", "John", False, id="twins-jon-and-john"),
        pytest.param("Christine", "Chris", False, id="a-short-form-of-two-names"),
    ],
)
def test_a_short_form_under_one_birthday_is_one_first_name(
    first: str, again: str, merged: bool
) -> None:
    # Given two contacts on the household's line, born on one day, each with an e-mail of
    # its own (her old address and her new one, or twins')
    one, other = contacts(first, again)
    result = resolve(world(one, other))
    # Then they are one member exactly when the two first names are one name
    member = next(c for c in result.components if one.ref in c)
    assert (other.ref in member) is merged


def test_short_forms_born_one_is_a_rule() -> None:
    # Given Jennifer and Jen Harris, born on one day, each with an e-mail of her own
    one, other = contacts("Jennifer", "Jen")
    off = Rules(near_duplicates=NearDuplicates(short_forms_born_one=False))
    # Then with the rule off their values of their own keep them apart, as before
    member = next(c for c in resolve(world(one, other), off).components if one.ref in c)
    assert other.ref not in member

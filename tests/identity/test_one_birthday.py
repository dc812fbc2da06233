"""Two contacts sharing a phone, both born on the same given day: a first name typed wrong
on one (``typos_born_one``) and a postcode of her new home (``one_birthday_outweighs_
postcodes``) do not make them two people (issue 19: her contacts apart on a shared phone)."""

from __future__ import annotations

from typing import Any

import pytest

from membergraph.identity.dropped_letters import letter_dropped
from membergraph.identity.engine import resolve
from membergraph.identity.name_forms import names_swapped
from membergraph.identity.phone_duplicates import ReenrolmentRules
from membergraph.identity.rules import NearDuplicates, Rules, load_rules
from membergraph.identity.typing_slips import finger_slip
from tests.identity.builders import crm, together, world

HOME = {"line1": "8698 Lincoln Ct", "city": "Springfield", "postal_code": "58074", "country": "US"}
NEW_HOME = {"line1": "714 Main Ct", "city": "Dayton", "postal_code": "45402", "country": "US"}
MOBILE = "7166034233"
BORN = "1969-07-02"
NO_TYPOS = Rules(near_duplicates=NearDuplicates(typos_born_one=False))
NO_DROPS = Rules(near_duplicates=NearDuplicates(dropped_letters_born_one=False))
NO_BIRTHS = Rules(near_duplicates=NearDuplicates(births_outweigh_own_values=False))
NO_SWAPS = Rules(near_duplicates=NearDuplicates(swapped_names_born_one=False))
NO_MOVES = Rules(reenrolments=ReenrolmentRules(one_birthday_outweighs_postcodes=False))


# The first contact: Patrick Roberts, born 1969-07-02, his mobile, his own e-mail, at HOME.
# The second shares the mobile and has an e-mail of its own.
@pytest.mark.parametrize(
    ("second", "rules", "merged"),
    [
        # A typing of his first name, one birthday: his old and new e-mails.
        pytest.param({"first": "Patruck"}, Rules(), True, id="a-typed-first-name"),
        pytest.param({"first": "Patruck"}, NO_TYPOS, False, id="typos-rule-off"),
        pytest.param({"first": "Ptarick"}, Rules(), True, id="two-letters-swapped"),
        # Twins a letter apart: a letter left off, not a slip of the fingers.
        pytest.param({"first": "Patric"}, Rules(), False, id="twins-patrick-and-patric"),
        # A letter inside left out (twenty-eighth round, dropped_letters_born_one): a till's
        # typing leaves her e-mail as she spells herself; a twin's names him, or no one.
        pytest.param({"first": "Patrik", "emails": ["patrikroberts69@yahoo.com"]}, Rules(),
                     False, id="twins-patrick-and-patrik"),
        pytest.param({"first": "Patrik", "emails": ["the.roberts.family@mail.com"]}, Rules(),
                     False, id="twins-a-family-address"),
        pytest.param({"first": "Patrik", "emails": ["proberts69@yahoo.com"]}, Rules(), False,
                     id="an-address-by-initial"),
        pytest.param({"first": "Patrik"}, Rules(), True, id="a-letter-inside-left-out"),
        pytest.param({"first": "Patrik"}, NO_DROPS, False, id="dropped-letters-rule-off"),
        pytest.param({"first": "Patrik"}, NO_BIRTHS, False, id="birthdays-outweigh-nothing"),
        pytest.param({"first": "Patrik", "birth": "1969-02-07"}, Rules(), False,
                     id="a-letter-left-out-day-and-month-swapped"),
        pytest.param({"first": "Patric"}, Rules(), False, id="the-last-letter-left-off"),
        # His name in the wrong boxes, one birthday (twenty-eighth round).
        pytest.param({"first": "Roberts", "last": "Patrick"}, Rules(), True,
                     id="first-and-family-names-swapped"),
        pytest.param({"first": "ROBERTS", "last": "Patrick A."}, Rules(), False,
                     id="swapped-an-initial-in-the-family-box"),
        pytest.param({"first": "Roberts", "last": "Patrick"}, NO_SWAPS, False,
                     id="swapped-names-rule-off"),
        pytest.param({"first": "Roberts", "last": "Patrick", "birth": "1969-02-07"}, Rules(),
                     False, id="swapped-names-day-and-month-swapped"),
        # The day and month swapped, or a year slipped, say less than one day.
        pytest.param({"first": "Patruck", "birth": "1969-02-07"}, Rules(), False,
                     id="day-and-month-swapped"),
        pytest.param({"first": "Patruck", "birth": "1968-07-02"}, Rules(), False,
                     id="a-year-slipped"),
        # His new home: one birthday under one first name is a move.
        pytest.param({"first": "Patrick J.", "address": NEW_HOME}, Rules(), True,
                     id="one-name-a-new-home"),
        pytest.param({"first": "Patruck", "address": NEW_HOME}, Rules(), True,
                     id="a-typed-name-a-new-home"),
        pytest.param({"first": "Patrick J.", "address": NEW_HOME}, NO_MOVES, False,
                     id="moves-rule-off"),
        pytest.param({"first": "Patrick J.", "address": NEW_HOME, "birth": "1968-07-02"},
                     Rules(), False, id="a-new-home-a-year-slipped"),
        pytest.param({"first": "Patric", "address": NEW_HOME}, Rules(), False,
                     id="twins-at-two-homes"),
    ],
)  # fmt: skip
def test_one_birthday_on_a_shared_phone(second: dict[str, Any], rules: Rules, merged: bool) -> None:
    # Given his contact and a second one on his mobile, each with an e-mail of its own
    first = crm("C0000001", first="Patrick", last="Roberts", birth=BORN, phones=[MOBILE],
                emails=["patrickroberts69@gmail.com"], card="LD61000001", address=HOME)  # fmt: skip
    fields = {"first": "Patrick", "last": "Roberts", "birth": BORN, "address": HOME,
              "emails": ["patrickroberts69@yahoo.com"], **second}  # fmt: skip
    other = crm("C0000002", phones=[MOBILE], card="LD61000002", **fields)
    # When resolved
    result = resolve(world(first, other), rules)
    # Then they are one member exactly when one given birthday under one first name says so
    assert together(result, first.ref, other.ref) is merged


@pytest.mark.parametrize(
    ("typed", "meant", "slip"),
    [
        pytest.param("patruck", "patrick", True, id="a-key-beside"),
        pytest.param("ptarick", "patrick", True, id="two-letters-swapped"),
        pytest.param("patrikc", "patrick", True, id="the-last-two-swapped"),
        pytest.param("patric", "patrick", False, id="a-letter-left-off"),
        pytest.param("ann", "anne", False, id="a-letter-added"),
        pytest.param("patrick", "patrick", False, id="the-same"),
        pytest.param("pzrick", "patrick", False, id="two-letters-apart"),
        pytest.param("tapirck", "patrick", False, id="two-swaps"),
    ],
)
def test_a_slip_of_the_fingers(typed: str, meant: str, slip: bool) -> None:
    assert finger_slip(typed, meant) is slip
    assert finger_slip(meant, typed) is slip


@pytest.mark.parametrize(
    ("a", "b", "swapped"),
    [
        pytest.param(("Miller", "William"), ("william", "MILLER"), True, id="swapped"),
        pytest.param(("Pham", "Susan"), ("Susan A.", "Pham"), True, id="a-middle-initial"),
        pytest.param(("Pham", "Susan"), ("Susan", "Phm"), False, id="a-typo-besides"),
        pytest.param(("James", "James"), ("James", "James"), False, id="one-word-twice"),
        pytest.param(("Susan", "Pham"), ("Susan", "Pham"), False, id="not-swapped"),
    ],
)
def test_names_swapped(a: tuple[str, str], b: tuple[str, str], swapped: bool) -> None:
    assert names_swapped((*a, ""), (*b, "")) is swapped
    assert names_swapped((*b, ""), (*a, "")) is swapped


def test_swapped_names_are_written_in_the_default_rules() -> None:
    assert load_rules(None).near_duplicates.swapped_names_born_one is True


@pytest.mark.parametrize(
    ("typed", "meant", "dropped"),
    [
        pytest.param("micael", "michael", True, id="a-letter-inside"),
        pytest.param("mean", "megan", True, id="a-letter-inside-short"),
        pytest.param("jennifr", "jennifer", True, id="the-last-but-one"),
        pytest.param("patric", "patrick", False, id="the-last-letter"),
        pytest.param("ann", "anne", False, id="an-e-at-the-end"),
        pytest.param("atrick", "patrick", False, id="the-first-letter"),
        pytest.param("alan", "allan", False, id="one-of-a-double"),
        pytest.param("patruck", "patrick", False, id="another-letter"),
        pytest.param("patrick", "patrick", False, id="the-same"),
    ],
)
def test_a_letter_inside_left_out(typed: str, meant: str, dropped: bool) -> None:
    assert letter_dropped(typed, meant) is dropped
    assert letter_dropped(meant, typed) is dropped


def test_dropped_letters_are_written_in_the_default_rules() -> None:
    assert load_rules(None).near_duplicates.dropped_letters_born_one is True

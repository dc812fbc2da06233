"""A first name typed past recognition (``Dbe`` for Deborah) under one family name and one
birthday given on both: one person on a shared phone or e-mail alone (``reenrolments.
garbled_first_names_on_one_value``; issue 19: her contacts apart on a shared value)."""

from __future__ import annotations

from typing import Any

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.phone_duplicates import ReenrolmentRules
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, together, world

HOME = {"line1": "12 Elm St", "city": "Columbus", "postal_code": "43215", "country": "US"}
PHONE = "6142494399"
BORN = "1965-09-05"
# Dbe is also Deb typed with two letters swapped (near_duplicates.typed_short_forms), close
# to Deborah on any value: off here, to try the garbled reading alone.
_NAMES = NearDuplicates(typed_short_forms=False)
ON = Rules(near_duplicates=_NAMES)
OFF = Rules(
    near_duplicates=_NAMES,
    reenrolments=ReenrolmentRules(garbled_first_names_on_one_value=False),
)


# The first contact: Deborah Murphy, born 1965-09-05, her phone and a card. The second, with
# a card of its own, shares her phone (or her e-mail) and her birthday.
@pytest.mark.parametrize(
    ("first", "second", "rules", "merged"),
    [
        pytest.param({}, {"first": "Dbe"}, ON, True, id="on-her-phone"),
        pytest.param({"emails": ["deborah944@yahoo.com"]},
                     {"first": "Dbe", "phones": [], "emails": ["deborah944@yahoo.com"]},
                     ON, True, id="on-her-e-mail"),
        pytest.param({}, {"first": "Dbe"}, OFF, False, id="rule-off"),
        pytest.param({}, {"first": "Bne"}, ON, False, id="not-her-letters"),
        # A birthday slipped or left out says less than one day given twice.
        pytest.param({}, {"first": "Dbe", "birth": "1966-09-05"}, ON, False,
                     id="a-year-slipped"),
        pytest.param({}, {"first": "Dbe", "birth": None}, ON, False, id="undated"),
        # Two listed first names are twins, however close their letters.
        pytest.param({"first": "Mary"}, {"first": "Mark"}, ON, False, id="twins"),
        # Values of their own on each still say two people.
        pytest.param({"emails": ["deborah944@yahoo.com"]},
                     {"first": "Dbe", "emails": ["dmurphy@gmail.com"]}, ON, False,
                     id="an-address-of-her-own-each"),
    ],
)  # fmt: skip
def test_a_garbled_first_name_on_one_value(
    first: dict[str, Any], second: dict[str, Any], rules: Rules, merged: bool
) -> None:
    # Given her contact and a second one sharing one value and her birthday
    base = {"last": "Murphy", "birth": BORN, "phones": [PHONE], "address": HOME}
    one = crm("C0000001", card="LD61000001", **{**base, "first": "Deborah", **first})
    other = crm("C0000002", card="LD61000002", **{**base, **second})
    # When resolved
    result = resolve(world(one, other), rules)
    # Then they are one member exactly when the name is hers typed past recognition
    assert together(result, one.ref, other.ref) is merged

"""Two CRM contacts whose names say too little, joined by her e-mail and her phone together
(issue 19: duplicates of one person left apart): a family name changed with no birth date to
compare, a first name typed past recognition under one birth date."""

from __future__ import annotations

from typing import Any

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.phone_duplicates import ReenrolmentRules
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, together, world

EMAIL, MOBILE = "jessicamorgan@mail.org", "6475550789"
HOME = {"line1": "2-1766 King Dr", "city": "Toronto", "postal_code": "M5V 2T6", "country": "CA"}
FIRST: dict[str, Any] = {"first": "Jessica", "last": "Morgan", "birth": "1956-01-23"}


def _off(**near: bool) -> Rules:
    return Rules(near_duplicates=NearDuplicates(**near))


@pytest.mark.parametrize(
    ("second", "rules", "merged"),
    [
        # Married since: her first name (or a form of it), another family name, no birth
        # date on the new contact, her e-mail and her mobile on both.
        pytest.param({"first": "Jessica", "last": "Anderson"}, Rules(), True, id="married"),
        pytest.param({"first": "Jess", "last": "Anderson"}, Rules(), True, id="married-short-form"),
        pytest.param({"first": "Jessica", "last": "Anderson", "birth": "1900-01-01"}, Rules(),
                     True, id="married-a-dummy-date"),
        # The e-mail alone, another phone or none: a family's address, as before.
        pytest.param({"first": "Jessica", "last": "Anderson", "phones": ["4165550111"]}, Rules(),
                     False, id="another-phone"),
        pytest.param({"first": "Jessica", "last": "Anderson", "phones": []}, Rules(), False,
                     id="no-phone"),
        pytest.param({"first": "Mary", "last": "Anderson"}, Rules(), False, id="another-first-name"),
        pytest.param({"first": "Jessica", "last": "Anderson"},
                     _off(family_name_changes_on_email_and_phone=False), False, id="rule-off"),
        pytest.param({"first": "Jessica", "last": "Anderson"}, _off(family_name_changes=False),
                     False, id="family-name-changes-off"),
    ],
)  # fmt: skip
def test_a_family_name_changed_with_no_date_is_one_person_on_her_email_and_phone(
    second: dict[str, Any], rules: Rules, merged: bool
) -> None:
    # Given Jessica Morgan's contact, and a second one on her e-mail (her mobile on both
    # unless said), each with its own card, no birth date on the second
    first = crm("C0000001", **FIRST, emails=[EMAIL], phones=[MOBILE], card="LD1", address=HOME)
    fields = {"emails": [EMAIL], "phones": [MOBILE], "address": HOME, "birth": None}
    other = crm("C0000002", **{**fields, "card": "LD2", **second})
    result = resolve(world(first, other), rules)
    # Then they are one member exactly when the e-mail and the phone both say so
    assert together(result, first.ref, other.ref) is merged
    if merged:  # a near duplicate: the e-mail, her first name agreed, no date compared
        [link] = [x for x in result.links if {x.a, x.b} == {first.ref, other.ref}]
        assert link.rule == "crm_near_duplicate"
        assert link.evidence["kind"] == "EMAIL"
        assert link.evidence["left_out"] == ["birth_date"]


TIM_EMAIL, TIM_PHONE = "timothymurphy@mail.org", "4505550545"


@pytest.mark.parametrize(
    ("second", "rules", "merged"),
    [
        # His first name typed past recognition (no name at all, not Tmi: Tim typed with
        # two letters swapped, near_duplicates.typed_short_forms), one birth date, one
        # family name, his e-mail and phone: one person.
        pytest.param({"first": "Tmo"}, Rules(), True, id="garbled"),
        pytest.param({"first": "TJ"}, Rules(), True, id="initials"),
        pytest.param({"first": "Tmo", "last": "Murphey"}, Rules(), True, id="family-name-typo"),
        # Two names that are names: twins (or a father and son) on the family's e-mail.
        pytest.param({"first": "Tom"}, Rules(), False, id="another-listed-name"),
        pytest.param({"first": "Mary"}, Rules(), False, id="twins"),
        # The date must be one (not slipped nor swapped), and given on both.
        pytest.param({"first": "Tmo", "birth": "1946-07-04"}, Rules(), False, id="year-slipped"),
        pytest.param({"first": "Tmo", "birth": "1945-04-07"}, Rules(), False, id="day-month-swapped"),
        pytest.param({"first": "Tmo", "birth": None}, Rules(), False, id="no-date"),
        # On his e-mail alone too (reenrolments.garbled_first_names_on_one_value).
        pytest.param({"first": "Tmo", "phones": []}, Rules(), True, id="no-phone"),
        pytest.param({"first": "Tmo", "phones": []},
                     Rules(reenrolments=ReenrolmentRules(garbled_first_names_on_one_value=False)),
                     False, id="no-phone-on-both-only"),
        pytest.param({"first": "Tmo", "last": "Murphy Jr."}, Rules(), False, id="a-generation"),
        pytest.param({"first": "Tmo", "last": "Wilson"}, Rules(), False, id="another-family"),
        pytest.param({"first": "Tmo"}, _off(garbled_first_names=False), False, id="rule-off"),
    ],
)  # fmt: skip
def test_a_first_name_typed_past_recognition_is_one_person_on_one_date_email_and_phone(
    second: dict[str, Any], rules: Rules, merged: bool
) -> None:
    # Given Timothy Murphy's contact, and a second one on his e-mail and phone (unless
    # said), born the same day, its first name typed otherwise
    born = "1945-07-04"
    first = crm("C0000001", first="Timothy", last="Murphy", birth=born, emails=[TIM_EMAIL],
                phones=[TIM_PHONE], card="LD1", address=HOME)  # fmt: skip
    fields = {"last": "Murphy", "birth": born, "emails": [TIM_EMAIL], "phones": [TIM_PHONE]}
    other = crm("C0000002", **{**fields, "card": "LD2", "address": HOME, **second})
    result = resolve(world(first, other), rules)
    # Then they are one member exactly when only the first name differs
    assert together(result, first.ref, other.ref) is merged
    if merged:
        [link] = [x for x in result.links if {x.a, x.b} == {first.ref, other.ref}]
        assert link.rule == "crm_near_duplicate"
        assert "birth_date" in link.evidence["agreed"]


@pytest.mark.parametrize(
    ("twin", "merged"),
    [
        # A name no list holds is a name of its own: another initial, or letters his
        # brother's name lacks.
        pytest.param("Zephyr", False, id="an-uncommon-name"),
        pytest.param("Tobias", False, id="one-initial-an-uncommon-name"),
        pytest.param("Aurelio", False, id="a-vowel-initial"),
        # Typed past recognition, as before: his initial, his letters but one.
        pytest.param("Tmi", True, id="garbled"),
        pytest.param("TJ", True, id="initials"),
    ],
)
def test_twins_on_the_familys_email_and_line_stay_two_whatever_their_names(
    twin: str, merged: bool
) -> None:
    # Given twin brothers born one day, each with his card, on their parents' e-mail and
    # home line (an address that names neither), one of them given a name no list holds
    family, line, born = "murphyhome@mail.org", "4505550100", "2009-07-04"
    first = crm("C0000001", first="Timothy", last="Murphy", birth=born, emails=[family],
                phones=[line], card="LD1", address=HOME)  # fmt: skip
    other = crm("C0000002", first=twin, last="Murphy", birth=born, emails=[family],
                phones=[line], card="LD2", address=HOME)  # fmt: skip
    result = resolve(world(first, other))
    # Then they are two members: only a first name typed past recognition joins them
    assert together(result, first.ref, other.ref) is merged


def test_a_store_phone_a_till_typed_for_every_guest_is_not_her_phone() -> None:
    # Given the two contacts of the marriage case, whose only shared phone is the store's
    # own, typed at the till for eight other people too (a hub)
    store = "2175550199"
    guests = [
        crm(f"G{n}", first=f"Guest{n}", last=f"Shopper{n}", birth=f"19{50 + n}-02-03",
            phones=[store])
        for n in range(8)
    ]  # fmt: skip
    first = crm("C0000001", **FIRST, emails=[EMAIL], phones=[store], card="LD1", address=HOME)
    other = crm("C0000002", first="Jessica", last="Anderson", birth=None, emails=[EMAIL],
                phones=[store], card="LD2", address=HOME)  # fmt: skip
    result = resolve(world(first, other, *guests))
    # Then the e-mail alone speaks, and a family name changed with no date is a family's
    assert not together(result, first.ref, other.ref)

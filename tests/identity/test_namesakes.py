"""Two people of one name on one e-mail: what keeps them apart, and what still joins one
person entered twice (issue 19: a member holding two people's CRM contacts)."""

from __future__ import annotations

from typing import Any

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from membergraph.identity.suggestions import suggest
from tests.identity.builders import crm, together, world

HOME = {"line1": "9 Birch Rd", "city": "Springfield", "postal_code": "62701", "country": "US"}
HOME_AS_TYPED = {**HOME, "line1": "9 Birch Road"}  # one home, written another way
NO_ADDRESS = {"country": "US"}  # left out on the form
AWAY = {"line1": "40 Pine Ave", "city": "Dayton", "postal_code": "45402", "country": "US"}
EMAIL = "wjohnson@mail.org"  # names either William Johnson
FATHER_MOBILE, SON_MOBILE, LANDLINE = "4155550171", "4155550172", "4155550100"
STORE_PHONE, STORE_EMAIL = "2175550199", "orders@corner-store.com"


def guests(phone: str | None = None, email: str | None = None) -> list[RecordData]:
    """Eight people's contacts a till gave the store's own phone or e-mail: a hub."""
    return [
        crm(f"G{n}", first=f"Guest{n}", last=f"Shopper{n}", birth=f"19{50 + n}-02-03",
            phones=[phone] if phone else None, emails=[email] if email else None)
        for n in range(8)
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("son", "others", "merged"),
    [
        # A father's contact (born 1975, his mobile) and his son's of one name, no birth date,
        # the father's address given for the student: each a mobile of his own at one home,
        # however it is written, or where an address is left out.
        pytest.param({"phones": [SON_MOBILE], "address": HOME_AS_TYPED}, [], False,
                     id="own-mobiles-one-home"),
        pytest.param({"phones": [SON_MOBILE], "address": NO_ADDRESS}, [], False,
                     id="own-mobiles-one-address-left-out"),
        pytest.param({"phones": [SON_MOBILE], "first": "Will", "address": NO_ADDRESS}, [], False,
                     id="own-mobiles-a-short-form"),
        # Two homes: after a move, a new phone at the new one is his.
        pytest.param({"phones": [SON_MOBILE], "address": AWAY}, [], True, id="a-move"),
        # One mobile on both, and one more on one: his.
        pytest.param({"phones": [FATHER_MOBILE, SON_MOBILE], "address": NO_ADDRESS}, [], True,
                     id="one-mobile-shared"),
        # One person entered twice: no phone, or his own again, on the second form.
        pytest.param({"address": AWAY}, [], True, id="no-phone-on-the-second"),
        pytest.param({"phones": [FATHER_MOBILE], "address": AWAY}, [], True, id="the-same-mobile"),
        # The household's line (on his wife's contact too) is no one's own.
        pytest.param({"phones": [LANDLINE], "address": NO_ADDRESS},
                     [crm("W1", first="Mary", birth="1977-05-06", phones=[LANDLINE],
                          address=HOME)],
                     True, id="the-households-line"),
        # The store's phone a till typed for every guest is no one's own.
        pytest.param({"phones": [STORE_PHONE], "address": AWAY}, guests(phone=STORE_PHONE), True,
                     id="the-stores-phone"),
        # Both dated, one day, one first name: his old and new mobiles.
        pytest.param({"phones": [SON_MOBILE], "address": AWAY, "birth": "1975-03-04"}, [], True,
                     id="one-birthday-one-first-name"),
    ],
)  # fmt: skip
def test_a_father_and_son_of_one_name_on_one_email(
    son: dict[str, Any], others: list[RecordData], merged: bool
) -> None:
    # Given the father's contact, and a second William Johnson contact on his e-mail
    father = crm("C1", first="William", last="Johnson", birth="1975-03-04", emails=[EMAIL],
                 phones=[FATHER_MOBILE], address=HOME)  # fmt: skip
    fields = {"first": "William", "birth": None, **son}
    second = crm("C2", last="Johnson", emails=[EMAIL], **fields)
    result = resolve(world(father, second, *others))
    # Then they are one member exactly when nothing of their own says two people
    assert together(result, father.ref, second.ref) is merged


def test_without_the_rule_a_father_and_son_on_one_email_are_one_member() -> None:
    # Given the father and the son with a mobile each, at one home written two ways
    father = crm("C1", first="William", last="Johnson", birth="1975-03-04", emails=[EMAIL],
                 phones=[FATHER_MOBILE], address=HOME)  # fmt: skip
    son = crm("C2", first="William", last="Johnson", birth=None, emails=[EMAIL],
              phones=[SON_MOBILE], address=HOME_AS_TYPED)  # fmt: skip
    rules = Rules.model_validate({"near_duplicates": {"undated_own_phones": False}})
    # Then the rule is what keeps them apart (phones compared at one address as written)
    assert together(resolve(world(father, son), rules), father.ref, son.ref)
    assert not together(resolve(world(father, son)), father.ref, son.ref)


def test_a_father_and_son_left_apart_are_a_match_suggestion() -> None:
    # Given the father and the son of one name on his e-mail, each with his mobile
    father = crm("C1", first="William", last="Johnson", birth="1975-03-04", emails=[EMAIL],
                 phones=[FATHER_MOBILE], address=HOME)  # fmt: skip
    son = crm("C2", first="William", last="Johnson", birth=None, emails=[EMAIL],
              phones=[SON_MOBILE], address=NO_ADDRESS)  # fmt: skip
    records = world(father, son)
    rules = Rules()
    assert not together(resolve(records, rules), father.ref, son.ref)
    # Then a steward is offered the pair, with the phones that differ as evidence against
    found = suggest(records, rules.suggestions, rules.near_duplicates, junk=rules.is_junk)
    [pair] = [s for s in found if {s.a, s.b} == {father.ref, son.ref}]
    assert any(e.field == "phone" and e.level == "differs" for e in pair.evidence)


@pytest.mark.parametrize(
    ("own", "others", "merged"),
    [
        # Anne's second contact gives the store's e-mail a till typed for every guest: no
        # address of hers, so it does not say another person.
        pytest.param({"emails": [STORE_EMAIL]}, guests(email=STORE_EMAIL), True,
                     id="the-stores-email"),
        pytest.param({"phones": [STORE_PHONE]}, guests(phone=STORE_PHONE), True,
                     id="the-stores-phone-at-home"),
        # Her twin's own e-mail does (one birth date, names a letter apart).
        pytest.param({"emails": ["ann.lee@mail.org"]}, [], False, id="a-twins-own-email"),
    ],
)  # fmt: skip
def test_a_value_no_one_owns_is_no_value_of_her_own(
    own: dict[str, Any], others: list[RecordData], merged: bool
) -> None:
    # Given Anne's contact on the family e-mail with her own e-mail and mobile, and "Ann"
    # on it, born the same day, at the same address, with one more value
    family = "the.lees@mail.com"
    anne = crm("C1", first="Anne", emails=[family, "anne.lee@mail.org"],
               phones=[FATHER_MOBILE], address=HOME)  # fmt: skip
    fields = {**own, "emails": [family, *own.get("emails", [])]}
    ann = crm("C2", first="Ann", address=HOME, **fields)
    result = resolve(world(anne, ann, *others))
    # Then only a value of someone's own says two people
    assert together(result, anne.ref, ann.ref) is merged


@pytest.mark.parametrize(
    ("second_birth", "apart"),
    [
        pytest.param("1990-07-21", True, id="born-29-years-apart"),
        pytest.param("1961-04-09", False, id="one-birthday"),
        pytest.param("1962-04-09", False, id="a-year-slipped"),
        pytest.param("1961-09-04", False, id="day-and-month-swapped"),
        pytest.param("1900-01-01", False, id="a-placeholder-date"),
    ],
)
def test_namesakes_born_apart_never_meet_through_an_undated_contact(
    second_birth: str, apart: bool
) -> None:
    # Given Barbara Harris born 1961 and a second Barbara Harris contact, each on
    # barbara.harris@ with a name a slip from the other's, and a third contact that gave
    # no birth date (each a near duplicate of the third)
    email = "barbara.harris@mail.org"
    one = crm("C1", first="Barbara", last="Harris", birth="1961-04-09", emails=[email],
              card="LD1", address=HOME)  # fmt: skip
    two = crm("C2", first="Barbra", last="Harris", birth=second_birth, emails=[email],
              card="LD2", address=HOME)  # fmt: skip
    third = crm("C3", first="Barb", last="Harris", birth=None, emails=[email], card="LD3",
                address=HOME)  # fmt: skip
    for order in (None, sorted(world(one, two, third), reverse=True)):
        result = resolve(world(one, two, third), order=order)
        # Then the two dated contacts are one member exactly when their dates agree
        assert together(result, one.ref, two.ref) is not apart
        # and the undated one joins one of them; the link refused is a conflict
        assert together(result, third.ref, one.ref) or together(result, third.ref, two.ref)
        refused = [c for c in result.conflicts if c.kind == "births_apart"]
        assert bool(refused) is apart

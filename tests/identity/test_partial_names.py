"""A CRM contact that left its first or family name empty, sharing an e-mail or a card with
the person's full contact (issue 19, eleventh round): when it joins her, when it does not,
and what the link tells a steward."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from membergraph.identity.email_names import names_her
from membergraph.identity.engine import resolve
from membergraph.identity.rules import NearDuplicates, Rules, load_rules
from tests.identity.builders import crm, purchase, together, world

NEAR = NearDuplicates()

FAMILY = "the.millers@mail.org"
HOME = {"line1": "9 Birch Rd", "city": "Springfield", "postal_code": "62701", "country": "US"}


# Elizabeth Miller, born 1973-06-05, on the family e-mail; a second contact on it.
@pytest.mark.parametrize(
    ("second", "merged"),
    [
        pytest.param({"first": "", "last": "Miller"}, True, id="first-name-left-empty"),
        pytest.param({"first": "Liz", "last": ""}, True, id="family-name-left-empty-short-form"),
        pytest.param({"first": "", "last": "MILLER", "birth": "1973-05-06"}, True,
                     id="day-and-month-swapped"),
        pytest.param({"first": "", "last": "Miller", "birth": None}, False,
                     id="no-birth-date-to-compare"),
        pytest.param({"first": "", "last": "Miller", "birth": "1999-02-14"}, False,
                     id="another-birth-date-a-daughter"),
        pytest.param({"first": "", "last": "Garcia"}, False, id="another-family-name"),
        pytest.param({"first": "Guest", "last": ""}, False, id="a-tills-placeholder-name"),
        pytest.param({"first": "", "last": "Miller", "phones": ["3125550111"],
                      "emails": [FAMILY, "liz.m@own.org"]}, False, id="each-own-values"),
    ],
)  # fmt: skip
def test_a_contact_with_a_name_left_empty(second: dict[str, Any], merged: bool) -> None:
    # Given Elizabeth's contact and her online order on the family e-mail, and a second
    # contact on that e-mail with a name field left empty
    liz = crm("C1", first="Elizabeth", last="Miller", birth="1973-06-05", emails=[FAMILY],
              phones=["4155550171"], address=HOME)  # fmt: skip
    fields = {"birth": "1973-06-05", "emails": [FAMILY], "address": HOME, **second}
    other = crm("C2", **fields)
    order = purchase(email=FAMILY, channel="online", tid="T1")
    result = resolve(world(liz, other, order))
    # Then it is hers exactly when its name and birth date fit her and nothing says two
    assert together(result, liz.ref, other.ref) is merged
    if merged:  # and her order on the e-mail is hers too; the link says what was compared
        assert together(result, liz.ref, order.ref)
        [link] = [x for x in result.links if {x.a, x.b} == {liz.ref, other.ref}]
        assert link.rule == "crm_partial_duplicate"
        assert "birth_date" in link.evidence["agreed"] + link.evidence.get("swapped", [])
        assert link.evidence["left_out"] in (["first_name"], ["last_name"])


def test_twins_leave_a_contact_without_a_first_name_to_no_one() -> None:
    # Given twins Anne and Mark Lee (one birth date) on the family e-mail, each her own
    # contact, and a third contact on it giving only the family name and that birth date
    anne = crm("C1", first="Anne", emails=[FAMILY], address=HOME)
    mark = crm("C2", first="Mark", emails=[FAMILY], address=HOME)
    lee = crm("C3", first="", emails=[FAMILY], address=HOME)
    result = resolve(world(anne, mark, lee))
    # Then it joins neither: the empty field cannot say which twin it is
    assert not together(result, lee.ref, anne.ref)
    assert not together(result, lee.ref, mark.ref)


def test_partial_names_is_a_rule() -> None:
    liz = crm("C1", first="Elizabeth", last="Miller", emails=[FAMILY], address=HOME)
    other = crm("C2", first="", last="Miller", emails=[FAMILY], address=HOME)
    off = Rules(near_duplicates=NearDuplicates(partial_names=False))
    assert not together(resolve(world(liz, other), off), liz.ref, other.ref)
    assert together(resolve(world(liz, other)), liz.ref, other.ref)


# Margaret Thomas, born 1974-05-02, her e-mail; a till's contact on it named by a word.
@pytest.mark.parametrize(
    ("second", "rules", "merged"),
    [
        pytest.param({"first": "Valued", "last": "Customer"}, Rules(), True,
                     id="valued-customer-same-birth-date"),
        pytest.param({"first": "Walk-In", "last": "Customer"}, Rules(), True,
                     id="walk-in-same-birth-date"),
        pytest.param({"first": "X", "last": "X"}, Rules(), True, id="x-x-same-birth-date"),
        pytest.param({"first": "Guest", "last": "Customer", "birth": None,
                      "phones": ["4155550171"]}, Rules(), True,
                     id="no-birth-date-her-phone-on-an-e-mail-naming-her"),
        # Twenty-eighth round: the address naming her is hers without her phone too.
        pytest.param({"first": "Guest", "last": "Customer", "birth": None}, Rules(), True,
                     id="no-birth-date-no-phone-of-hers-on-an-e-mail-naming-her"),
        pytest.param({"first": "Walk", "last": "In", "birth": None}, Rules(), True,
                     id="walk-in-no-birth-date-on-an-e-mail-naming-her"),
        pytest.param({"first": "Guest", "last": "Customer", "birth": None},
                     Rules(near_duplicates=NearDuplicates(placeholder_names_by_email=False)),
                     False, id="no-birth-date-no-phone-rule-off"),
        pytest.param({"first": "Guest", "last": "Customer", "birth": None,
                      "phones": ["4155550171"]},
                     Rules(near_duplicates=NearDuplicates(partial_names_by_email=False)), False,
                     id="no-birth-date-rule-off"),
        # A guest a clerk put on a regular's e-mail: another birth date, another person.
        pytest.param({"first": "Guest", "last": "Customer", "birth": "1990-08-17"}, Rules(),
                     False, id="another-birth-date"),
        pytest.param({"first": "Walk-In", "last": "Customer", "birth": "1974-02-05"}, Rules(),
                     False, id="a-swapped-date-is-not-enough-without-a-name"),
        pytest.param({"first": "Walk-In", "last": "Customer", "phones": ["3125550111"],
                      "emails": ["margaret.thomas82@mail.org", "guest@own.org"]}, Rules(), False,
                     id="each-own-values"),
        pytest.param({"first": "Valued", "last": "Customer"},
                     Rules(near_duplicates=NearDuplicates(placeholder_names_by_birth=False)),
                     False, id="rule-off"),
    ],
)  # fmt: skip
def test_a_contact_named_by_a_tills_word(
    second: dict[str, Any], rules: Rules, merged: bool
) -> None:
    # Given Margaret's contact and her online order under her e-mail, and a contact a till
    # made on that e-mail with a word for the name (Valued Customer) and a birth date
    email = "margaret.thomas82@mail.org"
    margaret = crm("C1", first="Margaret", last="Thomas", birth="1974-05-02", emails=[email],
                   phones=["4155550171"], address=HOME)  # fmt: skip
    till = crm("C2", **{"birth": "1974-05-02", "emails": [email], "address": HOME, **second})
    order = purchase(email=email, channel="online", tid="T1")
    result = resolve(world(margaret, till, order), rules)
    # Then it is hers exactly when it gives her birth date and nothing says two people
    assert together(result, margaret.ref, till.ref) is merged
    if merged:  # and her order is hers; the link says the date agreed, the name named no one
        assert together(result, margaret.ref, order.ref)
        [link] = [x for x in result.links if {x.a, x.b} == {margaret.ref, till.ref}]
        assert link.rule == "crm_placeholder_name_duplicate"
        said = "agreed" if till.birth_date else "left_out"
        assert link.evidence[said] == ["birth_date"]
        assert link.evidence["names_no_one"] == ["first_name", "last_name"]


@pytest.mark.parametrize(
    ("birth", "merged"),
    [
        pytest.param("1966-11-18", True, id="his-birth-date"),
        pytest.param("1992-03-01", False, id="another-birth-date-a-son"),
        pytest.param(None, False, id="no-birth-date"),
    ],
)
def test_a_contact_named_by_a_tills_word_on_a_phone(birth: str | None, merged: bool) -> None:
    # Given Nicholas Roberts's contact with his e-mail and mobile, and a Walk-In contact a
    # till made with only that mobile, a card of its own and a birth date
    nick = crm("C1", first="Nicholas", last="Roberts", birth="1966-11-18",
               emails=["nicholasroberts@mail.org"], phones=["3177462372"], address=HOME)  # fmt: skip
    till = crm("C2", first="Walk", last="In", birth=birth, phones=["3177462372"],
               card="LD61000002", address=HOME)  # fmt: skip
    result = resolve(world(nick, till))
    # Then it is his exactly when it gives his birth date (a landline is a family's)
    assert together(result, nick.ref, till.ref) is merged


# Barbara Harris (no birth date on file), her card; a second contact on an e-mail they share,
# giving no birth date either, with a name field left empty or a till's word for a name.
@pytest.mark.parametrize(
    ("second", "email", "merged"),
    [
        pytest.param({"first": "Barbara", "last": ""}, "barbara.harris@mail.org", True,
                     id="family-name-left-empty-her-named-e-mail"),
        pytest.param({"first": "", "last": "Harris", "phones": ["4155550171"]},
                     "bharris@mail.org", True, id="first-name-left-empty-her-phone-too"),
        pytest.param({"first": "", "last": "Harris"}, "bharris@mail.org", False,
                     id="a-family-name-alone-a-parents-address-for-a-student"),
        pytest.param({"first": "Walk", "last": "In", "phones": ["4155550171"]},
                     "barbara.harris@mail.org", True, id="walk-in-her-phone-too"),
        pytest.param({"first": "Walk", "last": "In"}, "barbara.harris@mail.org", True,
                     id="walk-in-nothing-but-the-address-naming-her"),
        pytest.param({"first": "Walk", "last": "In"}, "coffeelover113@mail.org", False,
                     id="walk-in-on-an-e-mail-naming-no-one"),
        pytest.param({"first": "Barbara", "last": ""}, "coffeelover113@mail.org", False,
                     id="an-e-mail-naming-no-one"),
        pytest.param({"first": "", "last": "Harris"}, "the.harrises@mail.org", False,
                     id="a-familys-e-mail"),
        pytest.param({"first": "Linda", "last": ""}, "barbara.harris@mail.org", False,
                     id="another-first-name"),
        pytest.param({"first": "Barbara", "last": "", "birth": "1961-04-09"},
                     "barbara.harris@mail.org", True, id="a-date-on-one-side-only"),
        pytest.param({"first": "Barbara", "last": "", "phones": ["3125550111"],
                      "emails": ["barbara.harris@mail.org", "bh.work@own.org"]},
                     "barbara.harris@mail.org", False, id="each-own-values"),
        pytest.param({"first": "Guest", "last": "Customer", "phones": ["3125550111"],
                      "address": {**HOME, "line1": "4 Pine Ave", "postal_code": "62704"}},
                     "barbara.harris+shop@mail.org", False,
                     id="a-guest-elsewhere-with-a-phone-of-his-own"),
    ],
)  # fmt: skip
def test_no_birth_date_to_compare_an_e_mail_naming_her_says_whose(
    second: dict[str, Any], email: str, merged: bool
) -> None:
    # Given Barbara's contact with her card and phone, her online order, and a second
    # contact on the e-mail with a card of its own, a name field empty or a till's word
    barbara = crm("C1", first="Barbara", last="Harris", birth=None, emails=[email],
                  phones=["4155550171"], card="LD1", address=HOME)  # fmt: skip
    other = crm("C2", **{"birth": None, "emails": [email], "card": "LD2", "address": HOME,
                         **second})  # fmt: skip
    order = purchase(email=email, channel="online", tid="T1")
    result = resolve(world(barbara, other, order))
    # Then it is hers exactly when the e-mail names her and nothing says two people
    assert together(result, barbara.ref, other.ref) is merged
    if merged:  # her order too; the link says no birth date was compared
        assert together(result, barbara.ref, order.ref)
        [link] = [x for x in result.links if {x.a, x.b} == {barbara.ref, other.ref}]
        assert link.evidence["left_out"][-1] == "birth_date"


# Daniel Ward, born 1979-09-14: two contacts on his e-mail, one with his landline, one with
# his mobile; a till's contact on the e-mail named by a word, undated, with a card of its own
# (the lead's s81, twenty-eighth round: his till contact on his landline stood apart).
LANDLINE, MOBILE = "5145550143", "4385550178"
OFF = Rules(near_duplicates=NearDuplicates(placeholder_names_by_email=False))


@pytest.mark.parametrize(
    ("phones", "rules", "merged"),
    [
        pytest.param([LANDLINE], Rules(), True, id="his-landline-one-contact-shares"),
        pytest.param([MOBILE], Rules(), True, id="his-mobile-the-other-contact-shares"),
        pytest.param([], Rules(), True, id="no-phone-the-address-naming-him"),
        pytest.param(["3125550111"], Rules(), False, id="a-phone-of-its-own-another-person"),
        pytest.param([LANDLINE], OFF, True, id="his-landline-rule-off-as-before"),
        pytest.param([], OFF, False, id="no-phone-rule-off"),
    ],
)  # fmt: skip
def test_a_tills_word_joins_his_contacts_on_a_phone_they_share(
    phones: list[str], rules: Rules, merged: bool
) -> None:
    # Given his two contacts on the e-mail naming him, each with one of his phones, his
    # order on it, and a till's Walk In contact on it with no birth date
    email = "danielward79@mail.org"
    home = crm("C1", first="Daniel", last="Ward", birth="1979-09-14", emails=[email],
               phones=[LANDLINE], card="LD1", address=HOME)  # fmt: skip
    mobile = crm("C2", first="Daniel", last="Ward", birth="1979-09-14", emails=[email],
                 phones=[MOBILE], card="LD2", address=HOME)  # fmt: skip
    till = crm("C3", first="Walk", last="In", birth=None, emails=[email], phones=phones,
               card="LD3", address=HOME)  # fmt: skip
    order = purchase(email=email, channel="online", tid="T1")
    result = resolve(world(home, mobile, till, order), rules)
    # Then his two contacts are one member, and the till's is his exactly when a phone they
    # share or, with no phone of its own, the address naming him says so
    assert together(result, home.ref, mobile.ref)
    assert together(result, home.ref, till.ref) is merged
    if merged:  # and his order on the e-mail is his, not left to no one
        assert together(result, home.ref, order.ref)


@pytest.mark.parametrize(
    ("birth", "merged"),
    [
        pytest.param(None, True, id="undated-the-address-naming-her-says-whose"),
        pytest.param("2003-10-08", False, id="dated-her-child-on-her-address"),
    ],
)
def test_a_tills_word_giving_a_birth_date_needs_her_phone_too(
    birth: str | None, merged: bool
) -> None:
    # Given Monica Smith's contact, undated, on the e-mail naming her, and a till's Walk In
    # contact on it with a phone of none of hers (the lead's s251, twenty-eighth round: her
    # daughter, born 2003, enrolled at a till on her mother's address)
    email = "monica.smith@mail.org"
    mother = crm("C1", first="Monica", last="Smith", birth=None, emails=[email],
                 phones=["5135550190"], card="LD1", address=HOME)  # fmt: skip
    till = crm("C2", first="Walk", last="In", birth=birth, emails=[email], card="LD2",
               address=HOME)  # fmt: skip
    result = resolve(world(mother, till))
    # Then a date the till wrote (someone's, not the address's) leaves them apart
    assert together(result, mother.ref, till.ref) is merged


def test_twins_on_an_e_mail_naming_them_leave_an_undated_contact_to_no_one() -> None:
    # Given twins Anne and Mark Lee (one birth date) on an e-mail naming either (lee1980@),
    # and a third contact on it with the family name only and no birth date
    anne = crm("C1", first="Anne", emails=["lee1980@mail.org"], address=HOME)
    mark = crm("C2", first="Mark", emails=["lee1980@mail.org"], address=HOME)
    lee = crm("C3", first="", birth=None, emails=["lee1980@mail.org"], address=HOME)
    result = resolve(world(anne, mark, lee))
    # Then it joins neither: the empty field cannot say which twin it is
    assert not together(result, lee.ref, anne.ref)
    assert not together(result, lee.ref, mark.ref)


_FIRSTS = ["Barbara", "Barb", "Linda", "Barbra"]
# Two dates: an undated contact near each of two people of one name must not bridge them
# (``near_duplicates.member_births_agree``).
_BIRTHS = [None, "1961-04-09", "1990-07-21"]


@settings(max_examples=60, deadline=None)
@given(
    people=st.lists(st.tuples(st.sampled_from(_FIRSTS), st.sampled_from(_BIRTHS)),
                    min_size=1, max_size=4),
    undated=st.sampled_from([("Barbara", ""), ("", "Harris"), ("Walk", "In")]),
    phone=st.booleans(),
    reverse=st.booleans(),
)  # fmt: skip
def test_an_undated_contact_never_joins_two_peoples_contacts(
    people: list[tuple[str, str | None]], undated: tuple[str, str], phone: bool, reverse: bool
) -> None:
    # Given Harris contacts of any first names and birth dates on barbara.harris@, and an
    # undated contact on it with a name field left empty or a till's word for a name
    email = "barbara.harris@mail.org"
    contacts = [
        crm(
            f"C{n}",
            first=first,
            last="Harris",
            birth=birth,
            emails=[email],
            card=f"LD{n}",
            address=HOME,
        )  # fmt: skip
        for n, (first, birth) in enumerate(people, 1)
    ]
    # (with phone, the household's landline on the first contact and on it)
    contacts[0] = crm("C1", first=people[0][0], last="Harris", birth=people[0][1],
                      emails=[email], card="LD1", address=HOME,
                      phones=["4155550171"] if phone else None)  # fmt: skip
    other = crm("C9", first=undated[0], last=undated[1], birth=None, emails=[email],
                card="LD9", address=HOME, phones=["4155550171"] if phone else None)  # fmt: skip
    records = world(*contacts, other)
    order = sorted(records, reverse=reverse)
    result = resolve(records, order=order)
    # Then the contacts it joins are one person by the near-duplicate rules, and which it
    # joins does not depend on the order the records come in
    [mine] = [c for c in result.components if other.ref in c]
    joined = [r for r in contacts if r.ref in mine]
    signatures = [r.signature for r in joined if r.signature]
    assert all(
        NEAR.same_person(a, b) for i, a in enumerate(signatures) for b in signatures[i + 1 :]
    )
    # and when the contacts its name fits (a family name alone: on her phone too; a till's
    # word: any the address names) are one person, it is theirs (the e-mail names her)
    fits = [
        r for r in contacts
        if r.signature and names_her(email, r.first_name, r.last_name, NEAR)
        and (r is contacts[0] and phone if undated[0] == ""
             else True if undated[0] == "Walk"
             else NEAR.names_close(undated[0], "harris", r.signature[0], r.signature[1]))
    ]  # fmt: skip
    sigs = [r.signature for r in fits]
    if fits and all(NEAR.same_person(a, b) for i, a in enumerate(sigs) for b in sigs[i + 1 :]):  # type: ignore[arg-type]
        assert all(r.ref in mine for r in fits)
    again = resolve(records, order=sorted(records, reverse=not reverse))
    assert sorted(mine) == next(sorted(c) for c in again.components if other.ref in c)


def test_a_date_one_of_her_contacts_contradicts_says_another_person() -> None:
    # Given Alexander O'Brien's two contacts on aobrien@ (one undated, one born 1968) with
    # the home phone, and his son's contact on that address and phone, the first name only,
    # born 2007 (a parent's address given for a student)
    email, phone = "aobrien@mail.org", ["6134145732"]
    dad = crm("C1", first="Alexander", last="O'Brien", birth=None, emails=[email],
              phones=phone, card="LD1", address=HOME)  # fmt: skip
    dad_dated = crm("C2", first="Alexander", last="O'Brien", birth="1968-04-18",
                    emails=[email], phones=phone, card="LD2", address=HOME)  # fmt: skip
    son = crm("C3", first="Alexander", last="", birth="2007-01-17", emails=[email],
              phones=phone, card="LD3", address=HOME)  # fmt: skip
    result = resolve(world(dad, dad_dated, son))
    # Then the son's contact joins neither: his date says another person
    assert together(result, dad.ref, dad_dated.ref)
    assert not together(result, son.ref, dad.ref)


def test_which_namesakes_an_undated_contact_joins_does_not_hang_on_the_order() -> None:
    # Given Barbara Harris (no date, the household's landline), two Barbs born 1990, a
    # Barbara born 1961, all on barbara.harris@, and a contact with the family name only on
    # the landline: the example the property above found
    email = "barbara.harris@mail.org"
    people = [("Barb", "1990-07-21"), ("Barbara", "1961-04-09"), ("Barb", "1990-07-21")]
    contacts = [
        crm("C1", first="Barbara", last="Harris", birth=None, emails=[email], card="LD1",
            address=HOME, phones=["4155550171"]),
        *(crm(f"C{n}", first=first, last="Harris", birth=birth, emails=[email], card=f"LD{n}",
              address=HOME) for n, (first, birth) in enumerate(people, 2)),
    ]  # fmt: skip
    other = crm("C9", first="", last="Harris", birth=None, emails=[email], card="LD9",
                address=HOME, phones=["4155550171"])  # fmt: skip
    records = world(*contacts, other)
    # When resolved in key order and in the reverse order
    members = [
        sorted(next(c for c in resolve(records, order=sorted(records, reverse=r)).components
                    if other.ref in c))
        for r in (False, True)
    ]  # fmt: skip
    # Then the undated contact joins the same namesakes either way
    assert members[0] == members[1]


def test_a_tills_word_on_her_named_address_is_written_in_the_default_rules() -> None:
    assert load_rules(None).near_duplicates.placeholder_names_by_email is True

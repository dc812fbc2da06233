"""One person's two CRM contacts sharing only a phone: a re-enrolment at a till (issue 19,
eighth round). Which pairs merge, which stay apart (a suggestion), and what the link says."""

from __future__ import annotations

from typing import Any

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.phone_duplicates import ReenrolmentRules
from membergraph.identity.rules import NearDuplicates, Rules
from membergraph.identity.suggestions import suggest
from tests.identity.builders import ACROSS_TOWN, HOME, crm, purchase, together, world

RULES = Rules()
HOME_CA = {
    "line1": "496 Franklin Road",
    "city": "Orillia",
    "postal_code": "L0M 6C5",
    "country": "CA",
}
MOBILE = "4155550171"
NO_POSTCODE = {"line1": "", "city": "", "postal_code": "", "country": "US"}


# The first contact: Ann Lee, born 1980-01-01, her mobile and card at HOME, no e-mail.
# The second: enrolled again at a till with a card of its own, sharing only the mobile.
@pytest.mark.parametrize(
    ("first", "second", "merged"),
    [
        pytest.param({}, {"birth": None}, True, id="same-names-birth-on-one"),
        pytest.param({}, {"birth": None, "emails": ["nothanks@yahoo.com"]}, True,
                     id="a-till-email-on-the-second-only"),
        pytest.param({"first": "José"}, {"first": "JOSE"}, True, id="accents-births-agree"),
        pytest.param({"first": "William"}, {"first": "Bill", "birth": None}, True,
                     id="nickname-birth-on-one"),
        pytest.param({"first": "Karen"}, {"first": "Kqren", "birth": None}, True, id="typo"),
        pytest.param({}, {"first": "Lee", "last": "Ann"}, True, id="swapped-names"),
        pytest.param({"address": HOME_CA}, {"birth": None, "address": {**HOME_CA, "postal_code": "l0m6c5"}},
                     True, id="postcode-written-otherwise"),
        pytest.param({"birth": None}, {"birth": None}, True, id="no-birth-dates-nothing-against"),
        # Twins a letter apart: one birth date, address and landline, each her own e-mail.
        pytest.param({"first": "Anne", "emails": ["anne@own.org"]},
                     {"first": "Ann", "emails": ["ann.lee@own.org"]}, False,
                     id="twins-each-own-email"),
        # Twins on the landline: one with her own mobile, the other her own e-mail.
        pytest.param({"first": "Sean", "phones": [MOBILE, "3125550111"]},
                     {"first": "Sea", "emails": ["sea.lee@own.org"]}, False,
                     id="twins-own-mobile-and-own-email"),
        # A relative's mobile on an elderly namesake's contact, across town.
        pytest.param({}, {"birth": None, "address": ACROSS_TOWN}, False, id="other-postcodes"),
        # Father and son of one name on the household's landline, each his own e-mail.
        pytest.param({"first": "Robert", "last": "Smith", "emails": ["rsmith57@mail.org"]},
                     {"first": "Robert", "last": "Smith", "birth": None,
                      "emails": ["robsmith97@mail.org"]}, False, id="namesakes-each-own-email"),
        # One birthday under a name typed with the key beside (Kqren): her old and new
        # e-mails at her old and new homes (typos_born_one, one_birthday_outweighs_postcodes).
        pytest.param({"first": "Karen", "emails": ["karen@own.org"]},
                     {"first": "Kqren", "emails": ["k.lee@own.org"], "address": ACROSS_TOWN},
                     True, id="own-emails-births-agree-other-postcodes"),
        # Twins a letter apart at two homes stay two.
        pytest.param({"first": "Anne", "emails": ["anne@own.org"]},
                     {"first": "Ann", "emails": ["ann.lee@own.org"], "address": ACROSS_TOWN},
                     False, id="twins-own-emails-other-postcodes"),
        pytest.param({}, {"birth": "1982-03-04"}, False, id="births-differ"),
        pytest.param({}, {"first": "Bob"}, False, id="other-first-name"),
        pytest.param({"first": "Paul"}, {"first": "Paula", "birth": None}, False,
                     id="paul-and-paula"),
        # A family name changed needs both birth dates agreeing, as on an e-mail.
        pytest.param({}, {"last": "Jimenez", "birth": None}, False, id="other-family-name-no-birth"),
        pytest.param({}, {"last": "Jimenez"}, True, id="other-family-name-births-agree"),
    ],
)  # fmt: skip
def test_two_contacts_on_one_phone(
    first: dict[str, Any], second: dict[str, Any], merged: bool
) -> None:
    # Given a contact, and a second made when she enrolled again, sharing only the phone
    a = crm("C0000001", **{"phones": [MOBILE], "card": "LD61000001", "address": HOME, **first})
    b = crm("C0000002", **{"phones": [MOBILE], "card": "LD61000002", "address": HOME, **second})
    records = world(a, b)
    result = resolve(records)
    # Then they are one member exactly when nothing tells two people apart
    assert together(result, a.ref, b.ref) is merged
    if merged:  # and the link says which rule, on which phone
        [link] = [x for x in result.links if {x.a, x.b} == {a.ref, b.ref}]
        assert link.rule in ("crm_duplicate", "crm_phone_duplicate")
        assert link.evidence["kind"] == "PHONE"
    else:  # and a pair with their names and birth dates agreeing goes to stewards
        found = {(s.a, s.b) for s in suggest(records, RULES.suggestions, RULES.near_duplicates)}
        if second.get("birth", "x") is None and "first" not in second and "last" not in second:
            assert (a.ref, b.ref) in found


def test_the_rule_turned_off_leaves_a_shared_phone_to_stewards() -> None:
    # Given one person's two contacts sharing only a mobile, and the rule off
    rules = Rules(reenrolments=ReenrolmentRules(enabled=False))
    a = crm("C0000001", phones=[MOBILE], card="LD61000001", address=HOME)
    b = crm("C0000002", birth=None, phones=[MOBILE], card="LD61000002", address=HOME)
    records = world(a, b)
    # Then they stay apart, and stewards are offered the pair
    assert not together(resolve(records, rules), a.ref, b.ref)
    found = suggest(records, rules.suggestions, rules.near_duplicates)
    assert [(s.a, s.b) for s in found] == [(a.ref, b.ref)]


def test_the_rule_is_read_from_a_rules_file() -> None:
    rules = Rules.model_validate({"reenrolments": {"own_values_say_two": False}})
    assert rules.reenrolments == ReenrolmentRules(own_values_say_two=False)


@pytest.mark.parametrize(
    ("second_address", "rules", "merged"),
    [
        pytest.param(HOME, RULES, True, id="one-postcode"),
        pytest.param(NO_POSTCODE, RULES, True, id="a-postcode-left-out"),
        pytest.param(ACROSS_TOWN, RULES, False, id="two-postcodes"),
        pytest.param(NO_POSTCODE,
                     Rules(reenrolments=ReenrolmentRules(placeholders_without_postcode=False)),
                     False, id="a-postcode-left-out-rule-off"),
    ],
)  # fmt: skip
def test_a_tills_address_on_each_is_no_value_of_their_own(
    second_address: dict[str, str], rules: Rules, merged: bool
) -> None:
    # Given her contact with her own e-mail, and one made at a till where the clerk typed
    # the store's address, as for every customer who gives none (a hub: many people's)
    store = "store53001@northfield.example.com"
    a = crm("C0000001", emails=["ann@own.org"], phones=[MOBILE], card="LD61000001", address=HOME)
    b = crm(
        "C0000002", birth=None, emails=[store], phones=[MOBILE], card="LD61000002",
        address=second_address,
    )  # fmt: skip
    guests = [
        crm(f"C00001{n:02}", first=f"Guest{n}", last=f"Other{n}", emails=[store])
        for n in range(RULES.hub_max_people + 1)
    ]
    result = resolve(world(a, b, *guests), rules)
    # Then the store's address is not hers: at one postcode (or one left out), one person
    assert together(result, a.ref, b.ref) is merged


@pytest.mark.parametrize(
    ("second", "merged"),
    [
        pytest.param({"birth": None}, True, id="re-enrolled-birth-left-out"),
        pytest.param({"first": "Annie", "birth": None}, True, id="a-short-form"),
        pytest.param({"first": "Bob"}, False, id="another-first-name-a-lent-card"),
        pytest.param({"birth": "1990-06-01"}, False, id="births-differ"),
        # A holder with no e-mail of her own holds the one her card's orders give: her phone
        # alone is no value of her own against the contact carrying it (re-enrolled with
        # her phone, the e-mail left out).
        pytest.param({"phones": ["3125550111"], "birth": None}, True, id="holder-without-an-email"),
        # A holder with an address of her own, ordering under another's: a lent card.
        pytest.param(
            {"phones": ["3125550111"], "emails": ["annie.l@work.org"], "birth": None},
            False,
            id="holder-with-an-address-of-her-own",
        ),
        pytest.param(
            {"emails": ["annie.l@work.org"], "birth": None}, False, id="each-her-own-address"
        ),
        # Each with values of her own, both birth dates given and one: her new phone.
        pytest.param({"phones": ["3125550111"]}, True, id="own-values-births-agree"),
        pytest.param(
            {"first": "ANN", "phones": ["3125550111"], "birth": "1980-01-01"},
            True,
            id="own-values-births-agree-caps",
        ),
        # Twins a letter apart share the birth date: their values of their own say two.
        pytest.param({"first": "Anne", "phones": ["3125550111"]}, False, id="twins-own-values"),
    ],
)
def test_a_cards_online_order_giving_another_contacts_email(
    second: dict[str, Any], merged: bool
) -> None:
    # Given Ann's contact with her e-mail, a contact made when she enrolled again at a till
    # (a new card, no e-mail), and an online order on the new card giving her e-mail
    first = crm("C0000001", emails=["ann.lee@own.org"], card="LD61000001", address=HOME)
    again = crm("C0000002", **{"card": "LD61000002", "address": HOME, **second})
    order = purchase(card="LD61000002", email="ann.lee@own.org", channel="online", tid="T1")
    result = resolve(world(first, again, order))
    # Then her two contacts and the card's orders are one member exactly when nothing
    # tells two people apart
    assert together(result, first.ref, again.ref) is merged
    if merged:
        [link] = [x for x in result.links if {x.a, x.b} == {first.ref, again.ref}]
        assert link.rule == "crm_card_order_duplicate"


def test_births_agreeing_outweigh_own_values_is_a_rule() -> None:
    # Given Ann's contact and her re-enrolment with a new phone, both born on one day, and
    # the new card's online order giving her e-mail
    first = crm("C0000001", emails=["ann.lee@own.org"], card="LD61000001", address=HOME)
    again = crm("C0000002", phones=["3125550111"], card="LD61000002", address=HOME)
    order = purchase(card="LD61000002", email="ann.lee@own.org", channel="online", tid="T1")
    records = world(first, again, order)
    # When the rule is off, values of their own keep them apart as before
    off = Rules(near_duplicates=NearDuplicates(births_outweigh_own_values=False))
    assert not together(resolve(records, off), first.ref, again.ref)
    # Then on (the default) her two contacts are one member, the link saying what agreed
    result = resolve(records)
    [link] = [x for x in result.links if {x.a, x.b} == {first.ref, again.ref}]
    assert link.rule == "crm_card_order_duplicate"
    assert link.evidence["agreed"] == ["first_name", "last_name", "birth_date"]


def test_the_card_order_rule_turned_off() -> None:
    rules = Rules(reenrolments=ReenrolmentRules(card_orders=False))
    first = crm("C0000001", emails=["ann.lee@own.org"], card="LD61000001", address=HOME)
    again = crm("C0000002", birth=None, card="LD61000002", address=HOME)
    order = purchase(card="LD61000002", email="ann.lee@own.org", channel="online", tid="T1")
    assert not together(resolve(world(first, again, order), rules), first.ref, again.ref)


def test_the_email_a_holders_card_gives_is_hers_is_a_rule() -> None:
    # Given Ann's contact with her e-mail, her re-enrolment with her phone and no e-mail, and
    # the new card's online order giving her e-mail
    first = crm("C0000001", emails=["ann.lee@own.org"], card="LD61000001", address=HOME)
    again = crm("C0000002", birth=None, phones=["3125550111"], card="LD61000002", address=HOME)
    order = purchase(card="LD61000002", email="ann.lee@own.org", channel="online", tid="T1")
    records = world(first, again, order)
    # Then they are one member, and with the rule off the e-mail is the contact's own
    # against her phone: two people, as before
    assert together(resolve(records), first.ref, again.ref)
    off = Rules(reenrolments=ReenrolmentRules(card_orders_email_hers=False))
    assert not together(resolve(records, off), first.ref, again.ref)


def test_a_son_carrying_his_fathers_email_is_not_his_fathers_re_enrolment() -> None:
    # Given John Johnson senior (a birth date, his phone, his card, no e-mail on file) and
    # junior (no birth date, his own phone, his father's e-mail on his contact), the address
    # line written two ways, and the father's online order on his card giving his e-mail
    senior = crm(
        "C0000001", first="John", last="Johnson", phones=["4165550100"], card="LD61000001",
        address={**HOME, "line1": "4393 Adams Ave Apt 26"},
    )  # fmt: skip
    junior = crm(
        "C0000002", first="John", last="Johnson", birth=None, emails=["john.johnson@mail.org"],
        phones=["6475550111"], card="LD61000002", address={**HOME, "line1": "4393 Adams Avenue #26"},
    )  # fmt: skip
    order = purchase(card="LD61000001", email="john.johnson@mail.org", channel="online", tid="T1")
    result = resolve(world(senior, junior, order))
    # Then each his own phone at one postcode says two people
    assert not together(result, senior.ref, junior.ref)


def test_a_mother_and_daughter_of_one_name_on_the_landline_stay_apart() -> None:
    # Given Jennifer Allen (no birth date, her e-mail and mobile) and her daughter Jennifer
    # (born 2004), entered twice, once as Jenny with her own mobile: all on the landline
    landline, home = "3172108615", {**HOME, "line1": "5438 Granville Ln"}
    mother = crm(
        "C0000001", first="Jennifer", last="Allen", birth=None, emails=["allenj@mail.org"],
        phones=["3179442061", landline], card="LD61000001", address=home,
    )  # fmt: skip
    daughter = crm(
        "C0000002", first="Jennifer", last="Allen", birth="2004-10-15", phones=[landline],
        address={**home, "line1": "5438 Granville LN"},
    )  # fmt: skip
    again = crm(
        "C0000003", first="Jenny", last="Allen", birth=None, phones=["3173174597", landline],
        card="LD61000003", address={**home, "line1": "5438 Granville Lane"},
    )  # fmt: skip
    result = resolve(world(mother, daughter, again))
    # Then the mother is not with her daughter: the three would hold two own mobiles
    assert not together(result, mother.ref, daughter.ref)
    assert not together(result, mother.ref, again.ref)


@pytest.mark.parametrize(
    ("second", "rules", "merged"),
    [
        pytest.param({}, RULES, True, id="the-stores-address-one-postcode"),
        pytest.param({"address": ACROSS_TOWN}, RULES, False, id="another-postcode"),
        pytest.param({"address": NO_POSTCODE}, RULES, True, id="a-postcode-left-out"),
        pytest.param({"address": NO_POSTCODE},
                     Rules(reenrolments=ReenrolmentRules(placeholders_without_postcode=False)),
                     False, id="a-postcode-left-out-rule-off"),
        # A father and son of one name: each his own e-mail, whatever else the son carries.
        pytest.param({"emails": ["STORE"], "extra": ["robsmith97@mail.org"]}, RULES, False,
                     id="each-own-email"),
        pytest.param({}, Rules(reenrolments=ReenrolmentRules(namesakes_need_own_values=False)),
                     False, id="rule-off"),
    ],
)  # fmt: skip
def test_one_name_no_births_and_a_tills_address_on_one(
    second: dict[str, Any], rules: Rules, merged: bool
) -> None:
    # Given Robert Smith's contact with his own e-mail, and one of the same name made at a
    # till where the clerk typed the store's address (a hub: every guest's), neither with a
    # birth date, both on his mobile
    store = "store53001@northfield.example.com"
    emails = [store if e == "STORE" else e for e in second.get("emails", ["STORE"])]
    own = crm(
        "C0000001", first="Robert", last="Smith", birth=None, emails=["rsmith57@mail.org"],
        phones=[MOBILE], card="LD61000001", address=HOME,
    )  # fmt: skip
    again = crm(
        "C0000002", first="Robert", last="Smith", birth=None,
        emails=emails + second.get("extra", []), phones=[MOBILE], card="LD61000002",
        address=second.get("address", HOME),
    )  # fmt: skip
    guests = [
        crm(f"C00001{n:02}", first=f"Guest{n}", last=f"Other{n}", emails=[store])
        for n in range(rules.hub_max_people + 1)
    ]
    result = resolve(world(own, again, *guests), rules)
    # Then the store's address is not his: at one postcode, one person entered twice
    assert together(result, own.ref, again.ref) is merged
    if merged:
        [link] = [x for x in result.links if {x.a, x.b} == {own.ref, again.ref}]
        assert link.rule == "crm_duplicate"
        assert link.evidence["kind"] == "PHONE"


@pytest.mark.parametrize(
    ("first_at", "second_at", "rules", "merged"),
    [
        pytest.param(HOME, NO_POSTCODE, RULES, False, id="own-phones-compared"),
        pytest.param(HOME, NO_POSTCODE,
                     Rules(reenrolments=ReenrolmentRules(own_phones_without_postcode=False)),
                     True, id="rule-off"),
        # The contact without a postcode is the one with a birth date and an e-mail: he said
        # who he is, and the other's second phone is his new mobile.
        pytest.param(NO_POSTCODE, HOME, RULES, True, id="the-bare-contact-has-a-postcode"),
    ],
)  # fmt: skip
def test_a_namesake_with_a_relatives_phone_and_no_address(
    first_at: dict[str, str], second_at: dict[str, str], rules: Rules, merged: bool
) -> None:
    # Given David Jones (born 1987, his e-mail, his mobile), and a David Jones contact a
    # till made with no birth date and no e-mail (a placeholder typed), carrying
    # a mobile of its own and the first one's
    first = crm(
        "C0000001", first="David", last="Jones", birth="1987-07-05",
        emails=["davidjones87@mail.org"], phones=[MOBILE], card="LD61000001", address=first_at,
    )  # fmt: skip
    second = crm(
        "C0000002", first="David", last="Jones", birth=None, emails=["noemail@noemail.com"],
        phones=["3805550118", MOBILE], card="LD61000002", address=second_at,
    )  # fmt: skip
    result = resolve(world(first, second), rules)
    # Then, when the contact that gave only a name and phones has no postcode either, its
    # phone of its own says another person (a namesake listing a relative's phone)
    assert together(result, first.ref, second.ref) is merged

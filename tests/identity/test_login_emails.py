"""One person's two CRM contacts joined by her logged-in sessions: an ``identify`` event
logged in as one contact gives the e-mail another contact carries, or another contact's
card gives for its online orders (``reenrolments.login_emails``, issue 19, twenty-ninth
round). Which pairs merge, which stay apart, and the rule turned off."""

from __future__ import annotations

from typing import Any

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.phone_duplicates import ReenrolmentRules
from membergraph.identity.rules import Rules
from tests.identity.builders import ACROSS_TOWN, HOME, crm, event, purchase, together, world


# Luis Wilson's store contact: born 1992, his phone, his card and his address at HOME.
# The second contact logs in and its session gives his address; what else it says varies.
@pytest.mark.parametrize(
    ("second", "merged"),
    [
        # A contact of his name alone (no birth date, nothing else) logging in with the
        # address his dated contact carries: his father's login, the son's contact given
        # the father's address (the lead's s91, login_emails_undated_user off).
        pytest.param({"birth": None, "address": None}, False, id="an-undated-name-alone"),
        pytest.param({"first": "LUIS", "last": "WILSON"}, True, id="caps-births-agree"),
        pytest.param({"first": "Luiz"}, True, id="a-typo-births-agree"),
        pytest.param({"first": "Luiz", "birth": None}, False, id="a-typo-no-birth"),
        pytest.param({"first": "Wilson", "last": "Luis"}, True, id="swapped-names"),
        # Her own e-mail on the other contact, a family's on this one: no phone, no
        # card of its own against his (the family's address is hers as much).
        pytest.param({"emails": ["thewilsons67@comcast.net"]}, True, id="a-family-address-too"),
        # Another first name: a relative's address typed on his contact, hers logging in.
        pytest.param({"first": "Maria"}, False, id="another-first-name"),
        pytest.param({"birth": "2004-05-06"}, False, id="births-differ"),
        # One name, no birth date on this one, and values of its own on each (its own
        # address and phone, his phone): a namesake (a son) in the household.
        pytest.param(
            {"birth": None, "emails": ["luis.wilson04@mail.org"], "phones": ["6475550111"]},
            False,
            id="each-values-of-its-own",
        ),
        # Another postcode says nothing against his own login's address: he moved.
        pytest.param({"address": ACROSS_TOWN}, True, id="moved-across-town"),
    ],
)
def test_a_login_giving_another_contacts_email(second: dict[str, Any], merged: bool) -> None:
    # Given his store contact with his e-mail, a second contact and its logged-in session
    # (an identify event) giving his e-mail
    first = crm(
        "C0000001", first="Luis", last="Wilson", birth="1992-02-03", emails=["lwilson@mail.org"],
        phones=["4505550100"], card="LD61000001", address=HOME,
    )  # fmt: skip
    second = {"first": "Luis", "last": "Wilson", "birth": "1992-02-03", "address": HOME, **second}
    other = crm("C0000002", **second)
    login = event("dev-1", user="C0000002", eid="E1", email="lwilson@mail.org")
    result = resolve(world(first, other, login))
    # Then his two contacts are one member exactly when nothing tells two people apart
    assert together(result, first.ref, other.ref) is merged
    if merged:
        [link] = [x for x in result.links if {x.a, x.b} == {first.ref, other.ref}]
        assert link.rule == "crm_login_duplicate"


def test_a_login_giving_the_email_another_contacts_card_orders_give() -> None:
    # Given Thomas Johnson's store contact (the store's address typed for him, his card,
    # whose online orders give his handle) and his web contact (names swapped, no card),
    # whose logged-in session gives the same handle
    store = crm(
        "C0000001", first="Thomas", last="Jognson", birth="1974-04-21",
        emails=["store56605@northfieldmarket.com"], card="LD61000001", address=HOME,
    )  # fmt: skip
    web = crm("C0000002", first="Johnson", last="Thomas", birth="1974-04-21", address=HOME)
    order = purchase(card="LD61000001", email="hockeyfan4363@mail.org", channel="online")
    login = event("dev-1", user="C0000002", eid="E1", email="hockeyfan4363@mail.org")
    result = resolve(world(store, web, order, login))
    # Then his contacts are one member
    assert together(result, store.ref, web.ref)
    # And not when another first name holds the card (a relative's card)
    other = crm(
        "C0000001", first="Maria", last="Johnson", birth="1974-04-21", card="LD61000001",
        address=HOME,
    )  # fmt: skip
    assert not together(resolve(world(other, web, order, login)), other.ref, web.ref)


def test_a_form_filled_in_while_logged_in_joins_no_one() -> None:
    # Given his contact with his e-mail and another of his name whose session, logged in,
    # sends a sign-up form with his address (not an identify: anyone's address)
    first = crm("C0000001", first="Luis", last="Wilson", emails=["lwilson@mail.org"], address=HOME)
    other = crm("C0000002", first="Luis", last="Wilson", address=HOME)
    form = event("dev-1", user="C0000002", eid="E1", email="lwilson@mail.org", kind="track",
                 name="Newsletter Signup")  # fmt: skip
    # Then the form says nothing of whose the contacts are
    assert not together(resolve(world(first, other, form)), first.ref, other.ref)


def test_an_undated_login_joins_a_dated_contact_only_when_told() -> None:
    # David Lewis (1998) was given his father's address; the father's undated contact of
    # one name logs in with it (the lead's s91: a CRM mix with the rule alone).
    son = crm("C0000001", first="David", last="Lewis", birth="1998-07-17",
              emails=["lewisd@mail.org"], card="LD61000001")  # fmt: skip
    father = crm("C0000002", first="David N.", last="Lewis", birth=None, card="LD61000002",
                 address=HOME)  # fmt: skip
    login = event("dev-1", user="C0000002", eid="E1", email="lewisd@mail.org")
    records = world(son, father, login)
    assert not together(resolve(records), son.ref, father.ref)
    told = Rules(reenrolments=ReenrolmentRules(login_emails_undated_user=True))
    assert together(resolve(records, told), son.ref, father.ref)


def test_the_login_rule_turned_off() -> None:
    first = crm("C0000001", first="Luis", last="Wilson", emails=["lwilson@mail.org"], address=HOME)
    other = crm("C0000002", first="Luis", last="Wilson", address=HOME)
    login = event("dev-1", user="C0000002", eid="E1", email="lwilson@mail.org")
    records = world(first, other, login)
    assert together(resolve(records), first.ref, other.ref)
    off = Rules(reenrolments=ReenrolmentRules(login_emails=False))
    assert not together(resolve(records, off), first.ref, other.ref)

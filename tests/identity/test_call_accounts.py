"""One person's two CRM contacts joined by a call: she rings from the phone one contact
carries and gives the agent the other's account (its contact id, card or e-mail), read as
that phone on both contacts (``reenrolments.call_accounts``, issue 19, thirtieth round).
Which pairs merge, which stay apart (a relative calling for someone of the family), and
the rule turned off."""

from __future__ import annotations

from typing import Any

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.phone_duplicates import ReenrolmentRules
from membergraph.identity.rules import Rules
from tests.identity.builders import ACROSS_TOWN, HOME, call, crm, together, world


# James Schmidt's web contact: born 1989, his phone and e-mail, his card, at HOME. His
# store contact (another card, the store's address typed, no phone) is the account the
# agent types; a call from his phone about it. What the store contact says varies.
@pytest.mark.parametrize(
    ("second", "ref", "merged"),
    [
        pytest.param({}, "crm_id", True, id="his-contact-id-births-agree"),
        pytest.param({"birth": None}, "crm_id", True, id="his-contact-id-no-birth"),
        pytest.param({"birth": None}, "loyalty_id", True, id="his-other-card"),
        pytest.param({"first": "Jim"}, "loyalty_id", True, id="a-short-form"),
        pytest.param({"birth": "1988-05-14"}, "crm_id", True, id="a-year-slipped"),
        # A relative calling from his phone for someone of the family: another first name.
        pytest.param({"first": "Susan"}, "crm_id", False, id="his-mother-s-account"),
        # A namesake born years apart: a son calling for his father of one name.
        pytest.param({"birth": "1956-07-01"}, "crm_id", False, id="births-differ"),
        # A namesake across town with no birth date: a relative's (Maria Garcia of s1).
        pytest.param(
            {"birth": None, "address": ACROSS_TOWN}, "crm_id", False, id="another-postcode"
        ),
        # A namesake at home with values of his own (his e-mail, his mobile): two people.
        pytest.param(
            {"birth": None, "emails": ["jschmidt61@mail.org"], "phones": ["4125550177"]},
            "crm_id",
            False,
            id="each-values-of-its-own",
        ),
        # The account's contact reached at a phone of its own: a twin named a letter apart
        # (one birthday, one home) ringing from her mobile for her sister's account.
        pytest.param({"first": "Jame", "phones": ["4125550177"]}, "crm_id", False, id="a-twin"),
        pytest.param({"first": "Jame"}, "crm_id", True, id="a-letter-left-out-no-phone"),
        # The store contact's own e-mail, typed by the agent, beside the address on his:
        # each an e-mail of its own naming him, one undated (a father and a son).
        pytest.param(
            {"birth": None, "emails": ["jimschmidt@mail.org"]},
            "email",
            False,
            id="each-an-address-naming-him",
        ),
        # The store's address a till typed on it (no one's, a placeholder): his account.
        pytest.param(
            {"birth": None, "emails": ["store87107@northfieldmarket.com"]},
            "loyalty_id",
            True,
            id="the-store-s-address-on-it",
        ),
    ],
)
def test_a_call_from_one_contacts_phone_about_anothers_account(
    second: dict[str, Any], ref: str, merged: bool
) -> None:
    # Given his web contact (his phone), his store contact and a call from his phone about
    # the store contact's account
    first = crm(
        "C0000001", first="James", last="Schmidt", birth="1989-05-14",
        emails=["james.schmidt52@mail.org"], phones=["7248977112"], card="LD61000001",
        address=HOME,
    )  # fmt: skip
    fields = {"first": "James", "last": "Schmidt", "birth": "1989-05-14", "address": HOME}
    fields |= {"card": "LD61000002", **second}
    other = crm("C0000002", **fields)
    value = {
        "crm_id": "C0000002",
        "loyalty_id": "LD61000002",
        "email": (fields.get("emails") or [""])[0],
    }[ref]
    rang = call("I1", phone="(724) 897-7112", ref=(ref, value))
    result = resolve(world(first, other, rang))
    # Then his two contacts are one member exactly when nothing tells two people apart
    assert together(result, first.ref, other.ref) is merged
    if merged:
        [link] = [x for x in result.links if {x.a, x.b} == {first.ref, other.ref}]
        assert link.rule == "crm_call_duplicate"


def test_a_household_s_line_links_no_one() -> None:
    # Given the household's landline on his contact and on his wife's, and a call from it
    # about his store contact's account: the line is two people's, whose call it was is
    # not its to say
    first = crm("C0000001", first="James", last="Schmidt", birth="1989-05-14",
                phones=["7248977112"], address=HOME)  # fmt: skip
    wife = crm("C0000003", first="Susan", last="Schmidt", birth="1990-03-02",
               phones=["7248977112"], address=HOME)  # fmt: skip
    other = crm("C0000002", first="James", last="Schmidt", birth=None, address=HOME,
                card="LD61000002")  # fmt: skip
    rang = call("I1", phone="7248977112", ref=("crm_id", "C0000002"))
    result = resolve(world(first, wife, other, rang))
    assert not together(result, first.ref, other.ref)


def test_the_call_rule_turned_off() -> None:
    first = crm("C0000001", first="James", last="Schmidt", birth="1989-05-14",
                phones=["7248977112"], address=HOME)  # fmt: skip
    other = crm("C0000002", first="James", last="Schmidt", birth=None, address=HOME,
                card="LD61000002")  # fmt: skip
    rang = call("I1", phone="7248977112", ref=("loyalty_id", "LD61000002"))
    records = world(first, other, rang)
    assert together(resolve(records), first.ref, other.ref)
    off = Rules(reenrolments=ReenrolmentRules(call_accounts=False))
    result = resolve(records, off)
    assert not together(result, first.ref, other.ref)
    # ... and the call joins the account's member, as before
    assert together(result, other.ref, rang.ref)

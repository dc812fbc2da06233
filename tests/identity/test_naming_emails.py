"""Two contacts of one name on one phone, a birth date left out on one, each with an e-mail of
her own: two people only when each address names its contact (``reenrolments.
own_emails_name_each``; issue 19: her contacts apart on a shared phone)."""

from __future__ import annotations

from typing import Any

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.phone_duplicates import ReenrolmentRules
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, together, world

HOME = {"line1": "8698 Lincoln Ct", "city": "Springfield", "postal_code": "58074", "country": "US"}
LANDLINE = "3135379107"
OFF = Rules(reenrolments=ReenrolmentRules(own_emails_name_each=False))


# The first contact: William Miller, born 1981-09-17, on the landline, william858@, a card.
# The second, on the landline with a card of its own, gave no birth date.
@pytest.mark.parametrize(
    ("second", "rules", "merged"),
    [
        # A handle, or an address naming no one: what a customer enrolled again gives.
        pytest.param({"emails": ["bluejay4233@icloud.com"]}, Rules(), True, id="a-handle"),
        pytest.param({"emails": ["coffeelover113@gmail.com"]}, Rules(), True,
                     id="another-handle"),
        pytest.param({"emails": ["bluejay4233@icloud.com"]}, OFF, False, id="rule-off"),
        # Each address names its contact: a father and son of one name.
        pytest.param({"emails": ["william.miller81@yahoo.com"]}, Rules(), False,
                     id="namesakes-each-named"),
        pytest.param({"emails": ["wmiller@gmail.com"]}, Rules(), False,
                     id="namesakes-initial-and-family-name"),
        # Phones of their own at one home still say two people.
        pytest.param({"emails": ["bluejay4233@icloud.com"], "phones": [LANDLINE, "3135550142"]},
                     Rules(), False, id="a-mobile-of-his-own-each"),
        # Both birth dates given and different: two people, whatever the addresses.
        pytest.param({"emails": ["bluejay4233@icloud.com"], "birth": "2006-02-11"}, Rules(),
                     False, id="two-birth-dates"),
    ],
)  # fmt: skip
def test_own_emails_on_a_shared_phone(second: dict[str, Any], rules: Rules, merged: bool) -> None:
    # Given his contact, with a mobile of his own, and a second one on the landline
    first = crm("C0000001", first="William", last="Miller", birth="1981-09-17",
                phones=[LANDLINE, "3135550199"], emails=["william858@gmail.com"],
                card="LD61000001", address=HOME)  # fmt: skip
    fields = {"phones": [LANDLINE], "birth": None, **second}
    other = crm("C0000002", first="William", last="Miller", card="LD61000002", address=HOME,
                **fields)  # fmt: skip
    # When resolved
    result = resolve(world(first, other), rules)
    # Then they are one member exactly when an address of his own on one names no one
    assert together(result, first.ref, other.ref) is merged


@pytest.mark.parametrize(
    ("dated", "undated", "merged"),
    [
        # The handle on the undated contact: the quick enrolment again at a till.
        pytest.param("david.gagnon63@yahoo.com", "hockeyfan3393@yahoo.com", True,
                     id="the-handle-undated"),
        # The handle on the dated contact, the undated one naming himself: a father (his
        # own address a handle) and his son of one name (a 20,000-people holdout's mix).
        pytest.param("hockeyfan3393@yahoo.com", "gagnond@yahoo.ca", False,
                     id="the-handle-dated"),
    ],
)  # fmt: skip
def test_the_handle_is_the_undated_contacts(dated: str, undated: str, merged: bool) -> None:
    # Given David Gagnon, born 1963, and a David Gagnon with no birth date, on one landline
    # at one address, each with a card and an address of his own
    father = crm("C0000001", first="David", last="Gagnon", birth="1963-07-16",
                 phones=[LANDLINE], emails=[dated], card="LD61000001", address=HOME)  # fmt: skip
    other = crm("C0000002", first="David", last="Gagnon", birth=None, phones=[LANDLINE],
                emails=[undated], card="LD61000002", address=HOME)  # fmt: skip
    # When resolved
    result = resolve(world(father, other), Rules())
    # Then one person only when the handle is the undated contact's
    assert together(result, father.ref, other.ref) is merged


@pytest.mark.parametrize(
    ("emails", "rules", "merged"),
    [
        pytest.param(["sunshine5550@gmail.com"], Rules(), True, id="a-handle"),
        pytest.param(["sunshine5550@gmail.com"], OFF, False, id="rule-off"),
        pytest.param(["jessica_johnson@yahoo.com"], Rules(), False, id="namesakes-each-named"),
    ],
)
def test_two_undated_contacts_of_one_name(emails: list[str], rules: Rules, merged: bool) -> None:
    # Given two contacts of one name, neither dated, on the landline, each with a card and
    # an e-mail of its own, the first naming her
    first = crm("C0000001", first="Jessica", last="Johnson", birth=None, phones=[LANDLINE],
                emails=["jessica.johnson@aol.com"], card="LD61000001", address=HOME)  # fmt: skip
    other = crm("C0000002", first="Jessica", last="Johnson", birth=None, phones=[LANDLINE],
                emails=emails, card="LD61000002", address=HOME)  # fmt: skip
    # When resolved
    result = resolve(world(first, other), rules)
    # Then namesakes are two only when each address names its contact
    assert together(result, first.ref, other.ref) is merged

"""Her dated contact and her quick one at a till on one phone, each with a card and values of
her own: one person when nothing says a namesake and something says a till
(``reenrolments.quick_enrolment_on_a_phone``; issue 19: her two contacts on one phone, one
undated, each with a card)."""

from __future__ import annotations

from typing import Any

import pytest

from membergraph.connectors.models import CrmContact, SourceName
from membergraph.identity.engine import resolve
from membergraph.identity.line_records import record_of_line
from membergraph.identity.phone_duplicates import ReenrolmentRules
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from tests.identity.builders import together, world

HOME = {"line1": "5944 Highland Ln", "city": "Springfield", "postal_code": "57779", "country": "US"}
LANDLINE = "3135379107"
ON = Rules()  # on by default since the thirty-second round (least age 25)
OFF = Rules(reenrolments=ReenrolmentRules(quick_enrolment_on_a_phone=False))


def contact(key: str, **fields: Any) -> RecordData:
    line = CrmContact.model_validate(
        {"contact_id": key, "last_name": "Wilson", "address": HOME, "phones": [LANDLINE],
         **fields}
    )  # fmt: skip
    record = record_of_line(SourceName.CRM, line)
    assert record is not None
    return record


# Her dated contact: Richard Wilson, born 1992, on the landline only, an address naming him,
# a card, written in 2026. The quick one: no birth date, the landline and a mobile, a card of
# its own, written in 2018.
@pytest.mark.parametrize(
    ("dated", "quick", "rules", "merged"),
    [
        # A name typed with a slip at the till.
        pytest.param({}, {"first_name": "Richaard"}, ON, True, id="a-slip-in-her-name"),
        pytest.param({}, {"first_name": "Richaard"}, OFF, False, id="rule-off"),
        pytest.param({}, {"last_name": "Wilsno"}, ON, True, id="a-slip-in-her-family-name"),
        # No e-mail naming the quick contact: none, or a handle.
        pytest.param({}, {"emails": []}, ON, True, id="no-email-on-the-quick-one"),
        pytest.param({}, {"emails": ["bluejay4233@icloud.com"]}, ON, True,
                     id="a-handle-on-the-quick-one"),
        # Her birth year in the quick contact's address; another year is another person's.
        pytest.param({}, {"emails": ["richardwilson92@gmail.com"]}, ON, True,
                     id="her-birth-year"),
        pytest.param({}, {"emails": ["richardwilson82@gmail.com"]}, ON, False,
                     id="another-year"),
        # Nothing of a till: a father and son of one name, each naming himself.
        pytest.param({}, {}, ON, False, id="each-named-no-slip"),
        # Something says a namesake.
        pytest.param({"first_name": "Richard F."}, {"first_name": "Richaard G."}, ON,
                     False, id="two-middle-initials"),
        pytest.param({"birth_date": "2004-03-01"},
                     {"first_name": "Richaard", "updated_at": "2024-05-01T10:00:00Z"}, ON, False,
                     id="a-young-contacts-namesake"),
        pytest.param({"birth_date": "2004-03-01"},
                     {"first_name": "Richaard", "updated_at": "2024-05-01T10:00:00Z"},
                     Rules(reenrolments=ReenrolmentRules(quick_enrolment_on_a_phone=True,
                                                         quick_enrolment_least_age=16)),
                     True, id="a-young-contacts-namesake-least-age-16"),
        pytest.param({}, {"first_name": "Richaard", "updated_at": "2006-05-01T10:00:00Z"},
                     ON, False, id="seen-when-he-was-a-child"),
        pytest.param({"phones": [LANDLINE, "3135550188"]}, {"first_name": "Richaard"},
                     ON, False, id="a-phone-of-the-dated-ones-own"),
        pytest.param({"birth_date": None}, {"first_name": "Richaard"}, ON, False,
                     id="both-undated"),
        pytest.param({}, {"first_name": "Richaard", "loyalty_id": None}, ON, False,
                     id="no-card-on-the-quick-one"),
        pytest.param({"first_name": "Stephanie", "emails": ["stephanie.wilson@rogers.com"]},
                     {"first_name": "Stephaine", "emails": []}, ON, True,
                     id="two-letters-swapped"),
        pytest.param({}, {"first_name": "Wilson", "last_name": "Richard", "emails": []},
                     ON, True, id="names-in-the-wrong-boxes"),
        # A letter left out may make another person's name: a man's and a woman's.
        pytest.param({"first_name": "Stephane", "emails": ["stephane.wilson@rogers.com"]},
                     {"first_name": "Stephanie", "emails": []},
                     ON, False, id="a-mans-name-and-a-womans"),
    ],
)  # fmt: skip
def test_quick_enrolment_on_a_phone(
    dated: dict[str, Any], quick: dict[str, Any], rules: Rules, merged: bool
) -> None:
    # Given his dated contact and a quick one on the landline
    first = contact("C0000001", **{
        "first_name": "Richard", "birth_date": "1992-07-26",
        "emails": ["richard.wilson4@rogers.com"], "loyalty_id": "LD61000001",
        "updated_at": "2026-11-27T10:00:00Z", **dated})  # fmt: skip
    second = contact("C0000002", **{
        "first_name": "Richard", "birth_date": None, "phones": [LANDLINE, "3135550142"],
        "emails": ["richard_wilson@gmail.com"], "loyalty_id": "LD61000002",
        "updated_at": "2018-10-04T10:00:00Z", **quick})  # fmt: skip
    # When resolved
    result = resolve(world(first, second), rules)
    # Then one member exactly when the quick contact is his enrolment again at a till
    assert together(result, first.ref, second.ref) is merged

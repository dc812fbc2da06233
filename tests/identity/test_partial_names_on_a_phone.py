"""A contact giving a first name alone on a shared phone, beside her whole contact: one
person when she gives her first name again and nothing says two
(``reenrolments.partial_names_on_a_phone``; issue 19: her two contacts on one phone)."""

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

HOME = {"line1": "7075 Madison St", "city": "Springfield", "postal_code": "53561", "country": "US"}
LANDLINE = "7169591232"
ON = Rules()
OFF = Rules(reenrolments=ReenrolmentRules(partial_names_on_a_phone=False))


def contact(key: str, **fields: Any) -> RecordData:
    line = CrmContact.model_validate(
        {"contact_id": key, "address": HOME, "phones": [LANDLINE], **fields}
    )
    record = record_of_line(SourceName.CRM, line)
    assert record is not None
    return record


# Her whole contact: Susan Harris, on the landline, a card, no e-mail. The partial one: a
# first name alone, the landline, a card of its own, no birth date, no e-mail.
@pytest.mark.parametrize(
    ("whole", "part", "rules", "merged"),
    [
        pytest.param({}, {}, ON, True, id="her-first-name-again"),
        pytest.param({}, {}, OFF, False, id="rule-off"),
        pytest.param({}, {"first_name": "Sue"}, ON, True, id="a-listed-short-form"),
        pytest.param({"birth_date": "2002-04-20"}, {"birth_date": "2002-04-20"}, ON, True,
                     id="one-birth-date"),
        pytest.param({"birth_date": "2002-04-20"}, {}, ON, True, id="a-date-left-out"),
        # Something says two people.
        pytest.param({"birth_date": "1971-02-03"}, {"birth_date": "2002-04-20"}, ON, False,
                     id="another-birth-date"),
        pytest.param({}, {"first_name": "Karen"}, ON, False, id="another-first-name"),
        pytest.param({"first_name": "Ann"}, {"first_name": "Anne"}, ON, False,
                     id="a-letter-apart-twins"),
        pytest.param({}, {"first_name": None, "last_name": "Harris"}, ON, False,
                     id="a-family-name-alone"),
        pytest.param({"phones": [LANDLINE, "7165550101"]},
                     {"phones": [LANDLINE, "7165550102"]}, ON, False,
                     id="a-phone-of-its-own-on-each"),
        pytest.param({"emails": ["susan.harris@gmail.com"]},
                     {"emails": ["sharris@icloud.com"]}, ON, False,
                     id="an-email-of-its-own-on-each"),
    ],
)  # fmt: skip
def test_partial_names_on_a_phone(
    whole: dict[str, Any], part: dict[str, Any], rules: Rules, merged: bool
) -> None:
    # Given her whole contact and one giving a first name alone on the landline
    first = contact("C0000001", **{
        "first_name": "Susan", "last_name": "Harris", "loyalty_id": "LD61000001",
        "updated_at": "2020-12-13T10:00:00Z", **whole})  # fmt: skip
    second = contact("C0000002", **{
        "first_name": "Susan", "last_name": None, "loyalty_id": "LD61000002",
        "updated_at": "2019-12-31T10:00:00Z", **part})  # fmt: skip
    # When resolved
    result = resolve(world(first, second), rules)
    # Then one member exactly when the partial contact is hers
    assert together(result, first.ref, second.ref) is merged

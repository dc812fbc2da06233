"""An undated contact seen while her namesake was a child is not her duplicate
(``Rules.undated_duplicates_least_age``, ``identity/seen_as_a_child.py``)."""

from __future__ import annotations

import pytest

from membergraph.connectors.models import CrmContact, SourceName
from membergraph.identity.engine import resolve
from membergraph.identity.line_records import record_of_line
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from tests.identity.builders import purchase, world

HOME = {"line1": "2556 King Pl", "city": "Bloomington", "postal_code": "47881", "country": "US"}
FAMILY = "mapleleaf3069@gmail.com"


def _contact(key: str, first: str, born: str | None, written: str, **more: object) -> RecordData:
    line = CrmContact.model_validate(
        {
            "contact_id": key,
            "first_name": first,
            "last_name": "Anderson",
            "birth_date": born,
            "emails": [FAMILY],
            "address": HOME,
            "updated_at": written,
            **more,
        }
    )
    record = record_of_line(SourceName.CRM, line)
    assert record is not None
    return record


@pytest.mark.parametrize(
    ("written", "first_purchase", "least_age", "together"),
    [
        # The father's contact, written when his namesake son (born 2004-12-23) was seven
        pytest.param("2012-05-24T03:44:40Z", None, 12, False, id="written-when-he-was-seven"),
        # ... or written lately, its card bought with since he was ten
        pytest.param(
            "2024-05-24T03:44:40Z",
            "2015-02-01T10:00:00Z",
            12,
            False,
            id="its-card-bought-with-when-he-was-ten",
        ),
        # Written once he was thirteen: his own contact entered twice
        pytest.param("2018-01-02T00:00:00Z", None, 12, True, id="written-when-he-was-thirteen"),
        pytest.param(
            "2024-05-24T03:44:40Z",
            "2023-02-01T10:00:00Z",
            12,
            True,
            id="its-card-bought-with-lately",
        ),
        # The rule off: one person, as before
        pytest.param("2012-05-24T03:44:40Z", None, 0, True, id="rule-off"),
    ],
)
def test_an_undated_contact_seen_while_he_was_a_child(
    written: str, first_purchase: str | None, least_age: int, together: bool
) -> None:
    # Given an undated Robert Anderson with a card, and Bob Anderson born 2004, on the
    # family's e-mail and address
    father = _contact("C1", "Robert", None, written, loyalty_id="604831429637")
    son = _contact("C2", "Bob", "2004-12-23", "2022-01-01T00:00:00Z", phones=["380-675-7024"])
    bought = [purchase(card="604831429637", tid="T1", at=first_purchase)] if first_purchase else []
    records = world(father, son, *bought)
    # When resolved
    res = resolve(records, Rules(undated_duplicates_least_age=least_age))
    # Then they are one member only when the undated one was seen once he was grown
    member = {ref: i for i, comp in enumerate(res.components) for ref in comp}
    assert (member[father.ref] == member[son.ref]) is together


def test_the_least_age_is_written_in_the_default_rules() -> None:
    assert Rules().undated_duplicates_least_age == 12

"""Which people a member's CRM contacts read as, by the identity rules' own comparison of
two contacts: what decides whether an erasure of the member may take someone else too."""

from __future__ import annotations

from datetime import date

import pytest

from membergraph.identity.records import RecordData
from membergraph.identity.rules import load_rules
from membergraph.privacy.spans import read_people


def _contact(key: str, first: str | None, last: str | None, born: str | None) -> RecordData:
    birth = date.fromisoformat(born) if born else None
    return RecordData("crm", key, "profile", first_name=first, last_name=last, birth_date=birth)


ERIN = _contact("C-1", "Erin", "Zedlander", "1985-03-04")


@pytest.mark.parametrize(
    ("other", "people", "persons"),
    [
        pytest.param(
            _contact("C-2", "ERIN", "zedlander", "1985-03-04"), 1, [0, 0], id="one-person"
        ),
        pytest.param(_contact("C-2", "Erin", "Zedlandr", None), 1, [0, 0], id="a-slip-no-date"),
        pytest.param(_contact("C-2", "Gus", "Other", None), 2, [0, 1], id="other-names"),
        pytest.param(
            _contact("C-2", "Erin", "Zedlander", "1962-07-19"), 2, [0, 1], id="birth-dates-differ"
        ),
        pytest.param(_contact("C-2", "Erin", None, None), 1, [0, None], id="no-full-name"),
    ],
)
def test_contacts_read_as_the_people_the_rules_say(
    other: RecordData, people: int, persons: list[int | None]
) -> None:
    contacts, counted = read_people([ERIN, other], load_rules(None))
    assert counted == people
    assert [c.person for c in contacts] == persons
    assert [c.key for c in contacts] == ["C-1", "C-2"]


def test_records_other_than_contacts_are_no_people() -> None:
    card = RecordData("transactions", "loyalty:LD1", "profile")
    contacts, counted = read_people([ERIN, card], load_rules(None))
    assert counted == 1 and [c.key for c in contacts] == ["C-1"]

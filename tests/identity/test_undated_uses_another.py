"""A young adult enrolled with a parent's address, his contact undated: his own address in
his logins and web orders says two people (``Rules.undated_using_another_apart``), unless
what they share says one person."""

from __future__ import annotations

from typing import Any

import pytest

from membergraph.connectors.models import CrmContact, SourceName
from membergraph.identity.engine import resolve
from membergraph.identity.line_records import record_of_line
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from tests.identity.builders import event, purchase, together, world

HOME = {"line1": "6304 Forest Pl", "city": "Buffalo", "postal_code": "14201", "country": "US"}
FATHERS = "matthew893@mail-example.com"
FATHER = ("crm", "C0000001")
SON = ("crm", "C0000002")


def crm(key: str, written: str, **fields: Any) -> RecordData:
    """A contact of Matthew Jones's name on the father's address, written on ``written``."""
    line = {"first_name": "Matthew", "last_name": "Jones", "emails": [FATHERS], **fields}
    record = record_of_line(
        SourceName.CRM,
        CrmContact.model_validate({"contact_id": key, "updated_at": written, **line}),
    )
    assert record is not None
    return record


def _login(email: str) -> RecordData:
    return event("dev-son", user="C0000002", eid="E1", email=email)


def _web_order(email: str) -> RecordData:
    return purchase(card="LD61000002", email=email, channel="online", store="WEB", tid="W1")


@pytest.mark.parametrize(
    ("son", "seen", "joined"),
    [
        # Matthew Jones (1956) and his son Matthew, undated, given the father's address:
        # the son's logged-in session gives his own
        pytest.param({}, [_login("matthew.jones@mail-example.net")], False, id="his-login"),
        # ... or his card's web order does
        pytest.param({}, [_web_order("mjones97@mail-example.net")], False, id="his-web-order"),
        # seen using nothing, or the shared address: one person entered twice, as before
        pytest.param({}, [], True, id="seen-using-nothing"),
        pytest.param({}, [_login(FATHERS)], True, id="seen-using-the-shared-one"),
        pytest.param(
            {}, [_login(FATHERS), _login("matthew.jones@mail-example.net")], True, id="both"
        ),
        # an address that identifies no one (a placeholder typed at a form) says nothing
        pytest.param({}, [_login("test@test.com")], True, id="a-placeholder"),
        # a phone they share says one person
        pytest.param(
            {"phones": ["7168790048"]}, [_login("matthew.jones@mail-example.net")], True, id="phone"
        ),
        # both dated, the same day: one person, her new address in her logins
        pytest.param(
            {"birth_date": "1956-07-24"},
            [_login("matthew.jones@mail-example.net")],
            True,
            id="dated",
        ),
        # the undated contact written after the dated one: her newer enrolment, her new
        # address in her logins (people use their newest card and account)
        pytest.param(
            {"updated_at": "2018-03-01T00:00:00Z"},
            [_login("matthew.jones@mail-example.net")],
            True,
            id="written-after",
        ),
    ],
)
def test_an_undated_contact_using_an_address_of_its_own(
    son: dict[str, Any], seen: list[RecordData], joined: bool
) -> None:
    # Given the father's dated contact (2016) and an undated one of his name on his address
    # written before it (2015), each with a card, and what the undated one's holder uses
    father = crm(
        "C0000001", "2016-09-18T00:00:00Z", birth_date="1956-07-24", phones=["7168790048"],
        loyalty_id="LD61000001", address=HOME,
    )  # fmt: skip
    fields: dict[str, Any] = {"loyalty_id": "LD61000002", "address": HOME, **son}
    written = fields.pop("updated_at", "2015-01-01T00:00:00Z")
    other = crm("C0000002", written, **fields)
    result = resolve(world(father, other, *seen))
    # Then the two contacts are one member exactly when nothing tells two people apart
    assert together(result, FATHER, SON) is joined


def test_the_rule_off_reads_them_as_near_duplicates() -> None:
    father = crm("C0000001", "2016-09-18T00:00:00Z", birth_date="1956-07-24", address=HOME)
    son = crm("C0000002", "2015-01-01T00:00:00Z", loyalty_id="LD61000002", address=HOME)
    login = _login("matthew.jones@mail-example.net")
    off = Rules(undated_using_another_apart=False)
    assert together(resolve(world(father, son, login), off), FATHER, SON)
    assert not together(resolve(world(father, son, login)), FATHER, SON)

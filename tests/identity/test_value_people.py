"""Who carries a value, counted as people: a record that claims a card or a contact (a
card's purchases, a login) is its holder's, not one more person on her e-mail."""

from __future__ import annotations

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, purchase, visitor, world

RULES = Rules()


@pytest.mark.parametrize(
    ("people", "hub"),
    [
        # One person: three contacts (each its own card, names written three ways), her
        # cards' online orders and her logins: three people's worth of records at most.
        pytest.param(1, False, id="one-persons-contacts-cards-and-logins"),
        # Seven people typing one address: a hub, as before.
        pytest.param(RULES.hub_max_people + 1, True, id="seven-people"),
    ],
)
def test_who_carries_an_email_counts_a_cards_records_as_its_holder(people: int, hub: bool) -> None:
    # Given an e-mail on contacts, each with a card whose online orders give it and a
    # visitor logged in as the contact
    mail, records = "jmoore@mail.org", []
    names = [("John", "Moore"), ("Jhnny", "Moore"), ("Johnny", "Moore")]
    for n in range(3 if people == 1 else people):
        first, last = names[n] if people == 1 else (f"P{n}", f"Other{n}")
        card, key = f"LD6200000{n}", f"C00000{n + 1:02}"
        records.append(crm(key, first=first, last=last, birth=None, emails=[mail], card=card))
        records.append(purchase(card=card, email=mail, channel="online", tid=f"T{n}"))
        records.append(visitor(f"anon-{n}", logins=(key,), emails=(mail,)))
    result = resolve(world(*records))
    # Then the e-mail is a hub exactly when more people than the rule allows carry it
    status = result.value_status[(IdentifierKind.EMAIL, mail)]
    assert (status == "hub") is hub

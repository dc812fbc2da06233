"""An e-mail on contacts that read as two people (shared) whose contacts all end in one
member: that member's, linking her orders and opens (rules.shared_emails_of_one_member)."""

from __future__ import annotations

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, event, purchase, world

ADDRESS = "coffeelover113@hotmail.com"
PHONE = "+16137105790"


@pytest.mark.parametrize(
    ("firsts", "rules", "joined"),
    [
        # Jhnny and Jihn are no pair, each is John's: one member, the address hers.
        pytest.param(["John", "Jhnny", "Jihn"], Rules(), True, id="one-persons-slips"),
        pytest.param(
            ["John", "Jhnny", "Jihn"],
            Rules(shared_emails_of_one_member=False),
            False,
            id="rule-off",
        ),
        # A father and his daughter on the family's address: two members, neither's alone.
        pytest.param(["John", "Mary"], Rules(), False, id="two-members"),
    ],
)
def test_a_shared_email_links_when_its_contacts_are_one_member(
    firsts: list[str], rules: Rules, joined: bool
) -> None:
    # Given contacts of the Moores on one address and phone, no birth dates, and the
    # address's card-less online orders and an e-mail open
    contacts = [
        crm(f"C{n}", first=first, last="Moore", birth=None, emails=[ADDRESS], phones=[PHONE])
        for n, first in enumerate(firsts)
    ]
    orders = purchase(email=ADDRESS, channel="online", tid="T1")
    opened = event("a-1", email=ADDRESS)
    result = resolve(world(*contacts, orders, opened), rules)
    # Then the orders and the open join the contacts only when those are one member
    with_first = next(c for c in result.components if contacts[0].ref in c)
    assert (orders.ref in with_first and opened.ref in with_first) is joined
    assert not any(
        orders.ref in c and contacts[-1].ref in c and contacts[0].ref not in c
        for c in result.components
    )

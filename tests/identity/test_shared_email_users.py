"""An e-mail on two people's contacts (shared) that only one member's contacts are seen using,
their only address, naming them or no one: that member's card-less online orders under it
(rules.shared_emails_of_users)."""

from __future__ import annotations

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, event, purchase, world

ADDRESS = "coffeelover7379@icloud.com"
FAMILYS = "thehernandezfamily12@gmail.com"
PARENT_CARD, STUDENT_CARD = "604841555436", "604819966216"


@pytest.mark.parametrize(
    ("used_by", "address", "her_own", "rules", "joins"),
    [
        # The parent's card's purchases give the address: the parent's orders.
        pytest.param(("parent",), ADDRESS, [], Rules(), "parent", id="the-parents-card-gives-it"),
        pytest.param(
            ("parent",), ADDRESS, [], Rules(shared_emails_of_users=False), None, id="rule-off"
        ),
        # The student logs in and her session gives it: hers.
        pytest.param(
            ("student-login",), ADDRESS, [], Rules(), "student", id="the-students-login-gives-it"
        ),
        # Both use it: a family's address, no one's orders.
        pytest.param(("parent", "student"), ADDRESS, [], Rules(), None, id="both-cards-give-it"),
        # Nobody is seen using it: nothing says whose.
        pytest.param((), ADDRESS, [], Rules(), None, id="no-one-uses-it"),
        # The parent has an address of her own beside it: the shared one is the family's.
        pytest.param(
            ("parent",), ADDRESS, ["jesus.h@gmail.com"], Rules(), None, id="her-own-beside-it"
        ),
        # It names the family, not her: anyone of the household may order under it.
        pytest.param(("parent",), FAMILYS, [], Rules(), None, id="a-familys-name"),
    ],
)
def test_a_shared_emails_orders_join_the_member_seen_using_it(
    used_by: tuple[str, ...], address: str, her_own: list[str], rules: Rules, joins: str | None
) -> None:
    # Given a parent and a student of one family, two people, each with a card and a
    # phone, the parent's handle on both contacts (the student enrolled with it)
    parent = crm(
        "C1",
        first="Jesús",
        last="Hernández",
        birth="1964-09-19",
        emails=[address, *her_own],
        phones=["+13805540796"],
        card=PARENT_CARD,
    )
    student = crm(
        "C2",
        first="Edward",
        last="Hernandez",
        birth="2002-05-06",
        emails=[address],
        phones=["+13805438360"],
        card=STUDENT_CARD,
    )
    records: list[RecordData] = [parent, student]
    # and purchases with each card, the address given with those of the cards that use it
    for n, (who, card) in enumerate((("parent", PARENT_CARD), ("student", STUDENT_CARD))):
        email = address if who in used_by else None
        records.append(purchase(card=card, email=email, channel="online", tid=f"C{n}"))
    if "student-login" in used_by:
        records.append(event("a-1", user="C2", email=address))
    # and card-less online orders under the address
    orders = purchase(email=address, channel="online", tid="T1")
    records.append(orders)
    # When resolved
    result = resolve(world(*records), rules)
    # Then the orders join the member seen using the address, when only one is
    with_orders = next(c for c in result.components if orders.ref in c)
    holder = {parent.ref: "parent", student.ref: "student"}
    assert [holder[r] for r in with_orders if r in holder] == ([joins] if joins else [])

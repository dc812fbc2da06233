"""An e-mail given on a card's online order: the holder's own, or a guest's on a clerk's card."""

from __future__ import annotations

import pytest

from membergraph.identity.engine import resolve
from tests.identity.builders import crm, purchase, world

CARD = "LD70000001"


@pytest.mark.parametrize(
    ("holder_emails", "given", "joined"),
    [
        # Katherine Wilson's card on a guest's order: the guest's address names the guest.
        pytest.param(
            ["kathy.g@mail.org"], "jennifer33@yahoo.com", False, id="guest-on-clerks-card"
        ),
        # Her own work address names her: her card-less orders under it are hers.
        pytest.param(["kathy.g@mail.org"], "kwilson@acme.com", True, id="her-work-address"),
        pytest.param(["kathy.g@mail.org"], "katherine.w@acme.com", True, id="her-first-name"),
        pytest.param(["jennifer33@yahoo.com"], "jennifer33@yahoo.com", True, id="on-her-contact"),
        # A holder with no e-mail on file: nothing to say the address is someone else's.
        pytest.param([], "jennifer33@yahoo.com", True, id="holder-without-email"),
    ],
)
def test_an_email_on_a_cards_order_joins_its_orders_when_it_is_the_holders(
    holder_emails: list[str], given: str, joined: bool
) -> None:
    # Given Katherine Wilson's contact and card, an online order on her card giving an
    # e-mail, and card-less online orders under that e-mail
    katherine = crm("C0000001", first="Katherine", last="Wilson", emails=holder_emails, card=CARD)
    on_card = purchase(card=CARD, email=given, channel="online", tid="T1")
    guests = purchase(email=given, channel="online", tid="T2")
    result = resolve(world(katherine, on_card, guests))
    member = next(c for c in result.components if katherine.ref in c)
    # Then the card's purchases are hers, and the card-less orders too only when it is hers
    assert on_card.ref in member
    assert (guests.ref in member) is joined


def test_a_card_nobody_holds_in_the_crm_joins_its_emails_orders() -> None:
    # Given a card no contact holds, with an order giving an e-mail, and orders under it
    on_card = purchase(card=CARD, email="jennifer33@yahoo.com", channel="online", tid="T1")
    orders = purchase(email="jennifer33@yahoo.com", channel="online", tid="T2")
    result = resolve(world(on_card, orders))
    # Then they are one member: nothing says the address is not the card holder's
    assert [sorted([on_card.ref, orders.ref])] == [sorted(c) for c in result.components]


@pytest.mark.parametrize(
    ("on_card", "joined"),
    [
        # Her own address on one of the card's orders says which are hers: not the guest's.
        pytest.param(["kwilson@acme.com", "jennifer33@yahoo.com"], False, id="hers-and-a-guests"),
        # Nothing names her: the address may be hers, as before.
        pytest.param(["jennifer33@yahoo.com"], True, id="only-one-naming-no-one"),
        pytest.param(["sunshine9@mail.org", "jennifer33@yahoo.com"], True, id="none-naming-her"),
    ],
)
def test_a_holder_without_email_on_file_is_known_by_the_one_naming_her(
    on_card: list[str], joined: bool
) -> None:
    # Given Katherine Wilson's contact with no e-mail, her card's online orders giving
    # addresses, and card-less online orders under jennifer33@yahoo.com
    katherine = crm("C0000001", first="Katherine", last="Wilson", emails=[], card=CARD)
    orders = [
        purchase(card=CARD, email=email, channel="online", tid=f"T{n}")
        for n, email in enumerate(on_card)
    ]
    guests = purchase(email="jennifer33@yahoo.com", channel="online", tid="G1")
    result = resolve(world(katherine, *orders, guests))
    member = next(c for c in result.components if katherine.ref in c)
    # Then the guest's card-less orders are in her member only when nothing says whose
    assert (guests.ref in member) is joined

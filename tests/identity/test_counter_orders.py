"""An online order taken at a store's counter with a card: the card may be the clerk's, the
e-mail the guest's (``Rules.web_store_ids``). The e-mail links the card to no one."""

from __future__ import annotations

import pytest

from membergraph.connectors.models import Transaction
from membergraph.identity.engine import resolve
from membergraph.identity.line_records import owner_of_transaction
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, purchase, world

CLERKS = "LD70000001"
GUEST = "richardshah64@icloud.com"


@pytest.mark.parametrize(
    ("store", "apart"),
    [
        # Taken at the counter of store S28204, the clerk's card on it: the guest's address
        # is no address of the card's holder, her orders stay hers
        pytest.param("S28204", True, id="store-counter"),
        pytest.param(" s28204 ", True, id="store-counter-spaced"),
        # Placed on the web (the web's store id, in any case, or none): the card holder's
        # order, the address hers as before
        pytest.param("WEB", False, id="web"),
        pytest.param("web", False, id="web-lower"),
        pytest.param("Ecom", False, id="ecom"),
        pytest.param(None, False, id="no-store"),
    ],
)
def test_a_counter_order_on_a_card_gives_the_card_no_address(
    store: str | None, apart: bool
) -> None:
    # Given the clerk's contact and card, a guest's card-less online orders, and one order
    # carrying the clerk's card and the guest's address
    records = world(
        crm("C0000001", first=None, last="Garcia", emails=[], card=CLERKS),
        purchase(card=CLERKS, channel="store", tid="T0"),
        purchase(email=GUEST, channel="online", tid="T1"),
        purchase(email=GUEST, channel="online", tid="T2", at="2026-02-01T00:00:00Z"),
        purchase(card=CLERKS, email=GUEST, channel="online", tid="T3", store=store),
    )
    # When resolved
    res = resolve(records, Rules())
    # Then the guest's orders join the clerk's member only when the order was the web's
    member = {ref: i for i, comp in enumerate(res.components) for ref in comp}
    card, guest = ("transactions", f"loyalty:{CLERKS}"), ("transactions", f"online:{GUEST}")
    assert (member[card] != member[guest]) is apart
    # and the card stays the clerk's, whichever (the counter order is the guest's own,
    # test_counter_order_buyers.py)
    assert ("crm", "C0000001") in next(c for c in res.components if card in c)


def test_a_counter_order_without_a_usable_card_is_the_addresss() -> None:
    # Given a counter order whose card is a till's house card (a placeholder)
    line = Transaction(
        transaction_id="T1",
        loyalty_id="0000000000",
        email=GUEST,
        channel="online",
        store_id="S28204",
        occurred_at="2026-01-01T00:00:00Z",
        amount_cents=100,
    )
    # Then its e-mail still names its buyer: the online customer's order
    assert owner_of_transaction(line) == f"online:{GUEST}"


def test_the_web_store_ids_are_rules() -> None:
    assert "WEB" in Rules().web_store_ids
    # (The store's own address, typed for a card holder: a guest's makes the order the
    # guest's, test_counter_order_buyers.py.)
    record = purchase(card=CLERKS, email="store1@shop.com", channel="online", store="S1")
    assert {i.kind for i in record.identifiers} == {IdentifierKind.LOYALTY_ID}

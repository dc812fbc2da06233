"""An online order taken at a store's counter with a card and its buyer's own address is the
address's online order: a clerk's card on a guest's order names no one there
(``Rules.counter_orders_are_the_buyers``, ``identity/counter_orders.py``)."""

from __future__ import annotations

import pytest

from membergraph.connectors.models import Transaction
from membergraph.identity.counter_orders import names_the_store
from membergraph.identity.engine import resolve
from membergraph.identity.line_records import owner_of_transaction
from membergraph.identity.rules import Rules, load_rules
from tests.identity.builders import crm, purchase, world

CLERKS = "604865363064"


def _order(email: str | None, store: str | None, card: str | None = CLERKS) -> Transaction:
    return Transaction(
        transaction_id="T1",
        loyalty_id=card,
        email=email,
        channel="online",
        store_id=store,
        occurred_at="2026-01-01T00:00:00Z",
        amount_cents=100,
    )


@pytest.mark.parametrize(
    ("email", "store", "owner"),
    [
        # A guest's own address beside the clerk's card at the counter: the guest's order
        pytest.param(
            "elizabeth.smith35@gmail.com",
            "S90743",
            "online:elizabeth.smith35@gmail.com",
            id="guest-address",
        ),
        pytest.param(
            "richardshah64@icloud.com",
            "S28204",
            "online:richardshah64@icloud.com",
            id="guest-address-with-digits",
        ),
        pytest.param(
            " ebrown+deals@gmail.com ",
            "S90743",
            "online:ebrown+deals@gmail.com",
            id="guest-address-tagged",
        ),
        # The store's own address, typed for a holder picking up her order: the card's
        pytest.param(
            "store90743@northfieldmarket.com", "S90743", f"loyalty:{CLERKS}", id="store-address"
        ),
        pytest.param(
            "Store090743@northfieldmarket.com",
            "s90743",
            f"loyalty:{CLERKS}",
            id="store-address-zero-padded",
        ),
        # No address, or a placeholder: the card's, as before
        pytest.param(None, "S90743", f"loyalty:{CLERKS}", id="no-address"),
        pytest.param("na@na.com", "S90743", f"loyalty:{CLERKS}", id="placeholder"),
        # Placed on the web: the card holder's order, her address on her card
        pytest.param("elizabeth.smith35@gmail.com", "WEB", f"loyalty:{CLERKS}", id="web"),
        pytest.param("elizabeth.smith35@gmail.com", None, f"loyalty:{CLERKS}", id="no-store"),
    ],
)
def test_a_counter_orders_owner(email: str | None, store: str | None, owner: str) -> None:
    assert owner_of_transaction(_order(email, store)) == owner


@pytest.mark.parametrize(
    ("address", "store", "names"),
    [
        pytest.param("store59103@northfieldmarket.com", "S59103", True, id="its-number"),
        pytest.param("s059103.pickup@shop.com", "S-59103", True, id="zero-padded"),
        pytest.param("store59104@northfieldmarket.com", "S59103", False, id="another-store"),
        pytest.param("ann5910@mail.com", "S59103", False, id="part-of-it"),
        pytest.param("ann0@mail.com", "S000", False, id="store-zero"),
        pytest.param("ann@mail.com", "MAIN", False, id="no-number"),
    ],
)
def test_the_stores_own_address(address: str, store: str, names: bool) -> None:
    assert names_the_store(address, store) is names


def test_a_clerks_card_on_guests_orders_joins_none_of_them() -> None:
    # Given a clerk's contact and card (his own purchases at the till and on the web), and
    # five guests' orders taken at his store's counter with his card on each
    guests = [f"guest{n}.buyer@mail.com" for n in range(5)]
    records = world(
        crm("C0000001", first="Tim", last="Brown", emails=["tim.brown@mail.com"], card=CLERKS),
        purchase(card=CLERKS, channel="store", tid="T0"),
        purchase(card=CLERKS, email="tim.brown@mail.com", channel="online", tid="T1", store="WEB"),
        *(
            purchase(card=CLERKS, email=g, channel="online", tid=f"G{n}", store="S90743")
            for n, g in enumerate(guests)
        ),
    )
    # When resolved
    res = resolve(records, Rules())
    clerk = next(c for c in res.components if ("crm", "C0000001") in c)
    # Then his member holds his card and his own orders, and no guest's order
    assert ("transactions", f"loyalty:{CLERKS}") in clerk
    assert ("transactions", "online:tim.brown@mail.com") not in records  # on his card
    for g in guests:
        ref = ("transactions", f"online:{g}")
        assert ref in records and ref not in clerk


def test_the_rule_is_written_in_the_default_rules() -> None:
    assert load_rules(None).counter_orders_are_the_buyers is True

"""A junior's address naming his name names his namesake father too: what he is seen using says
whose its card-less orders are (``Rules.emails_naming_two_generations``)."""

from __future__ import annotations

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, event, purchase, world

CARD = "LD70000002"
FATHERS = "nguyenj@icloud.com"  # names John Nguyen: the father, and his son of one name
SONS = "john420@icloud.com"


def _son(last: str = "Nguyen Jr.") -> RecordData:
    return crm(
        "C0000011", first="Johnny", last=last, birth="1998-08-21", emails=[FATHERS], card=CARD
    )


def _card_order(email: str) -> RecordData:
    return purchase(card=CARD, email=email, channel="online", tid="T11")


def _login(email: str) -> RecordData:
    return event("dev-11", user="C0000011", eid="L11", email=email, kind="identify")


@pytest.mark.parametrize(
    ("last", "seen", "joined"),
    [
        # Johnny Nguyen Jr.'s card's web orders give his own address, never nguyenj@: the
        # address names his father as well, whose card-less orders they are
        pytest.param("Nguyen Jr.", [_card_order(SONS)], False, id="junior-card-other"),
        # ... so do his logged-in sessions
        pytest.param("Nguyen JR", [_login(SONS)], False, id="junior-login-other"),
        # The father's contact written with Sr., the son's address on it: the same
        pytest.param("Nguyen Sr.", [_card_order(SONS)], False, id="senior-card-other"),
        pytest.param("Nguyen III", [_card_order(SONS)], False, id="third-card-other"),
        # He gives it with his card: it is his
        pytest.param("Nguyen Jr.", [_card_order(FATHERS)], True, id="junior-card-gives-it"),
        # Seen using no address: nothing says it is not his
        pytest.param("Nguyen Jr.", [], True, id="junior-seen-using-none"),
        # No suffix: an address naming him is his, whatever else he uses (as before)
        pytest.param("Nguyen", [_card_order(SONS)], True, id="no-suffix"),
    ],
)
def test_an_address_naming_a_junior_joins_its_orders_unless_he_orders_under_another(
    last: str, seen: list[RecordData], joined: bool
) -> None:
    # Given the son's contact with the address naming him and his father, what his card and
    # logins give, and card-less online orders under the address
    son = _son(last)
    orders = purchase(email=FATHERS, channel="online", tid="G11")
    result = resolve(world(son, orders, *seen))
    member = next(c for c in result.components if son.ref in c)
    # Then the orders are his only when nothing says he orders under another address
    assert (orders.ref in member) is joined
    # and his card's purchases are his either way
    assert all(r.ref in member for r in seen if r.source == "transactions")


def test_an_address_naming_a_junior_is_his_with_the_setting_off() -> None:
    # Given the junior-card-other case
    son = _son()
    orders = purchase(email=FATHERS, channel="online", tid="G11")
    records = world(son, orders, _card_order(SONS))
    # Then with the setting off the address names him: the orders join him, as before
    off = Rules(emails_naming_two_generations=False)
    member = next(c for c in resolve(records, off).components if son.ref in c)
    assert orders.ref in member


def test_an_address_naming_a_junior_his_father_uses_joins_the_father() -> None:
    # Given the son's contact (seen using no address), his father John's contact, and the
    # father's card's web order under the address naming them both
    son = _son()
    father = crm("C0000012", first="John", last="Nguyen", birth=None, card="LD70000003")
    fathers_order = purchase(card="LD70000003", email=FATHERS, channel="online", tid="T12")
    orders = purchase(email=FATHERS, channel="online", tid="G11")
    result = resolve(world(son, father, fathers_order, orders))
    # Then the card-less orders under it are the father's, not the son's
    member = next(c for c in result.components if father.ref in c)
    assert orders.ref in member
    assert son.ref not in member

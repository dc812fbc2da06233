"""Card-less online orders under an address a customer types when logged in: hers, when no
contact's member holds them and her logins alone give it (rules.logins_claim_online_orders)."""

from __future__ import annotations

from typing import Literal

import pytest

from membergraph.identity.engine import Resolution, resolve
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, event, purchase, world

ADDRESS = "tiffanyj94@fastmail.fm"
TIFFANY = crm("C0000001", first="Tiffany", last="Jackson", emails=["tiff@fastmail.fm"])
MARK = crm("C0000002", first="Mark", last="Ross", emails=["mross@fastmail.fm"])


def _together(result: Resolution, a: RecordKey, b: RecordKey) -> bool:
    return any(a in c and b in c for c in result.components)


@pytest.mark.parametrize(
    ("given", "joined"),
    [
        pytest.param([("a-1", "C0000001")], True, id="her-login-gives-it"),
        pytest.param([("a-1", "C0000001"), ("a-2", "C0000001")], True, id="on-two-devices"),
        pytest.param([("a-1", "C0000001"), ("a-2", "C0000002")], False, id="two-members-give-it"),
        pytest.param([], False, id="no-login-gives-it"),
    ],
)
def test_online_orders_join_the_member_whose_logins_give_their_address(
    given: list[tuple[str, str]], joined: bool
) -> None:
    # Given Tiffany and Mark, guest orders under an address on no contact, and logged-in
    # events giving that address
    orders = purchase(email=ADDRESS, channel="online", tid="T1")
    logged = [event(anon, user, eid=f"L{n}", email=ADDRESS) for n, (anon, user) in enumerate(given)]
    result = resolve(world(TIFFANY, MARK, orders, *logged))
    # Then the orders are Tiffany's only when her logins alone give the address
    assert _together(result, TIFFANY.ref, orders.ref) is joined
    assert not _together(result, MARK.ref, orders.ref)


def test_orders_a_contact_holds_stay_with_that_contact() -> None:
    # Given orders under Mark's own address, typed by Tiffany when logged in (a gift)
    orders = purchase(email="mross@fastmail.fm", channel="online", tid="T1")
    logged = event("a-1", "C0000001", eid="L1", email="mross@fastmail.fm")
    result = resolve(world(TIFFANY, MARK, orders, logged))
    # Then they are Mark's, and Tiffany's member does not take them
    assert _together(result, MARK.ref, orders.ref)
    assert not _together(result, TIFFANY.ref, orders.ref)


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        pytest.param("track", "Newsletter Signup", id="a-newsletter-form-for-a-friend"),
        pytest.param("page", None, id="a-page-view-naming-an-address"),
    ],
)
def test_a_form_filled_in_while_logged_in_claims_no_ones_orders(
    kind: Literal["page", "track"], name: str | None
) -> None:
    # Given a guest shopper's orders, and Tiffany, logged in, typing that shopper's address
    # into a form (not her login: an event other than an identify)
    orders = purchase(email=ADDRESS, channel="online", tid="T1")
    typed = event("a-1", "C0000001", eid="L1", email=ADDRESS, kind=kind, name=name)
    result = resolve(world(TIFFANY, orders, typed))
    # Then the orders stay the shopper's: Tiffany's member (and a token bound to it) does
    # not take a stranger's purchases by typing her address
    assert not _together(result, TIFFANY.ref, orders.ref)
    assert _together(result, TIFFANY.ref, typed.ref)  # the event itself is still Tiffany's


def test_the_rule_can_be_turned_off() -> None:
    # Given the rules without it, her login giving the address of guest orders
    orders: RecordData = purchase(email=ADDRESS, channel="online", tid="T1")
    logged = event("a-1", "C0000001", eid="L1", email=ADDRESS)
    result = resolve(world(TIFFANY, orders, logged), Rules(logins_claim_online_orders=False))
    # Then the orders stay apart from her
    assert not _together(result, TIFFANY.ref, orders.ref)

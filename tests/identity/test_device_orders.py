"""Card-less online orders under an address her own device opens: hers, when no contact's
member holds them, the devices' logins lead to her member alone and the address names her
(rules.devices_claim_online_orders)."""

from __future__ import annotations

import pytest

from membergraph.identity.engine import Resolution, resolve
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, event, purchase, world

LINDA = crm("C0000001", first="Linda", last="Miller", emails=["lm1961@fastmail.fm"])
MARK = crm("C0000002", first="Mark", last="Ross", emails=["mross@fastmail.fm"])


def _together(result: Resolution, a: RecordKey, b: RecordKey) -> bool:
    return any(a in c and b in c for c in result.components)


def _opened(anon: str, email: str, eid: str) -> RecordData:
    return event(anon, None, eid=eid, email=email, kind="track", name="Email Opened")


@pytest.mark.parametrize(
    ("address", "logins", "joined"),
    [
        # Her initial and family name, opened on the phone she logs in on.
        pytest.param("millerl@outlook.com", [("a-1", "C0000001")], True, id="names-her"),
        pytest.param("linda.m77@outlook.com", [("a-1", "C0000001")], True, id="her-first-name"),
        pytest.param(
            "millerl@outlook.com",
            [("a-1", "C0000001"), ("a-1", "C0000002")],
            False,
            id="a-family-computer",
        ),
        # A handle, or another person's name: a relative's address read on her computer.
        pytest.param("bluejay1511@gmail.com", [("a-1", "C0000001")], False, id="a-handle"),
        pytest.param("rosarodriguez@icloud.com", [("a-1", "C0000001")], False, id="another"),
        pytest.param("millerl@outlook.com", [], False, id="no-login-on-the-device"),
    ],
)
def test_online_orders_join_the_member_whose_device_opens_their_address(
    address: str, logins: list[tuple[str, str]], joined: bool
) -> None:
    # Given Linda and Mark, guest orders under an address on no contact, the address's
    # e-mails opened on a device, and logins on that device
    orders = purchase(email=address, channel="online", tid="T1")
    opened = _opened("a-1", address, "O1")
    logged = [event(anon, user, eid=f"L{n}") for n, (anon, user) in enumerate(logins)]
    result = resolve(world(LINDA, MARK, orders, opened, *logged))
    # Then the orders are Linda's only when the device is hers alone and the address hers
    assert _together(result, LINDA.ref, orders.ref) is joined
    assert not _together(result, MARK.ref, orders.ref)


def test_orders_a_contact_holds_stay_with_that_contact() -> None:
    # Given orders under Mark's own address, opened on Linda's phone (he forwarded them)
    orders = purchase(email="mross@fastmail.fm", channel="online", tid="T1")
    opened = _opened("a-1", "mross@fastmail.fm", "O1")
    logged = event("a-1", "C0000001", eid="L1")
    result = resolve(world(LINDA, MARK, orders, opened, logged))
    # Then they are Mark's
    assert _together(result, MARK.ref, orders.ref)
    assert not _together(result, LINDA.ref, orders.ref)


def test_the_rule_can_be_turned_off() -> None:
    # Given the rules without it, her device opening the address of guest orders
    orders = purchase(email="millerl@outlook.com", channel="online", tid="T1")
    opened = _opened("a-1", "millerl@outlook.com", "O1")
    logged = event("a-1", "C0000001", eid="L1")
    rules = Rules(devices_claim_online_orders=False)
    result = resolve(world(LINDA, orders, opened, logged), rules)
    # Then the orders stay apart from her
    assert not _together(result, LINDA.ref, orders.ref)

"""A device several people log in on: each login's events are its person's, the device's
anonymous events nobody's; a device one person logs in on is all hers (devices.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from membergraph.identity.engine import Resolution, resolve
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.service import IdentityService
from membergraph.identity.values import SHARED_DEVICE
from tests.identity.builders import crm, event, world
from tests.support.stores import ADAPTERS, open_store

ANN, BOB = crm("C-ANN", first="Ann"), crm("C-BOB", first="Bob", last="Ray")
DEVICE = ("web_analytics", "a-1")


def _as(user: str) -> RecordKey:
    return ("web_analytics", f"a-1|login:{user}")


def _member_of(result: Resolution, ref: RecordKey) -> frozenset[RecordKey] | None:
    return next((frozenset(c) for c in result.components if ref in c), None)


def _whose(result: Resolution, ref: RecordKey) -> str | None:
    """Which of Ann and Bob a record is with (None: neither)."""
    member = _member_of(result, ref)
    for name, contact in (("ann", ANN), ("bob", BOB)):
        if member is not None and contact.ref in member:
            return name
    return None


@pytest.mark.parametrize(
    ("logins", "device", "logged_in"),
    [
        pytest.param(["C-ANN"], "ann", {"C-ANN": "ann"}, id="her-own-laptop"),
        pytest.param(["C-ANN", "C-ANN"], "ann", {"C-ANN": "ann"}, id="she-logs-in-twice"),
        pytest.param(
            ["C-ANN", "C-BOB"], None, {"C-ANN": "ann", "C-BOB": "bob"}, id="a-family-computer"
        ),
        pytest.param(["0", "C-BOB"], "bob", {"C-BOB": "bob", "0": "bob"}, id="script-bug-login-0"),
        pytest.param(["C-ANN", "C-NEW"], "ann", {"C-ANN": "ann"}, id="other-login-no-member-yet"),
        pytest.param([], None, {}, id="never-logged-in"),
    ],
)
def test_a_devices_events_go_to_the_logins_they_carry(
    logins: list[str], device: str | None, logged_in: dict[str, str]
) -> None:
    # Given Ann and Bob, and a device's anonymous page views and its logins' events
    lines = [event("a-1", eid="P1"), event("a-1", eid="P2")]
    lines += [event("a-1", user, eid=f"L{n}") for n, user in enumerate(logins)]
    result = resolve(world(ANN, BOB, *lines))
    # Then each login's events are its person's
    for user, whose in logged_in.items():
        assert _whose(result, _as(user)) == whose
    # and the device's own events are the one person's who logs in on it, else nobody's
    assert _whose(result, DEVICE) == device
    shared = {"C-ANN", "C-BOB"} <= set(logins)
    assert (result.unattributed.get(DEVICE) == SHARED_DEVICE) is shared
    # and no member ever holds both Ann and Bob
    assert not any(ANN.ref in c and BOB.ref in c for c in result.components)


@pytest.fixture(params=ADAPTERS)
async def service(request: pytest.FixtureRequest) -> AsyncIterator[IdentityService]:
    async with open_store(request.param) as store:
        yield IdentityService(store)


async def _ingest_each(service: IdentityService, records: list[RecordData]) -> None:
    for record in records:
        await service.ingest([record])


async def test_a_second_login_on_her_device_makes_its_anonymous_events_nobodys(
    service: IdentityService,
) -> None:
    # Given Ann's laptop: her login and anonymous page views, all hers
    await _ingest_each(service, [ANN, BOB, event("a-1", "C-ANN", "L1"), event("a-1", eid="P1")])
    assigned = await service.store.all_assignments()
    ann = assigned[ANN.ref]
    assert assigned[DEVICE] == assigned[_as("C-ANN")] == ann
    # When Bob logs in on it
    result = await service.ingest([event("a-1", "C-BOB", "L2")])
    # Then Bob's events are his, Ann's hers, and the anonymous ones leave her: nobody's
    assigned = await service.store.all_assignments()
    assert assigned[_as("C-ANN")] == ann and assigned[_as("C-BOB")] == assigned[BOB.ref] != ann
    assert DEVICE not in assigned and result.unattributed == {DEVICE: SHARED_DEVICE}
    # And a whole resolution (a restart) agrees with the ingests
    await service.resolve_all(await service.store.load_records(None))
    assert await service.store.all_assignments() == assigned


# An e-mail open (no one logged in) naming an address that leads to no member by itself.
_FAMILY = "sunflower77@fastmail.fm"  # on Ann's and her husband Tom's contacts: a family's
_OWN = "ann.lee@fastmail.fm"  # on no contact: given only on her logged-in events


@pytest.mark.parametrize(
    ("lines", "opened", "whose"),
    [
        pytest.param(
            [("a-1", "C-ANN", None)], ("a-1", _FAMILY), "ann", id="family-email-on-her-phone"
        ),
        pytest.param(
            [("a-1", "C-ANN", _OWN)], ("a-1", _OWN), "ann", id="her-email-on-her-login-events"
        ),
        pytest.param(
            [("a-9", "C-ANN", _OWN)], ("a-1", _OWN), None, id="her-login-on-another-device"
        ),
        pytest.param([], ("a-1", _FAMILY), None, id="no-login-on-the-device"),
        pytest.param(
            [("a-1", "C-ANN", None)],
            ("a-1", "kay.ross@fastmail.fm"),
            None,
            id="her-member-lacks-it",
        ),
        pytest.param(
            [("a-1", "C-ANN", None), ("a-1", "C-BOB", None)],
            ("a-1", _FAMILY),
            None,
            id="a-family-computer",
        ),
    ],
)
def test_a_devices_login_confirms_an_email_that_names_no_member_alone(
    lines: list[tuple[str, str, str | None]], opened: tuple[str, str], whose: str | None
) -> None:
    # Given Ann and her husband Tom on one family address, Bob, logged-in events (some
    # giving an address), and an e-mail open on a device naming an address
    tom = crm("C-TOM", first="Tom", emails=[_FAMILY])
    ann = crm("C-ANN", first="Ann", emails=[_FAMILY])
    logged = [
        event(anon, user, eid=f"L{n}", email=email) for n, (anon, user, email) in enumerate(lines)
    ]
    open_ = event(opened[0], eid="O1", email=opened[1])
    result = resolve(world(ann, tom, BOB, *logged, open_))
    # Then the open is Ann's when the device's login leads to her and her member carries
    # the address, and no one's otherwise
    assert _whose(result, open_.ref) == whose
    assert tom.ref not in (_member_of(result, open_.ref) or ())


def test_without_the_rule_a_family_emails_open_stays_apart() -> None:
    # Given the rules without it, Ann's login and an open of the family's address on her phone
    tom = crm("C-TOM", first="Tom", emails=[_FAMILY])
    ann = crm("C-ANN", first="Ann", emails=[_FAMILY])
    open_ = event("a-1", eid="O1", email=_FAMILY)
    records = world(ann, tom, event("a-1", "C-ANN", eid="L1"), open_)
    result = resolve(records, Rules(devices_confirm_emails=False))
    # Then the open is with no contact
    assert _whose(result, open_.ref) is None
    assert ann.ref not in (_member_of(result, open_.ref) or ())

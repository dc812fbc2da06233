"""A parent's address on a student's contact: her card's purchases and logins say whose it is."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from membergraph.identity.service import IdentityService
from tests.identity.builders import crm, event, purchase, world
from tests.support.stores import ADAPTERS, open_store

CARD = "LD70000001"
PARENTS = "bookworm8493@comcast.net"  # a handle: names no one


def _jessica(email: str = PARENTS) -> RecordData:
    return crm("C0000001", first="Jessica", last="Jones", birth=None, emails=[email], card=CARD)


def _card_order(email: str, tid: str = "T1") -> RecordData:
    return purchase(card=CARD, email=email, channel="online", tid=tid)


def _login(email: str) -> RecordData:
    return event("dev-1", user="C0000001", eid="L1", email=email, kind="identify")


@pytest.mark.parametrize(
    ("on_contact", "seen", "joined"),
    [
        # Her card's online orders give her own address, never the handle: the handle's
        # card-less orders are someone else's (her parent's, given at her enrolment)
        pytest.param(PARENTS, [_card_order("jessica.jones@outlook.com")], False, id="card-other"),
        # ... and so do her logged-in sessions
        pytest.param(PARENTS, [_login("jessica.jones@outlook.com")], False, id="login-other"),
        # Another person's name, read as no name of hers, is no different
        pytest.param("mmartin@gmail.com", [_login("jhernandez@gmail.com")], False, id="name"),
        # She gives the handle with her card or when logged in: it is hers
        pytest.param(PARENTS, [_card_order(PARENTS)], True, id="card-gives-it"),
        pytest.param(
            PARENTS,
            [_card_order("jessica.jones@outlook.com"), _login(PARENTS)],
            True,
            id="login-gives-it",
        ),
        # A till's typo of it is it
        pytest.param(PARENTS, [_card_order("bookworm8493@comcsat.net")], True, id="a-slip"),
        # Seen using no address at all, or only a placeholder: nothing says it is not hers
        pytest.param(PARENTS, [], True, id="seen-using-none"),
        pytest.param(PARENTS, [_card_order("na@na.com")], True, id="placeholder-only"),
        # An address naming her is hers, whatever else she uses
        pytest.param(
            "jessica_jones@comcast.net",
            [_card_order("jjones@outlook.com")],
            True,
            id="names-her",
        ),
    ],
)
def test_a_contacts_email_joins_its_card_less_orders_unless_she_orders_under_another(
    on_contact: str, seen: list[RecordData], joined: bool
) -> None:
    # Given Jessica Jones's contact with an address, what her card and logins give, and
    # card-less online orders under the contact's address
    jessica = _jessica(on_contact)
    orders = purchase(email=on_contact, channel="online", tid="G1")
    result = resolve(world(jessica, orders, *seen))
    member = next(c for c in result.components if jessica.ref in c)
    # Then the orders are hers only when nothing says she orders under another address
    assert (orders.ref in member) is joined
    # and her card's purchases are hers either way
    assert all(r.ref in member for r in seen if r.source == "transactions")


def test_she_orders_under_another_address_says_nothing_with_the_rule_off() -> None:
    # Given the card-other case
    jessica = _jessica()
    orders = purchase(email=PARENTS, channel="online", tid="G1")
    records = world(jessica, orders, _card_order("jessica.jones@outlook.com"))
    # Then with the rule off the handle's orders join her, as before
    off = Rules(emails_she_never_orders_with=False)
    member = next(c for c in resolve(records, off).components if jessica.ref in c)
    assert orders.ref in member


def test_the_parents_orders_stay_together_apart_from_her() -> None:
    # Given two spellings of the parent's handle on card-less orders (a tag on one)
    jessica = _jessica()
    first = purchase(email=PARENTS, channel="online", tid="G1")
    tagged = purchase(email="bookworm8493+shop@comcast.net", channel="online", tid="G2")
    result = resolve(world(jessica, first, tagged, _card_order("jessica.jones@outlook.com")))
    # Then the parent's orders are one member, without her
    [parents] = [c for c in result.components if first.ref in c]
    assert tagged.ref in parents and jessica.ref not in parents


@pytest.fixture(params=ADAPTERS)
async def service(request: pytest.FixtureRequest) -> AsyncIterator[IdentityService]:
    async with open_store(request.param) as store:
        yield IdentityService(store)


async def test_her_first_order_under_her_own_address_parts_the_parents_orders(
    service: IdentityService,
) -> None:
    # Given Jessica's contact and the parent's card-less orders under the handle: together
    orders = purchase(email=PARENTS, channel="online", tid="G1")
    await service.ingest([_jessica(), orders])
    contact = ("crm", "C0000001")
    assigned = await service.store.all_assignments()
    assert assigned[contact] == assigned[orders.ref]
    # When her card's first online order comes in, giving her own address
    await service.ingest([_card_order("jessica.jones@outlook.com")])
    # Then the parent's orders leave her member
    assigned = await service.store.all_assignments()
    assert assigned[contact] != assigned[orders.ref]
    # And a whole resolution of the store (a restart) agrees with the ingests
    await service.resolve_all(await service.store.load_records(None))
    assert await service.store.all_assignments() == assigned


DANIELS_CARD, FATHERS_CARD = "LD70000002", "LD70000003"


def _daniel(email: str = PARENTS) -> RecordData:
    return crm(
        "C0000002",
        first="Daniel",
        last="Williams",
        birth=None,
        emails=[email],
        phones=["614-555-0102"],
        card=DANIELS_CARD,
    )


@pytest.mark.parametrize(
    ("holder", "joined"),
    [
        # His father's card gives the handle with its online orders: the father is seen
        # using it, Daniel never is; the card-less orders under it are the father's
        pytest.param(
            crm("C0000003", first="David W.", last="Williams", birth=None, card=FATHERS_CARD),
            False,
            id="another-uses-it",
        ),
        # The card's holder is Daniel under his short name: no one else uses it
        pytest.param(
            crm("C0000003", first="Dan", last="Williams", birth=None, card=FATHERS_CARD),
            True,
            id="her-short-name",
        ),
        # ... or under a name the lists lack, on his phone
        pytest.param(
            crm(
                "C0000003",
                first="Zed",
                last="Roe",
                birth=None,
                phones=["614-555-0102"],
                card=FATHERS_CARD,
            ),
            True,
            id="her-phone",
        ),
        # A holder who gave no first name, or a till's word for one, says nothing
        pytest.param(
            crm("C0000003", first="", last="Williams", birth=None, card=FATHERS_CARD),
            True,
            id="holder-unnamed",
        ),
        pytest.param(
            crm("C0000003", first="Walk-In", last="Customer", birth=None, card=FATHERS_CARD),
            True,
            id="holder-a-tills-word",
        ),
        # Another's card with an address of his own on file, its web order giving the
        # handle once: his order (a clerk's card on a guest's order is put on at a
        # store's counter, and a counter order gives the card no e-mail), so the handle
        # is his as well (card_handle_email_days = 1): he is seen using it, Daniel is not
        pytest.param(
            crm(
                "C0000003",
                first="Kevin",
                last="Clark",
                birth=None,
                emails=["kevin.clark@outlook.com"],
                card=FATHERS_CARD,
            ),
            False,
            id="another-with-an-address-of-his-own",
        ),
    ],
)
def test_an_address_another_is_seen_using_joins_her_to_none_of_its_orders(
    holder: RecordData, joined: bool
) -> None:
    # Given Daniel's contact carrying a handle he is seen using nowhere, card-less orders
    # under it, and another contact's card whose online orders give it
    daniel = _daniel()
    orders = purchase(email=PARENTS, channel="online", tid="G1")
    on_card = purchase(card=FATHERS_CARD, email=PARENTS, channel="online", tid="T9")
    result = resolve(world(daniel, orders, holder, on_card))
    member = next(c for c in result.components if daniel.ref in c)
    # Then the orders are his only when no one else is seen using the address
    assert (orders.ref in member) is joined
    if not joined:  # they are the card holder's
        holders = next(c for c in result.components if holder.ref in c)
        assert orders.ref in holders and on_card.ref in holders


@pytest.mark.parametrize(
    "rules",
    [
        pytest.param(Rules(emails_another_uses=False), id="rule-off"),
        pytest.param(Rules(emails_she_never_orders_with=False), id="never-orders-off"),
    ],
)
def test_another_using_the_address_says_nothing_with_the_rule_off(rules: Rules) -> None:
    # Given the another-uses-it case
    daniel = _daniel()
    orders = purchase(email=PARENTS, channel="online", tid="G1")
    father = crm("C0000003", first="David W.", last="Williams", birth=None, card=FATHERS_CARD)
    on_card = purchase(card=FATHERS_CARD, email=PARENTS, channel="online", tid="T9")
    # Then with the rule off the handle's orders join Daniel, as before
    member = next(
        c
        for c in resolve(world(daniel, orders, father, on_card), rules).components
        if daniel.ref in c
    )
    assert orders.ref in member


def test_an_address_naming_her_is_hers_whoever_else_uses_it() -> None:
    # Given Daniel's own address on his contact, given with another's card too
    own = "daniel.williams@gmail.com"
    daniel = _daniel(own)
    orders = purchase(email=own, channel="online", tid="G1")
    father = crm("C0000003", first="David W.", last="Williams", birth=None, card=FATHERS_CARD)
    on_card = purchase(card=FATHERS_CARD, email=own, channel="online", tid="T9")
    result = resolve(world(daniel, orders, father, on_card))
    # Then its orders are his
    member = next(c for c in result.components if daniel.ref in c)
    assert orders.ref in member


async def test_his_fathers_card_order_under_the_address_parts_its_orders(
    service: IdentityService,
) -> None:
    # Given Daniel's contact and card-less orders under the handle on it: together
    orders = purchase(email=PARENTS, channel="online", tid="G1")
    await service.ingest([_daniel(), orders])
    contact = ("crm", "C0000002")
    assigned = await service.store.all_assignments()
    assert assigned[contact] == assigned[orders.ref]
    # When his father's contact comes in, then an online order on the father's card under it
    father = crm("C0000003", first="David W.", last="Williams", birth=None, card=FATHERS_CARD)
    await service.ingest([father])
    await service.ingest([purchase(card=FATHERS_CARD, email=PARENTS, channel="online", tid="T9")])
    # Then the orders leave Daniel's member for his father's
    assigned = await service.store.all_assignments()
    assert assigned[contact] != assigned[orders.ref]
    assert assigned[father.ref] == assigned[orders.ref]
    # And a whole resolution of the store (a restart) agrees with the ingests
    await service.resolve_all(await service.store.load_records(None))
    assert await service.store.all_assignments() == assigned


@pytest.mark.parametrize(
    ("holder", "joined"),
    [
        # His father, logged in, gives the handle: the card-less orders are the father's
        pytest.param(crm("C0000003", first="Jamie", last="Smith", birth=None), False, id="another"),
        # Daniel's own other contact, under his short name, logged in: his
        pytest.param(crm("C0000003", first="Dan", last="Williams", birth=None), True, id="his"),
    ],
)
def test_an_address_another_gives_logged_in_joins_her_to_none_of_its_orders(
    holder: RecordData, joined: bool
) -> None:
    # Given Daniel's contact with a handle he is seen using nowhere, card-less orders under
    # it, and another contact's logged-in session giving it
    daniel = _daniel()
    orders = purchase(email=PARENTS, channel="online", tid="G1")
    login = event("dev-9", user="C0000003", eid="L9", email=PARENTS, kind="identify")
    result = resolve(world(daniel, orders, holder, login))
    # Then the orders are Daniel's only when that contact may be his
    member = next(c for c in result.components if daniel.ref in c)
    assert (orders.ref in member) is joined


JESSICAS_CARD, JOHNS_CARD = "LD70000004", "LD70000005"
FAMILYS = "jamesj@live.ca"  # names Jessica James and John James alike


def _jessica_james(*, card_gives: str | None = None) -> list[RecordData]:
    jessica = crm(
        "C0000004",
        first="Jessica",
        last="James",
        birth="2001-11-04",
        emails=[FAMILYS],
        phones=["313-477-2963"],
        card=JESSICAS_CARD,
    )
    own = [purchase(card=JESSICAS_CARD, email=card_gives, channel="online", tid="T4")]
    return [jessica, *(own if card_gives else [])]


def _john(*, card: str | None = JOHNS_CARD, first: str = "John") -> RecordData:
    # The household's landline on both: a phone says nothing of who is who
    return crm(
        "C0000005", first=first, last="James", birth=None, phones=["+13134772963"], card=card
    )


def _johns_card_order(tid: str = "T5") -> RecordData:
    return purchase(card=JOHNS_CARD, email=FAMILYS, channel="online", tid=tid)


def _johns_login() -> RecordData:
    return event("dev-5", user="C0000005", eid="L5", email=FAMILYS, kind="identify")


@pytest.mark.parametrize(
    ("others", "card_gives", "his"),
    [
        # John's card's online orders give the address that names them both; Jessica is
        # seen using it nowhere: its card-less orders are his
        pytest.param([_john(), _johns_card_order()], None, True, id="his-card-gives-it"),
        # ... or his logged-in sessions give it
        pytest.param([_john(card=None), _johns_login()], None, True, id="his-login-gives-it"),
        # ... though her card gives an address of her own
        pytest.param(
            [_john(), _johns_card_order()], "jessica.james@gmail.com", True, id="she-uses-another"
        ),
        # She gives it with her card too: both use it, the contact carrying it keeps them
        pytest.param([_john(), _johns_card_order()], FAMILYS, False, id="she-uses-it-too"),
        # No one else is seen using it: hers, as before
        pytest.param([_john()], None, False, id="no-one-else-uses-it"),
        # The user's name is not one the address names (Kevin James, a brother): hers
        pytest.param([_john(first="Kevin"), _johns_card_order()], None, False, id="names-her-only"),
    ],
)
def test_an_address_naming_her_and_its_user_joins_him_its_orders(
    others: list[RecordData], card_gives: str | None, his: bool
) -> None:
    # Given Jessica James's contact with jamesj@ (her father John's), card-less online
    # orders under it, and what John's card and logins give
    jessica, *hers = _jessica_james(card_gives=card_gives)
    orders = purchase(email=FAMILYS, channel="online", tid="G5")
    result = resolve(world(jessica, orders, *hers, *others))
    member = next(c for c in result.components if jessica.ref in c)
    # Then the orders are John's when he alone is seen using it, hers otherwise
    assert (orders.ref not in member) is his
    if his:
        john = next(c for c in result.components if ("crm", "C0000005") in c)
        assert orders.ref in john


def test_an_address_naming_her_and_its_user_is_hers_with_the_rule_off() -> None:
    # Given the his-card-gives-it case
    jessica, *_ = _jessica_james()
    orders = purchase(email=FAMILYS, channel="online", tid="G5")
    records = world(jessica, orders, _john(), _johns_card_order())
    # Then with the rule off the orders join her, as before
    off = Rules(emails_naming_another_user=False)
    member = next(c for c in resolve(records, off).components if jessica.ref in c)
    assert orders.ref in member


async def test_his_login_under_the_address_naming_them_both_parts_its_orders(
    service: IdentityService,
) -> None:
    # Given Jessica's contact, John's, and card-less orders under jamesj@: hers
    jessica, *_ = _jessica_james()
    orders = purchase(email=FAMILYS, channel="online", tid="G5")
    await service.ingest([jessica, _john(card=None), orders])
    assigned = await service.store.all_assignments()
    assert assigned[jessica.ref] == assigned[orders.ref]
    # When John logs in and the session gives the address
    await service.ingest([_johns_login()])
    # Then the orders leave her member for his
    assigned = await service.store.all_assignments()
    assert assigned[jessica.ref] != assigned[orders.ref]
    assert assigned[("crm", "C0000005")] == assigned[orders.ref]
    # And a whole resolution of the store (a restart) agrees with the ingests
    await service.resolve_all(await service.store.load_records(None))
    assert await service.store.all_assignments() == assigned

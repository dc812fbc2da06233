"""An e-mail given on a card's purchase: the holder's own, or a guest's on a clerk's card.

A clerk's card meets a guest's address at a till (a cashier scans her own card on a guest's
purchase and types the guest's address for an e-receipt), or at a store's counter (which
gives the card no e-mail: counter_orders_are_the_buyers). An address her card's web order
gives is the holder's (card_web_email_days): the readings below are of addresses given at a
till, or on the web with card_web_email_days = 0."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from pydantic import ValidationError

from membergraph.identity.batch import resolve_folder
from membergraph.identity.email_names import names_anyone
from membergraph.identity.engine import resolve
from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.purchase_days import EMAIL_DAYS_KEPT
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from membergraph.identity.service import IdentityService
from membergraph.identity.store.sqlite import SqliteStore
from tests.identity.builders import crm, purchase, world
from tests.support.stores import ADAPTERS, open_store

CARD = "LD70000001"
GUEST = "coffeelover77@yahoo.com"  # names no one: the holder's, or a guest's
TILL = "store"  # an in-store purchase: a cashier's card may carry a guest's e-receipt address


@pytest.mark.parametrize(
    ("holder_emails", "given", "joined"),
    [
        # Katherine Wilson's card on a guest's purchase: the guest's address names the guest.
        pytest.param(
            ["kathy.g@mail.org"], "jennifer33@yahoo.com", False, id="guest-on-clerks-card"
        ),
        # Her own work address names her: her card-less orders under it are hers.
        pytest.param(["kathy.g@mail.org"], "kwilson@acme.com", True, id="her-work-address"),
        pytest.param(["kathy.g@mail.org"], "katherine.w@acme.com", True, id="her-first-name"),
        pytest.param(["jennifer33@yahoo.com"], "jennifer33@yahoo.com", True, id="on-her-contact"),
        # A holder with no e-mail on file: an address naming no one may be hers ...
        pytest.param([], "tigerlily4788@mail.org", True, id="holder-without-email"),
        pytest.param([], "kbrooks@mail.org", True, id="holder-without-email-her-initial"),
        # ... one naming another person (a relative's reading: another first name, another
        # family name with an initial not hers) is a guest's all the same.
        pytest.param([], "jennifer33@yahoo.com", False, id="holder-without-email-guest"),
        pytest.param([], "michellejones@aol.com", False, id="holder-without-email-whole-name"),
        pytest.param([], "andersonp@gmail.com", False, id="holder-without-email-clerks"),
    ],
)
def test_an_email_on_a_cards_till_purchase_joins_its_orders_when_it_is_the_holders(
    holder_emails: list[str], given: str, joined: bool
) -> None:
    # Given Katherine Wilson's contact and card, a purchase at a till on her card giving an
    # e-mail (a cashier's card on a guest's purchase gives the guest's e-receipt address),
    # and card-less online orders under that e-mail
    katherine = crm("C0000001", first="Katherine", last="Wilson", emails=holder_emails, card=CARD)
    on_card = purchase(card=CARD, email=given, channel=TILL, tid="T1")
    guests = purchase(email=given, channel="online", tid="T2")
    result = resolve(world(katherine, on_card, guests))
    member = next(c for c in result.components if katherine.ref in c)
    # Then the card's purchases are hers, and the card-less orders too only when it is hers
    assert on_card.ref in member
    assert (guests.ref in member) is joined


@pytest.mark.parametrize(
    ("holder_emails", "given", "rules", "joined"),
    [
        # Whatever it names: another person's name, her own, none; she has addresses on
        # file or none. A guest's address comes with a clerk's card at a till or a counter.
        pytest.param(["kathy.g@mail.org"], "jennifer33@yahoo.com", Rules(), True, id="another-name"),
        pytest.param(["kathy.g@mail.org"], "kwilson@acme.com", Rules(), True, id="her-name"),
        pytest.param([], "michellejones@aol.com", Rules(), True, id="no-email-whole-name"),
        pytest.param([], "andersonp@gmail.com", Rules(), True, id="no-email-another-initial"),
        # Asked to read it as a till's (card_web_email_days = 0): the guest's, as above
        pytest.param(["kathy.g@mail.org"], "jennifer33@yahoo.com", Rules(card_web_email_days=0),
                     False, id="rule-off"),
        pytest.param([], "michellejones@aol.com", Rules(card_web_email_days=0), False,
                     id="rule-off-no-email"),
        # Two days asked: one web order is not enough, a second day is
        pytest.param(["kathy.g@mail.org"], "jennifer33@yahoo.com", Rules(card_web_email_days=2),
                     False, id="two-days-asked"),
    ],
)  # fmt: skip
def test_any_address_her_cards_web_order_gives_is_hers(
    holder_emails: list[str], given: str, rules: Rules, joined: bool
) -> None:
    # Given Katherine Wilson's contact and card, one web order on her card giving an e-mail
    # (the web's own store: a clerk's card meets a guest's address at a till or a counter),
    # and card-less online orders under that e-mail
    katherine = crm("C0000001", first="Katherine", last="Wilson", emails=holder_emails, card=CARD)
    on_card = purchase(card=CARD, email=given, channel="online", tid="T1")
    orders = purchase(email=given, channel="online", tid="T2")
    result = resolve(world(katherine, on_card, orders), rules)
    member = next(c for c in result.components if katherine.ref in c)
    # Then the card-less orders are hers on the default rules
    assert on_card.ref in member
    assert (orders.ref in member) is joined


def test_a_web_day_and_a_till_day_are_two_days() -> None:
    # Given Katherine's card giving a guest-like address once at a till and once on the
    # web, on two days, with two web days asked (card_web_email_days = 2)
    given = "jennifer33@yahoo.com"
    till = purchase(card=CARD, email=given, channel=TILL, tid="T1", at="2026-03-01T10:00:00Z")
    web = purchase(card=CARD, email=given, channel="online", tid="T2", at="2026-03-02T10:00:00Z")
    orders = purchase(email=given, channel="online", tid="G1")
    result = resolve(world(_katherine(), till, web, orders), Rules(card_web_email_days=2))
    member = next(c for c in result.components if ("crm", "C0000001") in c)
    # Then the days counted are the address's days with the card: hers
    assert orders.ref in member


def test_a_holder_without_email_takes_any_address_with_the_rule_off() -> None:
    # Given Kim Williams's contact with no e-mail, her card on a till purchase giving
    # michellejones@ (another person's name), and card-less orders under it
    kim = crm("C0000001", first="Kim", last="Williams", emails=[], card=CARD)
    on_card = purchase(card=CARD, email="michellejones@aol.com", channel=TILL, tid="T1")
    guests = purchase(email="michellejones@aol.com", channel="online", tid="T2")
    records = world(kim, on_card, guests)
    # Then the guest's orders stay apart by default, and join her with the rule off
    member = next(c for c in resolve(records).components if kim.ref in c)
    assert guests.ref not in member
    off = Rules(card_emails_naming_others=False)
    member = next(c for c in resolve(records, off).components if kim.ref in c)
    assert guests.ref in member


STORE = "store53001@northfieldmarket.com"  # what a till types for those who give none


@pytest.mark.parametrize(
    ("given", "joined", "joined_off"),
    [
        pytest.param(GUEST, True, False, id="a-handle"),
        pytest.param("kwilson@acme.com", True, True, id="naming-her"),
        # A guest's on a clerk's card names the guest.
        pytest.param("jennifer33@yahoo.com", False, False, id="naming-another"),
    ],
)
def test_a_holder_with_only_the_stores_address_has_none_of_her_own(
    given: str, joined: bool, joined_off: bool
) -> None:
    # Given Katherine Wilson's contact carrying only the store's address (a till typed it
    # for her and for many others who gave none: it identifies no one), her card on a till
    # purchase giving an e-mail, and card-less online orders under that e-mail
    katherine = crm("C0000001", first="Katherine", last="Wilson", emails=[STORE], card=CARD)
    others = [
        crm(f"C00001{n:02}", first=f"Guest{n}", last=f"Other{n}", emails=[STORE])
        for n in range(Rules().hub_max_people + 1)
    ]
    on_card = purchase(card=CARD, email=given, channel=TILL, tid="T1")
    orders = purchase(email=given, channel="online", tid="T2")
    records = world(katherine, *others, on_card, orders)
    # Then the orders are hers when the address names her or no one
    member = next(c for c in resolve(records).components if katherine.ref in c)
    assert (orders.ref in member) is joined
    # and with the rule off the store's address is hers, a handle given once a stranger's
    # (when a handle asks two days: card_handle_email_days = 2)
    off = Rules(card_emails_hubs_not_hers=False, card_handle_email_days=2)
    member = next(c for c in resolve(records, off).components if katherine.ref in c)
    assert (orders.ref in member) is joined_off


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
        pytest.param(["kwilson@acme.com", GUEST], False, id="hers-and-a-guests"),
        # Nothing names her, nor anyone: the address may be hers, as before.
        pytest.param([GUEST], True, id="only-one-naming-no-one"),
        pytest.param(["sunshine9@mail.org", GUEST], True, id="none-naming-her"),
    ],
)
def test_a_holder_without_email_on_file_is_known_by_the_one_naming_her(
    on_card: list[str], joined: bool
) -> None:
    # Given Katherine Wilson's contact with no e-mail, her card's till purchases giving
    # addresses, and card-less online orders under an address naming no one
    katherine = crm("C0000001", first="Katherine", last="Wilson", emails=[], card=CARD)
    orders = [
        purchase(card=CARD, email=email, channel=TILL, tid=f"T{n}")
        for n, email in enumerate(on_card)
    ]
    guests = purchase(email=GUEST, channel="online", tid="G1")
    # (a handle given once read on its own words, not its day: card_handle_email_days = 2;
    # on the defaults a handle her card gives is hers whatever else it gives)
    result = resolve(world(katherine, *orders, guests), Rules(card_handle_email_days=2))
    member = next(c for c in result.components if katherine.ref in c)
    # Then the guest's card-less orders are in her member only when nothing says whose
    assert (guests.ref in member) is joined


SECOND = "tigerlily4788@mail.org"  # names no one: her second address, or a guest's


def _on_card(days: list[int], email: str = SECOND, channel: str = TILL) -> list[RecordData]:
    """Purchases on Katherine's card giving ``email`` (at a till, or ``channel``), one on
    each of ``days`` (a day listed twice: two purchases that day)."""
    return [
        purchase(card=CARD, email=email, channel=channel, tid=f"T{n}", at=f"2026-03-{d:02d}T10:{n:02d}:00Z")
        for n, d in enumerate(days)
    ]  # fmt: skip


def _katherine() -> RecordData:
    return crm("C0000001", first="Katherine", last="Wilson", emails=["kathy.g@mail.org"], card=CARD)


@pytest.mark.parametrize(
    ("days", "rules", "joined"),
    [
        pytest.param([1], Rules(), False, id="once-a-guest-on-a-clerks-card"),
        pytest.param([1, 2], Rules(), False, id="two-days-a-relative-using-it"),
        pytest.param([4, 4, 4, 4], Rules(), False, id="four-orders-one-day-are-one-day"),
        pytest.param([1, 2, 2, 3], Rules(), True, id="three-days-her-own"),
        pytest.param([1, 5, 9, 12, 20, 28], Rules(), True, id="month-after-month"),
        pytest.param([1, 2, 3], Rules(card_email_days=0), False, id="rule-off"),
        pytest.param([1, 2], Rules(card_email_days=2), True, id="two-days-asked"),
        pytest.param([1, 2, 3], Rules(card_email_days=4), False, id="four-days-asked"),
    ],
)
def test_an_email_given_with_her_card_day_after_day_is_hers(
    days: list[int], rules: Rules, joined: bool
) -> None:
    # Given Katherine Wilson's contact (her own e-mail on file) and card, purchases at a
    # till on the card giving an address that names someone (tigerlily: Lily), on some
    # days, and card-less online orders under that address
    orders = purchase(email=SECOND, channel="online", tid="G1")
    result = resolve(world(_katherine(), *_on_card(days), orders), rules)
    member = next(c for c in result.components if ("crm", "C0000001") in c)
    # Then the card-less orders are hers when the address came with her card on enough
    # distinct days (a cashier puts her card on a guest's purchase once or twice)
    assert (orders.ref in member) is joined


@pytest.mark.parametrize(
    ("email", "days", "rules", "joined"),
    [
        # A handle (no name in it) given with her card on two days: hers.
        pytest.param("bluejay3322@mail.org", [1, 2], Rules(), True, id="a-handle-two-days"),
        pytest.param("coffeelover113@mail.org", [3, 9], Rules(), True, id="another-handle"),
        # Once only: hers too (card_handle_email_days = 1), at a till as on the web.
        pytest.param("bluejay3322@mail.org", [1], Rules(), True, id="a-handle-once"),
        pytest.param("bluejay3322@mail.org", [4, 4], Rules(), True, id="a-handle-one-day"),
        pytest.param("bluejay3322@mail.org", [1], Rules(card_handle_email_days=2), False,
                     id="two-days-asked"),
        # An address naming someone (not her) names the guest: three days, as before.
        pytest.param("thomas_johnson@mail.org", [1, 2], Rules(), False, id="names-a-guest"),
        pytest.param("sstpierre@mail.org", [1, 2], Rules(), False, id="a-family-name"),
        pytest.param("tigerlily4788@mail.org", [1, 2], Rules(), False, id="a-first-name-in-it"),
        pytest.param("thomas_johnson@mail.org", [1, 2, 3], Rules(), True, id="names-three-days"),
        pytest.param("bluejay3322@mail.org", [1, 2], Rules(card_handle_email_days=0), False,
                     id="rule-off"),
    ],
)  # fmt: skip
def test_a_handle_given_with_her_card_is_hers(
    email: str, days: list[int], rules: Rules, joined: bool
) -> None:
    # Given Katherine Wilson's contact (her own e-mail on file) and card, purchases at a
    # till on the card giving an address, on some days, and card-less online orders under it
    orders = purchase(email=email, channel="online", tid="G1")
    result = resolve(world(_katherine(), *_on_card(days, email), orders), rules)
    member = next(c for c in result.components if ("crm", "C0000001") in c)
    # Then the card-less orders are hers when the address names no one (a guest's address
    # names the guest), or came with her card on three days whatever it names
    assert (orders.ref in member) is joined


def test_the_days_asked_are_at_most_the_days_a_card_keeps() -> None:
    # A rules file asking more days than a card keeps per e-mail could never be met
    assert Rules(card_email_days=EMAIL_DAYS_KEPT).card_email_days == EMAIL_DAYS_KEPT
    with pytest.raises(ValidationError, match="card_email_days"):
        Rules(card_email_days=EMAIL_DAYS_KEPT + 1)
    with pytest.raises(ValidationError, match="card_handle_email_days"):
        Rules(card_handle_email_days=EMAIL_DAYS_KEPT + 1)
    with pytest.raises(ValidationError, match="card_web_email_days"):
        Rules(card_web_email_days=EMAIL_DAYS_KEPT + 1)


@pytest.fixture(params=ADAPTERS)
async def service(request: pytest.FixtureRequest) -> AsyncIterator[IdentityService]:
    async with open_store(request.param) as store:
        yield IdentityService(store)


async def test_her_second_address_joins_her_once_a_third_day_comes_in(
    service: IdentityService,
) -> None:
    # Given Katherine's contact and her card-less orders under her second address: apart
    orders = purchase(email=SECOND, channel="online", tid="G1")
    await service.ingest([_katherine(), orders])
    contact = ("crm", "C0000001")

    async def together() -> bool:
        assigned = await service.store.all_assignments()
        return assigned[contact] == assigned[orders.ref]

    # When her card's till purchases giving that address come in one at a time, on two
    # days (one sent twice), then on a third
    for sale in _on_card([1, 2, 2]) + _on_card([2]):
        await service.ingest([sale])
        assert not await together()
    [third] = _on_card([3] * 4)[3:]
    await service.ingest([third])
    # Then the third day makes the address hers: her card-less orders join her member
    assert await together()
    # and the store kept the address's days with the card, each once
    card = (await service.store.load_records([third.ref]))[third.ref]
    assert card.email_days == {SECOND: frozenset({"2026-03-01", "2026-03-02", "2026-03-03"})}
    # And a whole resolution of the store (a restart) agrees with the ingests
    assigned = await service.store.all_assignments()
    await service.resolve_all(await service.store.load_records(None))
    assert await service.store.all_assignments() == assigned


async def test_a_handle_joins_her_once_a_second_day_comes_in(service: IdentityService) -> None:
    # Given a store asking two days for a handle (card_handle_email_days = 2), Katherine's
    # contact and her card-less orders under a handle of hers: apart
    service = IdentityService(service.store, Rules(card_handle_email_days=2))
    handle = "bluejay3322@mail.org"
    orders = purchase(email=handle, channel="online", tid="G1")
    await service.ingest([_katherine(), orders])
    contact = ("crm", "C0000001")

    async def together() -> bool:
        assigned = await service.store.all_assignments()
        return assigned[contact] == assigned[orders.ref]

    # When her card's till purchases giving it come in: twice on one day, then on a
    # second day
    for sale in _on_card([1, 1], handle):
        await service.ingest([sale])
        assert not await together()
    [second] = _on_card([1, 1, 2], handle)[2:]
    await service.ingest([second])
    # Then the second day makes the handle hers, as a whole resolution of the store says
    assert await together()
    assigned = await service.store.all_assignments()
    await service.resolve_all(await service.store.load_records(None))
    assert await service.store.all_assignments() == assigned


async def test_a_handle_joins_her_with_her_cards_first_order(service: IdentityService) -> None:
    # Given Katherine's contact and her card-less orders under a handle of hers: apart
    handle = "bluejay3322@mail.org"
    orders = purchase(email=handle, channel="online", tid="G1")
    await service.ingest([_katherine(), orders])
    contact = ("crm", "C0000001")
    assigned = await service.store.all_assignments()
    assert assigned[contact] != assigned[orders.ref]
    # When her card's first online order giving it comes in (the web's store: no counter)
    [sale] = _on_card([1], handle, "online")
    await service.ingest([sale])
    # Then the handle is hers on the default rules: her card-less orders join her member,
    # as a whole resolution of the store says
    assigned = await service.store.all_assignments()
    assert assigned[contact] == assigned[orders.ref]
    await service.resolve_all(await service.store.load_records(None))
    assert await service.store.all_assignments() == assigned


def test_a_handle_on_a_clerks_card_at_a_counter_stays_the_guests() -> None:
    # Given Katherine's contact and card, her card put once on a guest's online order taken
    # at a store's counter (store S12 giving the guest's handle), and the guest's own
    # card-less online orders under that handle
    guest = "bluejay3322@mail.org"
    counter = purchase(card=CARD, email=guest, channel="online", tid="T1", store="S12")
    orders = purchase(email=guest, channel="online", tid="G1")
    result = resolve(world(_katherine(), counter, orders), Rules())
    member = next(c for c in result.components if ("crm", "C0000001") in c)
    # Then the counter order gives her card no e-mail: the guest's orders stay apart
    assert orders.ref not in member


def second_address_folder(folder: Path) -> None:
    """A folder of Katherine's contact (her own e-mail on file), her card's online orders
    giving her second address on three days, and a card-less order under it (G1)."""
    sale = {"channel": "online", "amount_cents": 100, "email": SECOND}
    lines = [
        {**sale, "transaction_id": f"T{d}", "loyalty_id": CARD, "occurred_at": f"2026-02-0{d}T10:00:00Z"}
        for d in (1, 2, 3)
    ] + [{**sale, "transaction_id": "G1", "occurred_at": "2026-02-04T10:00:00Z"}]  # fmt: skip
    contact = {
        "contact_id": "C0000001", "first_name": "Katherine", "last_name": "Wilson",
        "emails": ["kathy.g@mail.org"], "loyalty_id": CARD,
    }  # fmt: skip
    folder.mkdir()
    (folder / "transactions.jsonl").write_bytes(b"\n".join(map(orjson.dumps, lines)))
    (folder / "crm.jsonl").write_bytes(orjson.dumps(contact))


@pytest.mark.parametrize("workers", [1, 2])
async def test_resolve_answers_her_second_addresss_orders_as_hers(
    tmp_path: Path, workers: int
) -> None:
    # Given a folder: Katherine's contact, her card's online orders giving her second
    # address on three days, and her card-less orders under it
    folder = tmp_path / "data"
    second_address_folder(folder)
    out = tmp_path / "members.jsonl"
    # When the folder is resolved
    async with SqliteStore(tmp_path / "store.db") as identity:
        await resolve_folder(folder, out, identity, workers=workers)
    # Then her contact, her card's orders and her card-less order are one member
    answers = {a["id"]: a["member_id"] for a in map(orjson.loads, out.read_bytes().splitlines())}
    assert len(set(answers.values())) == 1 and set(answers) == {"C0000001", "T1", "T2", "T3", "G1"}


@pytest.mark.parametrize(
    ("email", "named"),
    [
        pytest.param("bluejay3322@gmail.com", False, id="a-handle"),
        pytest.param("coffeelover5876+shop@gmail.com", False, id="a-handle-tagged"),
        pytest.param("thomas_johnson@yahoo.com", True, id="first-and-family-name"),
        pytest.param("sstpierre@gmail.com", True, id="initial-and-family-name"),
        pytest.param("steven257@aol.com", True, id="first-name-and-digits"),
        pytest.param("GARCIAM@hotmail.com", True, id="caps"),
        pytest.param("jo42@mail.org", False, id="two-letters-are-no-name"),
    ],
)
def test_an_address_names_anyone_when_a_common_name_is_in_it(email: str, named: bool) -> None:
    # An address's part before the @, with a common first or family name in it, names
    # someone; a handle names no one, and says nothing of whose it is
    assert names_anyone(email, NearDuplicates()) is named


PARENTS = "jennifer.hall542@mail-example.com"  # Jennifer Hall's own address


@pytest.mark.parametrize(
    ("other", "rules", "hers"),
    [
        # Her mother's contact carries it: another person (another name, born 1959)
        pytest.param(crm("C0000002", first="Jennifer", last="Hall", birth="1959-12-01",
                         emails=[PARENTS]), Rules(), False, id="a-parents-contact"),
        # ... a close first name, another family name and birth: another person still
        pytest.param(crm("C0000002", first="Jean", last="Hall", birth="1959-12-01",
                         emails=[PARENTS]), Rules(), False, id="a-close-first-name"),
        # Asked to read her card's web order alone: the mother's card-less orders are hers
        pytest.param(crm("C0000002", first="Jennifer", last="Hall", birth="1959-12-01",
                         emails=[PARENTS]), Rules(card_web_emails_of_others=False), True,
                     id="rule-off"),
        # Her own other contact carries it (no card, no birth date): hers
        pytest.param(crm("C0000002", first="Jean", last="Gutierrez", birth=None,
                         emails=[PARENTS]), Rules(), True, id="her-own-contact"),
        # No contact carries it: nothing says whose, her card's web order says hers
        pytest.param(None, Rules(), True, id="no-contact"),
    ],
)  # fmt: skip
def test_a_parents_address_on_her_web_order_stays_the_parents(
    other: RecordData | None, rules: Rules, hers: bool
) -> None:
    # Given Jean Gutierrez's contact (born 2010, her own address on file) and card, one web
    # order on her card under another address, card-less online orders under that address,
    # and perhaps another contact carrying it
    jean = crm(
        "C0000001", first="Jean", last="Gutierrez", birth="2010-04-12",
        emails=["jean.gutierrez483@mail-example.com"], card=CARD,
    )  # fmt: skip
    on_card = purchase(card=CARD, email=PARENTS, channel="online", tid="T1")
    orders = purchase(email=PARENTS, channel="online", tid="G1")
    contacts = [jean] if other is None else [jean, other]
    result = resolve(world(*contacts, on_card, orders), rules)
    member = next(c for c in result.components if jean.ref in c)
    # Then the card-less orders are hers only when no other person's contact carries it
    assert on_card.ref in member
    assert (orders.ref in member) is hers


async def test_a_parents_address_given_day_after_day_ingested_as_resolved(
    service: IdentityService,
) -> None:
    # Given Jean's contact and card, her mother's contact carrying her own address, and the
    # mother's card-less orders under it
    jean = crm(
        "C0000001", first="Jean", last="Gutierrez", birth="2010-04-12",
        emails=["jean.gutierrez483@mail-example.com"], card=CARD,
    )  # fmt: skip
    mother = crm("C0000002", first="Jennifer", last="Hall", birth="1959-12-01", emails=[PARENTS])
    orders = purchase(email=PARENTS, channel="online", tid="G1")
    await service.ingest([jean, mother, orders])
    # When Jean's card's web orders under it come in, one day after another
    for sale in _on_card([1, 2, 2, 3, 4], PARENTS, "online"):
        await service.ingest([sale])
        # Then after each, the store says what a whole resolution of it says (the days a
        # web address came are read as a till's when another person's contact carries it)
        assigned = await service.store.all_assignments()
        await service.resolve_all(await service.store.load_records(None))
        assert await service.store.all_assignments() == assigned

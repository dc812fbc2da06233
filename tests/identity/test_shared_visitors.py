"""Shared visitors and e-mail opens (issue 19): an event that names its own person (an
e-mail open carries its recipient's address, a login a CRM id) is that person's, whatever
device sent it; a device seen with several people's e-mails links none of them; visitors
that name no one are no evidence that an e-mail is many people's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from membergraph.connectors.models import WebEvent
from membergraph.identity.engine import Resolution, resolve
from membergraph.identity.line_records import record_of_line, web_event_key
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.service import IdentityService
from membergraph.identity.values import SHARED_DEVICE
from tests.identity.builders import crm, event, purchase, world
from tests.support.stores import ADAPTERS, open_store

ANN = crm("C-ANN", first="Ann", last="Lee", emails=["ann@x.org"])
BOB = crm("C-BOB", first="Bob", last="Ray", birth="1970-01-01", emails=["bob@x.org"])
CAT = crm("C-CAT", first="Cat", last="Poe", birth="1990-01-01", emails=["cat@x.org"])
PEOPLE = {"ann": ANN, "bob": BOB, "cat": CAT}
PROXY = "mpp-proxy-1"


def opened(anon: str, email: str | None, eid: str = "O1", name: str = "Email Opened") -> RecordData:
    """The record of one e-mail open (or another event of no one logged in) as ingest makes it."""
    line = WebEvent(
        event_id=eid,
        anonymous_id=anon,
        email=email,
        type="track",
        name=name,
        occurred_at="2026-01-01T00:00:00Z",
    )
    record = record_of_line("web_analytics", line)  # type: ignore[arg-type]
    assert record is not None
    return record


def _whose(result: Resolution, ref: RecordKey) -> set[str]:
    """The people whose contact is in a record's member (empty: nobody's)."""
    member = next((set(c) for c in result.components if ref in c), set())
    return {name for name, contact in PEOPLE.items() if contact.ref in member}


def _people_in_members(result: Resolution) -> int:
    return max(len({n for n, c in PEOPLE.items() if c.ref in comp}) for comp in result.components)


@pytest.mark.parametrize(
    ("fields", "key"),
    [
        pytest.param(("a-1", None, None, "Page Viewed"), "a-1", id="names-no-one"),
        pytest.param(("a-1", "C-ANN", "ann@x.org", "Signed In"), "a-1|login:C-ANN", id="login"),
        pytest.param(("a-1", " C-ANN ", None, "Signed In"), "a-1|login:C-ANN", id="login-spaces"),
        pytest.param(("a-1", None, "  ", "Email Opened"), "a-1", id="blank-email"),
        pytest.param(("a-1", None, "bob@x.org", "Referral Sent"), "a-1", id="friends-email"),
    ],
)
def test_a_web_events_record_is_whom_it_names(
    fields: tuple[str, str | None, str | None, str], key: str
) -> None:
    anon, user, email, name = fields
    line = WebEvent(
        event_id="E1",
        anonymous_id=anon,
        user_id=user,
        email=email,
        type="track",
        name=name,
        occurred_at="2026-01-01T00:00:00Z",
    )
    assert web_event_key(line) == key


def test_an_open_is_keyed_by_its_recipient_not_spelling_the_address() -> None:
    # Given two opens of Ann's mail on one device, spelt in two cases, and one of Bob's
    ann, ann_caps, bob = (opened("a-1", e) for e in ("ann@x.org", " ANN@x.org", "bob@x.org"))
    # Then Ann's opens are one record, Bob's another, both of the device
    assert ann.key == ann_caps.key != bob.key
    assert ann.key.startswith("a-1|email:") and bob.key.startswith("a-1|email:")
    # and the address itself is in no key (keys go to the change feed and the history)
    assert "ann" not in ann.key and "x.org" not in ann.key


@pytest.mark.parametrize(
    "recipients",
    [
        pytest.param(["ann", "bob", "cat"], id="three-readers"),
        pytest.param(["ann", "bob", "cat"] * 4, id="three-readers-many-opens"),
        pytest.param(["ann"], id="one-reader"),
    ],
)
def test_a_mail_privacy_proxys_opens_go_to_their_recipients(recipients: list[str]) -> None:
    # Given a mail privacy proxy opening everyone's mail, and a page view of its own
    opens = [opened(PROXY, f"{name}@x.org", f"O{n}") for n, name in enumerate(recipients)]
    result = resolve(world(ANN, BOB, CAT, *opens, opened(PROXY, None, "P1", "Page Viewed")))
    # Then each open is with its recipient's member
    for name, open_ in zip(recipients, opens, strict=True):
        assert _whose(result, open_.ref) == {name}
    # and the proxy's own events are one reader's when it served one, else nobody's
    own = ("web_analytics", PROXY)
    if len(set(recipients)) == 1:
        assert _whose(result, own) == set(recipients)
    else:
        assert _whose(result, own) == set()
        assert result.unattributed.get(own) == SHARED_DEVICE
    # and no member holds two people
    assert _people_in_members(result) == 1


@pytest.mark.parametrize(
    ("emails", "whose"),
    [
        pytest.param(
            ["ann@x.org", *(f"reader{n}@y.org" for n in range(6))], set(), id="proxy-readers"
        ),
        pytest.param(["ann@x.org", "ann.lee@work.org"], {"ann"}, id="her-work-address-too"),
        pytest.param(["ann@x.org", "ANN@x.org "], {"ann"}, id="one-address-two-spellings"),
        pytest.param([f"reader{n}@y.org" for n in range(8)], set(), id="no-reader-known"),
    ],
)
def test_a_devices_page_views_are_nobodys_when_it_names_many_readers(
    emails: list[str], whose: set[str]
) -> None:
    # Given a device whose opens name these e-mails (only Ann's is on a profile) and a
    # page view naming no one
    opens = [opened("dev", e, f"O{n}") for n, e in enumerate(emails)]
    view = opened("dev", None, "P1", "Page Viewed")
    result = resolve(world(ANN, *opens, view))
    # Then the page view is Ann's unless the device names more people than one has
    assert _whose(result, view.ref) == whose
    # and no reader's open is anyone else's
    assert all(_whose(result, o.ref) <= {"ann"} for o in opens)


@pytest.mark.parametrize("devices", [3, 8, 12], ids=lambda n: f"{n}-visitors")
def test_her_e_mail_on_her_many_visitors_is_no_placeholder(devices: int) -> None:
    # Given Ann, her card-less online order, and her opens on many visitors of hers (iOS
    # renews the anonymous id every few weeks) and on a proxy's
    visits = [opened(f"phone-{n}", "ann@x.org", f"O{n}") for n in range(devices)]
    visits.append(opened(PROXY, "ann@x.org", "OP"))
    order = purchase(email="ann@x.org", channel="online", tid="W1")
    result = resolve(world(ANN, BOB, order, *visits))
    # Then her e-mail links: her order and every open are in her member
    assert result.value_status[("EMAIL", "ann@x.org")] == "linkable"  # type: ignore[index]
    assert _whose(result, order.ref) == {"ann"}
    assert all(_whose(result, v.ref) == {"ann"} for v in visits)


def test_a_placeholder_on_many_visitors_still_links_no_one() -> None:
    # Given na@na.com typed on a sign-up form of many devices, and on two people's orders
    visits = [opened(f"d-{n}", "na@na.com", f"O{n}", "Newsletter Signup") for n in range(9)]
    orders = [
        purchase(card="LD10000001", email="na@na.com", tid="T1"),
        purchase(card="LD10000002", email="na@na.com", tid="T2"),
    ]
    result = resolve(world(*visits, *orders))
    # Then it links nothing: no member holds two of them
    assert all(len(c) == 1 for c in result.components)


def test_a_value_many_people_type_at_tills_is_still_a_placeholder() -> None:
    # Given a store's own e-mail typed at the till on ten different people's cards, and
    # on a few visitors' sign-ups
    orders = [
        purchase(card=f"LD1000000{n}", email="store12@shop.com", tid=f"T{n}") for n in range(10)
    ]
    visits = [opened(f"d-{n}", "store12@shop.com", f"O{n}") for n in range(3)]
    result = resolve(world(*orders, *visits))
    # Then the cards stay apart
    assert result.value_status[("EMAIL", "store12@shop.com")] == "hub"  # type: ignore[index]
    assert all(sum(1 for r in c if r[0] == "transactions") <= 1 for c in result.components)


def test_a_family_computers_page_views_with_two_peoples_opens_are_nobodys() -> None:
    # Given a family computer: Ann's login, Bob's mail opened on it, anonymous page views
    records = [
        event("fam", "C-ANN", "L1"),
        opened("fam", "bob@x.org", "O1"),
        opened("fam", None, "P1", "Page Viewed"),
    ]
    result = resolve(world(ANN, BOB, *records))
    # Then Ann's login is hers, Bob's open his, the page views nobody's
    assert _whose(result, ("web_analytics", "fam|login:C-ANN")) == {"ann"}
    assert _whose(result, records[1].ref) == {"bob"}
    assert result.unattributed.get(("web_analytics", "fam")) == SHARED_DEVICE


@pytest.fixture(params=ADAPTERS)
async def service(request: pytest.FixtureRequest) -> AsyncIterator[IdentityService]:
    async with open_store(request.param) as store:
        yield IdentityService(store)


async def test_a_proxys_opens_ingested_one_by_one_agree_with_a_whole_resolution(
    service: IdentityService,
) -> None:
    # Given Ann and Bob, and a proxy's page view, then their opens arriving one by one
    await service.ingest([ANN, BOB, opened(PROXY, None, "P1", "Page Viewed")])
    ann_open, bob_open = opened(PROXY, "ann@x.org", "O1"), opened(PROXY, "bob@x.org", "O2")
    await service.ingest([ann_open])
    assigned = await service.store.all_assignments()
    # Then with one reader, the proxy's page view is hers
    assert assigned[ann_open.ref] == assigned[("web_analytics", PROXY)] == assigned[ANN.ref]
    # When Bob's open arrives
    await service.ingest([bob_open])
    assigned = await service.store.all_assignments()
    # Then each open is its reader's, the page view nobody's
    assert assigned[ann_open.ref] == assigned[ANN.ref] != assigned[bob_open.ref]
    assert assigned[bob_open.ref] == assigned[BOB.ref]
    assert ("web_analytics", PROXY) not in assigned
    # And a whole resolution (a restart) agrees
    await service.resolve_all(await service.store.load_records(None))
    assert await service.store.all_assignments() == assigned


JOHN = crm("C-JOHN", first="John", last="Edwards", birth="1970-01-01", emails=["john@x.org"])


@pytest.mark.parametrize(
    ("email", "shared"),
    [
        pytest.param("kedwards@gmail.com", True, id="his-wifes-initial-and-family-name"),
        pytest.param("mariagarcia@gmail.com", True, id="another-persons-name"),
        pytest.param("jedwards@gmail.com", False, id="his-initial"),
        pytest.param("john.edwards@work.com", False, id="his-work-address"),
        pytest.param("bookworm14@gmail.com", False, id="a-handle-names-no-one"),
    ],
)
def test_a_family_computers_page_views_with_another_persons_signup_are_nobodys(
    email: str, shared: bool
) -> None:
    # Given John's login on a device, a newsletter signup there under an e-mail no
    # profile holds, and the device's page views
    records = [
        event("fam", "C-JOHN", "L1"),
        opened("fam", email, "S1", "Newsletter Signup"),
        opened("fam", None, "P1", "Page Viewed"),
    ]
    result = resolve(world(JOHN, *records))
    # Then his login is his
    assert any(
        ("web_analytics", "fam|login:C-JOHN") in c and JOHN.ref in c for c in result.components
    )
    # and the page views are nobody's when the signup names another person, his otherwise
    view = ("web_analytics", "fam")
    if shared:
        assert result.unattributed.get(view) == SHARED_DEVICE
    else:
        assert any(view in c and JOHN.ref in c for c in result.components)

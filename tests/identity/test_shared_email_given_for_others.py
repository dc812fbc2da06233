"""An e-mail on two people's contacts (shared) whose other contacts never order under it (a
parent's handle given at a student's enrolment: he is seen using his own address and never
this one): the card-less online orders under it are the rest's
(rules.shared_emails_given_for_others)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from membergraph.identity.service import IdentityService
from tests.identity.builders import crm, event, purchase, world
from tests.support.stores import ADAPTERS, open_store

HANDLE = "bluejay7574@outlook.com"
FAMILYS = "thehernandezfamily12@gmail.com"
OTHER_FAMILYS = "the.myers.family813@gmail.com"
HIS_OWN = "jose.hernandez@msn.com"
PARENT_CARD, STUDENT_CARD = "604836002720", "604838706297"


@pytest.mark.parametrize(
    ("address", "student_uses", "parent_uses", "rules", "joins"),
    [
        # His card's web order gives his own address, never the handle: the parent's orders.
        pytest.param(HANDLE, (HIS_OWN,), (), Rules(), "parent", id="his-own-address-used"),
        pytest.param(
            HANDLE,
            (HIS_OWN,),
            (),
            Rules(shared_emails_given_for_others=False),
            None,
            id="rule-off",
        ),
        # His logged-in session gives his own address: the same.
        pytest.param(HANDLE, ("login",), (), Rules(), "parent", id="his-login-gives-his-own"),
        # He is seen using no address: nothing says whose the handle is.
        pytest.param(HANDLE, (), (), Rules(), None, id="he-uses-none"),
        # He is seen using it too, beside his own: not read as the parent's (his orders,
        # as shared_emails_of_users leaves them: apart).
        pytest.param(HANDLE, (HIS_OWN, HANDLE), (), Rules(), None, id="he-uses-it-too"),
        # The parent uses it as well: still hers (he never does).
        pytest.param(HANDLE, (HIS_OWN,), (HANDLE,), Rules(), "parent", id="she-uses-it-too"),
        # It names the family, not her: anyone of the household may order under it.
        pytest.param(FAMILYS, (HIS_OWN,), (), Rules(), None, id="a-familys-name"),
        # ... a family name not theirs (a mother's maiden name): the same.
        pytest.param(OTHER_FAMILYS, (HIS_OWN,), (), Rules(), None, id="another-family-name"),
        # The rule it reads off: he is not read as never ordering under it.
        pytest.param(
            HANDLE,
            (HIS_OWN,),
            (),
            Rules(emails_she_never_orders_with=False),
            None,
            id="never-orders-off",
        ),
    ],
)
def test_a_shared_emails_orders_join_the_contact_left_when_the_others_never_use_it(
    address: str,
    student_uses: tuple[str, ...],
    parent_uses: tuple[str, ...],
    rules: Rules,
    joins: str | None,
) -> None:
    # Given a parent and a student of one family, two people, each with a card and a
    # phone of their own, the parent's address on both contacts (he enrolled with it) and
    # his own address on his contact too
    parent = crm(
        "C1",
        first="Mónica",
        last="Hernández",
        birth="1953-04-17",
        emails=[address],
        phones=["+13435956550"],
        card=PARENT_CARD,
    )
    student = crm(
        "C2",
        first="José",
        last="Hernández",
        birth="2002-05-09",
        emails=[address, HIS_OWN],
        phones=["+13435950001"],
        card=STUDENT_CARD,
    )
    records: list[RecordData] = [parent, student]
    # and web orders with each card under the addresses each is seen using
    for n, email in enumerate(e for e in student_uses if e != "login"):
        records.append(purchase(card=STUDENT_CARD, email=email, channel="online", tid=f"S{n}"))
    if "login" in student_uses:
        records.append(event("a-1", user="C2", email=HIS_OWN, kind="identify"))
    for n, email in enumerate(parent_uses):
        records.append(purchase(card=PARENT_CARD, email=email, channel="online", tid=f"P{n}"))
    # and card-less online orders under the parent's address
    orders = purchase(email=address, channel="online", tid="T1")
    records.append(orders)
    # When resolved
    result = resolve(world(*records), rules)
    # Then the orders join the contact the others leave, when they never order under it
    with_orders = next(c for c in result.components if orders.ref in c)
    holder = {parent.ref: "parent", student.ref: "student"}
    assert [holder[r] for r in with_orders if r in holder] == ([joins] if joins else [])


@pytest.fixture(params=ADAPTERS)
async def service(request: pytest.FixtureRequest) -> AsyncIterator[IdentityService]:
    async with open_store(request.param) as store:
        yield IdentityService(store)


async def test_his_first_order_under_his_own_address_gives_her_the_orders(
    service: IdentityService,
) -> None:
    # Given the parent's and the student's contacts on her handle, and her card-less
    # orders under it: no one's (a shared e-mail)
    parent = crm("C1", first="Mónica", last="Hernández", birth="1953-04-17", emails=[HANDLE])
    student = crm(
        "C2", first="José", last="Hernández", birth="2002-05-09",
        emails=[HANDLE, HIS_OWN], card=STUDENT_CARD,
    )  # fmt: skip
    orders = purchase(email=HANDLE, channel="online", tid="T1")
    await service.ingest([parent, student, orders])
    assigned = await service.store.all_assignments()
    assert assigned[orders.ref] != assigned[parent.ref]
    # When his card's first web order comes in, under his own address
    await service.ingest([purchase(card=STUDENT_CARD, email=HIS_OWN, channel="online", tid="S1")])
    # Then her orders join her
    assigned = await service.store.all_assignments()
    assert assigned[orders.ref] == assigned[parent.ref] != assigned[student.ref]
    # And a whole resolution of the store (a restart) agrees with the ingests
    await service.resolve_all(await service.store.load_records(None))
    assert await service.store.all_assignments() == assigned


def test_a_clerks_address_on_several_guests_contacts_stays_no_ones() -> None:
    # Given a clerk's own address typed on three guests' contacts, two of whom are seen
    # using addresses of their own, and the clerk's card-less orders under it
    clerks = "penap@outlook.com"
    meg = crm("C1", first="Meg", last="Patel", birth=None, emails=[clerks], card="604872662861")
    lucia = crm(
        "C2", first="Lucía", last="Rodriguez", birth="1990-03-10", emails=[clerks],
        card="604837940222",
    )  # fmt: skip
    chris = crm("C3", first="Christopher", last="Johnson", birth="1937-01-20", emails=[clerks])
    own = [
        purchase(card="604872662861", email="meg.patel@mail-example.com", channel="online"),
        purchase(card="604837940222", email="lucia.r@mail-example.com", channel="online", tid="T2"),
    ]
    orders = purchase(email=clerks, channel="online", tid="T3")
    # When resolved
    result = resolve(world(meg, lucia, chris, *own, orders))
    # Then the orders join none of the guests: those set aside are two people
    with_orders = next(c for c in result.components if orders.ref in c)
    assert not any(ref[0] == "crm" for ref in with_orders)

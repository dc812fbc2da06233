"""A profile's placeholder check weighs a value as resolution weighs it."""

from __future__ import annotations

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.placeholders import (
    placeholder_flags,
    revealed_placeholders,
    unsure_claims,
    weigh_placeholders,
)
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from membergraph.identity.service import IdentityService
from tests.identity.builders import crm, purchase, visitor, world
from tests.support.stores import ADAPTERS, open_store

EMAIL = (IdentifierKind.EMAIL, "ann@x.org")


def _others(n: int) -> list[RecordData]:
    """``n`` other people's contacts giving her e-mail (a family's, a typo's)."""
    return [
        crm(f"O{k}", first=f"P{k}", last="Ray", birth=f"19{50 + k}-01-01", emails=["ann@x.org"])
        for k in range(n)
    ]


def _till(n: int) -> RecordData:
    return purchase(card=f"LD1000000{n}", email="ann@x.org", tid=f"T{n}")


SCENARIOS = {
    # one person's contact, her online orders and her visitor: 3 carriers, one person
    "one-person": [
        crm("C1", emails=["ann@x.org"]),
        purchase(email="ann@x.org", channel="online"),
        visitor("d1", emails=("ann@x.org",)),
    ],
    # typed at the till on three people's cards: a placeholder
    "typed-at-tills": [_till(n) for n in range(3)],
    # typed at the till on two cards, and her contact: no more people than a till allows
    "two-tills-and-her": [_till(0), _till(1), crm("C1", emails=["ann@x.org"])],
    # two contacts who say different things (a shared family address), and a visitor
    "two-contacts": [
        crm("C1", emails=["ann@x.org"]),
        crm("C2", first="Bob", last="Ray", birth="1970-01-01", emails=["ann@x.org"]),
        visitor("d1", emails=("ann@x.org",)),
    ],
    # seven people's contacts: more people than any value may have
    "seven-people": [
        crm(f"C{n}", first=f"P{n}", last="Lee", birth=f"19{50 + n}-01-01", emails=["ann@x.org"])
        for n in range(7)
    ],
    # five others' contacts, and her card's online orders: six people, her card is her
    "five-others-and-her-card": [
        *_others(5),
        crm("C1", emails=["ann@x.org"], card="604800000001"),
        purchase(card="604800000001", email="ann@x.org", channel="online"),
    ],
    # five others, her card's orders and her logged-in visitor, her contact saying another
    # e-mail: six people (her card and her login are her, read beside the e-mail's carriers)
    "five-others-her-card-and-login": [
        *_others(5),
        crm("C1", emails=["ann.lee@y.org"], card="604800000001"),
        purchase(card="604800000001", email="ann@x.org", channel="online"),
        visitor("d1", logins=("C1",), emails=("ann@x.org",)),
    ],
    # six others and her card's orders: seven people, a placeholder
    "six-others-and-her-card": [
        *_others(6),
        crm("C1", emails=["ann.lee@y.org"], card="604800000001"),
        purchase(card="604800000001", email="ann@x.org", channel="online"),
    ],
}


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("records", SCENARIOS.values(), ids=SCENARIOS.keys())
async def test_a_value_is_weighed_as_resolution_weighs_it(
    records: list[RecordData], adapter: str
) -> None:
    # Given the records carrying an e-mail, resolved into a store, when the placeholder
    # check weighs it, then it is a placeholder exactly when resolution calls it a hub
    rules = Rules()
    every = world(*records)
    status = resolve(every, rules).value_status[EMAIL]  # type: ignore[index]
    async with open_store(adapter) as store:
        await IdentityService(store, rules=rules).resolve_all(every)
        assert (EMAIL in await revealed_placeholders(store, rules, [EMAIL])) == (status == "hub")
        # and a member's flags say the same, the blocklist's placeholders flagged unweighed
        carried = await store.carriers([EMAIL])
        loaded = await store.load_records(carried[EMAIL])
        junk = (IdentifierKind.EMAIL, "none@none.com")
        flags = await placeholder_flags(store, rules, [EMAIL, junk], carried, loaded)
        assert flags == {EMAIL: status == "hub", junk: True}


def test_without_the_contacts_of_claimed_cards_a_placeholder_is_only_a_suspect() -> None:
    # Given her card's orders and her visitor counted as the card and the login (their
    # holder unread), then the e-mail is weighed a placeholder (no fewer people than
    # resolution counts), and given her contact as their holder, it is hers
    records = SCENARIOS["five-others-her-card-and-login"]
    her = next(r for r in records if r.key == "C1")
    carriers = {r.ref: r for r in records if r is not her}
    carried = {EMAIL: list(carriers)}
    assert weigh_placeholders(Rules(), [EMAIL], carried, carriers) == {EMAIL}
    card, login = (IdentifierKind.LOYALTY_ID, "604800000001"), (IdentifierKind.CRM_ID, "C0000001")
    holders = {card: [her], login: [her]}
    assert weigh_placeholders(Rules(), [EMAIL], carried, carriers, holders) == set()


def test_only_claims_that_could_make_it_one_persons_are_read() -> None:
    # Given a value weighed a placeholder, then the cards and logins of its carriers are
    # read only when the other carriers alone are not too many people already
    card, login = (IdentifierKind.LOYALTY_ID, "604800000001"), (IdentifierKind.CRM_ID, "C0000001")
    few = [r for r in SCENARIOS["five-others-her-card-and-login"] if r.key != "C1"]
    many = [*SCENARIOS["seven-people"], *few[-2:]]
    for records, read in ((few, {card, login}), (many, set())):
        carried = {EMAIL: [r.ref for r in records]}
        assert unsure_claims(Rules(), [EMAIL], carried, {r.ref: r for r in records}) == read


def test_the_scenarios_cover_both_answers() -> None:
    statuses = {
        resolve(world(*records), Rules()).value_status[EMAIL]  # type: ignore[index]
        for records in SCENARIOS.values()
    }
    assert "hub" in statuses and statuses - {"hub"}


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_a_hub_is_told_from_no_more_carriers_than_make_it_one(adapter: str) -> None:
    # Given an e-mail typed at the till on many cards: more carriers the more people there
    # are, which every page of an export holding one of them read whole
    rules = Rules(hub_max_records=5)
    async with open_store(adapter) as store:
        await IdentityService(store, rules=rules).resolve_all(world(*map(_till, range(20))))
        handed: list[int] = []
        carriers = store.carriers

        async def counted(*args: object, **kwargs: object) -> object:
            found = await carriers(*args, **kwargs)  # type: ignore[arg-type]
            handed.extend(map(len, found.values()))
            return found

        store.carriers = counted  # type: ignore[method-assign]
        # When the placeholder check weighs it
        revealed = await revealed_placeholders(store, rules, [EMAIL])
        # Then it is a placeholder, told from one more carrier than a value may have
        assert revealed == {EMAIL}
        assert handed == [rules.hub_max_records + 1]
        # and the store hands over at most as many of a value's carriers as asked for
        assert len((await carriers([EMAIL]))[EMAIL]) == 20
        assert len((await carriers([EMAIL], 3))[EMAIL]) == 3

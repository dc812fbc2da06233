"""A profile's placeholder check weighs a value as resolution weighs it."""

from __future__ import annotations

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.placeholders import placeholder_flags, weigh_placeholders
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, purchase, visitor, world

EMAIL = (IdentifierKind.EMAIL, "ann@x.org")


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
}


@pytest.mark.parametrize("records", SCENARIOS.values(), ids=SCENARIOS.keys())
def test_a_value_is_weighed_as_resolution_weighs_it(records: list[RecordData]) -> None:
    # Given the records carrying an e-mail, when the placeholder check weighs it, then it
    # is a placeholder exactly when resolution calls it a hub
    rules = Rules()
    status = resolve(world(*records), rules).value_status[EMAIL]  # type: ignore[index]
    carried = {EMAIL: [r.ref for r in records]}
    weighed = weigh_placeholders(rules, [EMAIL], carried, {r.ref: r for r in records})
    assert (EMAIL in weighed) == (status == "hub")
    # and a member's flags say the same, the blocklist's placeholders flagged without weighing
    junk = (IdentifierKind.EMAIL, "none@none.com")
    flags = placeholder_flags(rules, [EMAIL, junk], carried, {r.ref: r for r in records})
    assert flags == {EMAIL: status == "hub", junk: True}


def test_the_scenarios_cover_both_answers() -> None:
    statuses = {
        resolve(world(*records), Rules()).value_status[EMAIL]  # type: ignore[index]
        for records in SCENARIOS.values()
    }
    assert "hub" in statuses and statuses - {"hub"}

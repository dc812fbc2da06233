"""Two contacts of one name on one e-mail, a birth date left out, each with a card that
orders online under an address of its own over the same months: a son and his father, not
one person entered twice (``near_duplicates.member_cards_apart``; issue 19, a member
holding two people's CRM contacts)."""

from __future__ import annotations

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.near_duplicates import NearDuplicates
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, purchase, together, world

SHARED = "rjohnson@outlook.com"  # the father's, given for his son's card too
SONS = "robert_johnson@gmail.com"
FATHER_CARD, SON_CARD, BOB_CARD = "604892407380", "604856028968", "604817552194"
SPRING = ("2024-03-20", "2024-11-30", "2025-02-25")
SUMMER = ("2024-04-21", "2025-01-14", "2025-06-26")
LATER = ("2025-08-01", "2025-10-26", "2026-06-26")


def orders(card: str, email: str, days: tuple[str, ...], tag: str) -> list[RecordData]:
    return [
        purchase(card=card, email=email, channel="online", tid=f"{tag}{n}", at=f"{day}T10:00:00Z")
        for n, day in enumerate(days)
    ]


FATHER = ("crm", "C3")
SON = ("crm", "C1")


@pytest.mark.parametrize(
    ("sons_orders", "fathers_orders", "rules", "merged"),
    [
        # Each card orders under its own address over the same months: two people.
        pytest.param((SONS, SPRING), (SHARED, SUMMER), Rules(), False, id="side-by-side"),
        pytest.param((SONS, SPRING), (SHARED, SUMMER),
                     Rules(near_duplicates=NearDuplicates(member_cards_apart=False)), True,
                     id="rule-off"),
        # Her old card and old address, then her new card and new one: one person.
        pytest.param((SONS, SPRING), (SHARED, LATER), Rules(), True, id="one-after-the-other"),
        # The card gives the shared address too: his.
        pytest.param((SHARED, SPRING), (SHARED, SUMMER), Rules(), True, id="one-address"),
        # The shared address mistyped at checkout is that address.
        pytest.param(("rjohnson@outlok.com", SPRING), (SHARED, SUMMER), Rules(), True,
                     id="a-typo-of-it"),
        # One card ordering online says nothing of the other.
        pytest.param((SONS, SPRING), None, Rules(), True, id="one-card-orders"),
        # A guest's address on a clerk's card (given once, naming someone else) is no
        # address of the holder's.
        pytest.param(("kwilson@yahoo.com", SPRING[:1]), (SHARED, SUMMER), Rules(), True,
                     id="a-guests-order"),
    ],
)  # fmt: skip
def test_cards_ordering_apart_keep_undated_namesakes_apart(
    sons_orders: tuple[str, tuple[str, ...]] | None,
    fathers_orders: tuple[str, tuple[str, ...]] | None,
    rules: Rules,
    merged: bool,
) -> None:
    # Given a father's contact (born 1982) and one of a close name with no birth date, on
    # the father's e-mail, each with a card, and the cards' online orders
    father = crm("C3", first="Robert", last="Johnson", birth="1982-12-16", emails=[SHARED],
                 card=FATHER_CARD)  # fmt: skip
    son = crm("C1", first="Roebrt", last="Johnson", birth=None, emails=[SHARED], card=SON_CARD)
    lines = [father, son]
    if sons_orders:
        lines += orders(SON_CARD, *sons_orders, tag="S")
    if fathers_orders:
        lines += orders(FATHER_CARD, *fathers_orders, tag="F")
    # When resolved
    result = resolve(world(*lines), rules)
    # Then they are one member exactly when the cards do not order apart
    assert together(result, FATHER, SON) is merged
    refused = [c for c in result.conflicts if c.kind == "cards_apart"]
    assert bool(refused) is not merged


def test_a_dated_duplicate_is_formed_before_an_undated_contact_joins() -> None:
    # Given the father entered twice (Robert and Bob, one birth date, Bob's card never
    # ordering online) and his son's contact with no date, all on the father's e-mail; the
    # son's key sorts first, so his pair with Bob would be tried first in key order
    father = crm("C3", first="Robert", last="Johnson", birth="1982-12-16", emails=[SHARED],
                 card=FATHER_CARD)  # fmt: skip
    bob = crm("C2", first="Bob", last="Johnson", birth="1982-12-16", emails=[SHARED], card=BOB_CARD)
    son = crm("C1", first="Roebrt", last="Johnson", birth=None, emails=[SHARED], card=SON_CARD)
    lines = [father, bob, son, *orders(SON_CARD, SONS, SPRING, "S")]
    lines += orders(FATHER_CARD, SHARED, SUMMER, "F")
    # When resolved
    result = resolve(world(*lines))
    # Then the father's two contacts are one member, and the son is in another
    assert together(result, FATHER, ("crm", "C2"))
    assert not together(result, SON, FATHER)
    assert not together(result, SON, ("crm", "C2"))

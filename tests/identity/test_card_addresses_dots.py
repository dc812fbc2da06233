"""A father and his son of one name, on the father's e-mail, each card ordering online under
its own spelling of the name at a provider that keeps dots (``james.johnson@yahoo.com``, the
father's; ``jamesjohnson@yahoo.com``, the son's): two mailboxes, not one mistyped, so the
cards order apart (``card_addresses_keep_dots``; issue 19, a member holding two people's CRM
contacts)."""

from __future__ import annotations

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, world
from tests.identity.test_cards_apart import orders, together

FATHERS = "james.johnson@yahoo.com"  # given for his son's contact too
FATHER_CARD, SON_CARD = "604810809486", "604873772192"
SONS_DAYS = ("2024-08-13", "2025-11-02", "2026-05-22")
FATHERS_DAYS = ("2025-10-07", "2026-01-21", "2026-09-25")
FATHER, SON = ("crm", "C4925"), ("crm", "C6253")


@pytest.mark.parametrize(
    ("sons_address", "rules", "merged"),
    [
        # Only a dot sets the two addresses apart, at a provider that keeps dots: two.
        pytest.param("jamesjohnson@yahoo.com", Rules(), False, id="dot-left-out"),
        pytest.param("james_johnson@yahoo.com", Rules(), False, id="underscore-for-dot"),
        pytest.param("jamesjohnson@yahoo.com", Rules(card_addresses_keep_dots=False), True,
                     id="rule-off"),
        # A letter slipped is the father's address mistyped: one address.
        pytest.param("james.jonhson@yahoo.com", Rules(), True, id="letters-swapped"),
        # At Gmail the dots are one mailbox: one address.
        pytest.param("jamesjohnson@gmail.com", Rules(), True, id="gmail-dots"),
    ],
)  # fmt: skip
def test_addresses_apart_by_a_dot_are_two_mailboxes(
    sons_address: str, rules: Rules, merged: bool
) -> None:
    # Given the son's contact (born 1999) and his father's with no birth date, close names
    # on the father's e-mail, each with a card ordering online over the same months
    fathers = FATHERS.replace("yahoo", "gmail") if "gmail" in sons_address else FATHERS
    father = crm("C4925", first="Jim", last="Johnson", birth=None, emails=[fathers],
                 card=FATHER_CARD)  # fmt: skip
    son = crm("C6253", first="Jimmy", last="Johnson", birth="1999-11-06", emails=[fathers],
              card=SON_CARD)  # fmt: skip
    lines = [father, son, *orders(SON_CARD, sons_address, SONS_DAYS, "S")]
    lines += orders(FATHER_CARD, fathers, FATHERS_DAYS, "F")
    # When resolved
    result = resolve(world(*lines), rules)
    # Then they are one member exactly when the two addresses are one mailbox
    assert together(result, FATHER, SON) is merged
    refused = [c for c in result.conflicts if c.kind == "cards_apart"]
    assert bool(refused) is not merged

"""Short forms found on one person's contacts in the independent sets (issue 19, ident25a):
Sandra for Alexandra, Alex for Alejandro, Alex and Xander (both Alexander's) for each other.
Listed in ``[near_duplicates] nicknames``, they are close first names."""

from __future__ import annotations

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, world

EMAIL = "mapleleaf5161@comcast.net"


@pytest.mark.parametrize(
    ("one", "other", "merged"),
    [
        pytest.param("Alexandra", "Sandra", True, id="sandra-for-alexandra"),
        pytest.param("Alejandro", "Alex", True, id="alex-for-alejandro"),
        pytest.param("Xander", "Alex", True, id="two-forms-of-alexander"),
        # Names of their own: another person on the family's address.
        pytest.param("Sandra", "Alexis", False, id="sandra-and-alexis"),
        pytest.param("Alejandro", "Alejandra", False, id="a-man-and-a-woman"),
    ],
)
def test_a_listed_short_form_on_a_shared_email(one: str, other: str, merged: bool) -> None:
    # Given two contacts of one family name on one e-mail, each with a card of its own, a
    # birth date left out on the second
    first = crm("C0000001", first=one, last="Moore", birth="1997-09-04", emails=[EMAIL],
                card="LD61000001")  # fmt: skip
    second = crm("C0000002", first=other, last="Moore", birth=None, emails=[EMAIL],
                 card="LD61000002")  # fmt: skip
    # When resolved
    result = resolve(world(first, second), Rules())
    # Then they are one member exactly when one name is a listed form of the other
    assert any(first.ref in c and second.ref in c for c in result.components) is merged

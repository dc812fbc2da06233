"""Two contacts of close names on a family's address, a birth date left out: a father and
his son (``Rules.familys_address_undated_apart``), unless what they share says one person."""

from __future__ import annotations

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, together, world

HOME = {"line1": "12 Elm St", "city": "Columbus", "postal_code": "43215", "country": "US"}
FAMILY = "thejohnsons12@yahoo.com"
FATHER = ("crm", "C-CHRIS")
OTHER = ("crm", "C-2")


@pytest.mark.parametrize(
    ("second", "email", "joined"),
    [
        # Chris Johnson (1945) and his son Christopher, undated, on the family's address
        pytest.param({"first": "Christopher"}, FAMILY, False, id="father-and-son"),
        pytest.param({"first": "Christopher"}, "johnsonfamily@mail.org", False, id="x-family"),
        # one first name written alike: one person entered twice, as before
        pytest.param({"first": "Chris"}, FAMILY, True, id="first-names-alike"),
        # a phone they share says one person
        pytest.param({"first": "Christopher", "phones": ["6145550101"]}, FAMILY, True, id="phone"),
        # both dated, the same day: one person
        pytest.param({"first": "Christopher", "birth": "1945-03-02"}, FAMILY, True, id="dated"),
        # an address of his own (no family's): the rule does not read it
        pytest.param({"first": "Christopher"}, "cjohnson@mail.org", True, id="his-own-address"),
    ],
)
def test_a_familys_address_undated_keeps_a_father_and_son_apart(
    second: dict[str, object], email: str, joined: bool
) -> None:
    father = crm("C-CHRIS", "Chris", "Johnson", "1945-03-02", [email], ["6145550101"], address=HOME)
    fields: dict[str, object] = {"birth": None, "address": HOME, **second}
    phones = fields.pop("phones", None)
    son = crm("C-2", last="Johnson", emails=[email], phones=phones, **fields)  # type: ignore[arg-type]
    result = resolve(world(father, son))
    assert together(result, FATHER, OTHER) is joined


def test_the_rule_off_reads_them_as_near_duplicates() -> None:
    father = crm("C-CHRIS", "Chris", "Johnson", "1945-03-02", [FAMILY], address=HOME)
    son = crm("C-2", "Christopher", "Johnson", None, [FAMILY], address=HOME)
    off = Rules(familys_address_undated_apart=False)
    assert together(resolve(world(father, son), off), FATHER, OTHER)
    assert not together(resolve(world(father, son)), FATHER, OTHER)

"""Two contacts of one name on her own e-mail, a birth date left out, each with a phone of
its own: one person, unless a family's address, two logins or another address of hers says
two (``reenrolments.one_name_on_her_email``, off by default since a fresh set's father and
son; ``a_name_typed_on_her_email``, on: a name a typing slip from the other's; issue 19:
her CRM duplicates sharing an e-mail left apart)."""

from __future__ import annotations

from typing import Any

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.her_email import a_familys_address
from membergraph.identity.phone_duplicates import ReenrolmentRules
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from tests.identity.builders import crm, purchase, together, visitor, world

HOME = {"line1": "1792 River Ct", "city": "Springfield", "postal_code": "62150", "country": "US"}
HERS = "juan_watson@icloud.com"
ON = Rules(reenrolments=ReenrolmentRules(one_name_on_her_email=True))  # off by default (s281)
OFF = Rules()
TYPED_OFF = Rules(reenrolments=ReenrolmentRules(a_name_typed_on_her_email=False))


def login(n: int, contact: str) -> RecordData:
    return visitor(f"anon-{n}", logins=(contact,))


# The first contact: Juan Watson, born 1966-06-02, her address, a mobile, a card.
# The second: Juan Watson, no birth date, the same address at the same home, another
# phone, a card of its own.
@pytest.mark.parametrize(
    ("second", "others", "rules", "merged"),
    [
        # Enrolled again: the address kept, the phone she has now.
        pytest.param({}, [], ON, True, id="her-address-a-new-phone"),
        pytest.param({}, [], OFF, False, id="off-by-default"),
        pytest.param({"birth": None, "first_birth": None}, [], ON, True,
                     id="both-undated"),
        # A family's address: the household's, a father and son of one name.
        pytest.param({"emails": ["thewatsons12@yahoo.com"],
                      "first_emails": ["thewatsons12@yahoo.com"]}, [], ON, False,
                     id="a-familys-address"),
        # Each logs in to the web: two accounts, two people.
        pytest.param({}, [login(1, "C0000001"), login(2, "C0000002")], ON, False,
                     id="each-logged-in"),
        pytest.param({"birth": None, "first_birth": None},
                     [login(1, "C0000001"), login(2, "C0000002")], ON, False,
                     id="both-undated-each-logged-in"),
        pytest.param({}, [login(1, "C0000002")], ON, True, id="one-logged-in"),
        # His card's purchases give an address neither contact holds: the son's own.
        pytest.param({}, [purchase(card="LD61000002", email="juanito.w@gmail.com")], ON,
                     False, id="another-address-with-his-card"),
        pytest.param({}, [purchase(card="LD61000002", email=HERS)], ON, True,
                     id="her-address-with-her-card"),
        # A letter of the family name typed: her too, with no address of its own besides.
        pytest.param({"last": "Wattson"}, [], Rules(), True, id="a-family-name-typed"),
        pytest.param({"last": "Wattson"}, [], TYPED_OFF, False, id="a-family-name-typed-off"),
        pytest.param({"last": "Wattson", "first_emails": [HERS, "jwatson@work.org"]}, [],
                     Rules(), False, id="a-family-name-typed-his-own-address-besides"),
        pytest.param({"last": "Watson", "first_emails": [HERS, "jwatson@work.org"]}, [],
                     ON, True, id="one-name-her-own-address-besides"),
        # The guards of one name hold for a name typed, the rule on one name off.
        pytest.param({"last": "Wattson"}, [login(1, "C0000001"), login(2, "C0000002")],
                     Rules(), False, id="a-family-name-typed-each-logged-in"),
        pytest.param({"last": "Wattson"},
                     [purchase(card="LD61000002", email="juanito.w@gmail.com")], Rules(),
                     False, id="a-family-name-typed-another-address-with-his-card"),
        # Both names written differently: not this rule's.
        pytest.param({"first": "Juanito", "last": "Wattson"}, [], Rules(), False,
                     id="both-names-written-differently"),
        # An e-mail of its own on each, each naming its contact: namesakes, as before.
        pytest.param({"emails": [HERS, "jwatson@gmail.com"], "first_emails": [HERS, "juan.w66@aol.com"]},
                     [], ON, False, id="own-emails-each-named"),
        # Both birth dates given and different: two people.
        pytest.param({"birth": "2001-03-04"}, [], ON, False, id="two-birth-dates"),
    ],
)  # fmt: skip
def test_one_name_on_her_email(
    second: dict[str, Any], others: list[RecordData], rules: Rules, merged: bool
) -> None:
    # Given her two contacts on one address at one home, each with a phone of its own
    fields = {"birth": None, "emails": [HERS], "last": "Watson", **second}
    first_birth = fields.pop("first_birth", "1966-06-02")
    first_emails = fields.pop("first_emails", [HERS])
    first = crm("C0000001", first="Juan", last="Watson", birth=first_birth, emails=first_emails,
                phones=["7169516148"], card="LD61000001", address=HOME)  # fmt: skip
    fields.setdefault("first", "Juan")
    other = crm("C0000002", phones=["7163522516"], card="LD61000002", address=HOME,
                **fields)  # fmt: skip
    # When resolved
    result = resolve(world(first, other, *others), rules)
    # Then they are one member exactly when nothing tells two people
    assert together(result, first.ref, other.ref) is merged


@pytest.mark.parametrize(
    ("email", "family", "familys"),
    [
        ("thejohnsons12@yahoo.com", "Johnson", True),
        ("the.garcia.family@gmail.com", "García", True),
        ("johnsonfamily@aol.com", "Johnson", True),
        ("thehernandezs69@yahoo.com", "Hernández González", True),
        ("theobriens@gmail.com", "O'Brien", True),
        ("johnsonr@icloud.com", "Johnson", False),
        ("theodore.smith@icloud.com", "Smith", False),
        ("juan_watson@icloud.com", "Watson", False),
    ],
)
def test_a_familys_address(email: str, family: str, familys: bool) -> None:
    assert a_familys_address(email, family) is familys

"""Two contacts of one name on her own e-mail, a birth date left out, each with a phone of
its own: one person, unless a family's address, two logins or another address of hers says
two (``reenrolments.one_name_on_her_email``, off by default since a fresh set's father and
son; ``a_name_typed_on_her_email``, on: a name a typing slip from the other's; issue 19:
her CRM duplicates sharing an e-mail left apart)."""

from __future__ import annotations

from typing import Any

import pytest

from membergraph.connectors.models import CrmContact, SourceName
from membergraph.identity.engine import resolve
from membergraph.identity.her_email import a_familys_address
from membergraph.identity.line_records import record_of_line
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


def written(key: str, at: str | None, **fields: Any) -> RecordData:
    line = CrmContact.model_validate(
        {"contact_id": key, "first_name": "Juan", "last_name": "Watson", "address": HOME,
         "emails": [HERS], "updated_at": at, **fields}
    )  # fmt: skip
    record = record_of_line(SourceName.CRM, line)
    assert record is not None
    return record


def used(card: str, *days: str) -> list[RecordData]:
    return [purchase(card=card, tid=f"{card}-{day}", at=f"{day}T12:00:00Z") for day in days]


# The reading below with ``handed_over_to_the_undated`` on: her second contact undated, as a
# son's would be (off by default: the cases at the end).
TO_UNDATED = ReenrolmentRules(handed_over_to_the_undated=True)
ON = Rules(reenrolments=TO_UNDATED)
HANDED_OFF = Rules(reenrolments=TO_UNDATED.model_copy(update={"one_name_handed_over": False}))
ANY_DAY_BEFORE = Rules(reenrolments=TO_UNDATED.model_copy(update={"handed_over_least_days": 0}))


# Her first contact, born 1966, written in 2019, its card used in the first half of 2024;
# her second, undated, written in 2025 with a phone and a card of its own, the card used in
# 2025-26: one person when the first fell silent before the second began
# (``reenrolments.one_name_handed_over``), as a customer who forgot her account.
@pytest.mark.parametrize(
    ("first", "second", "first_days", "others", "rules", "merged"),
    [
        pytest.param({}, {}, ("2024-01-10", "2024-06-30"), [], ON, True,
                     id="her-old-contact-fell-silent"),
        pytest.param({}, {}, (), [], ON, True, id="her-old-card-never-used"),
        pytest.param({}, {}, ("2024-01-10", "2024-06-30"), [], HANDED_OFF, False,
                     id="rule-off"),
        # A father and his son of one name keep both cards going side by side.
        pytest.param({}, {}, ("2024-01-10", "2025-06-30"), [], ON, False,
                     id="first-card-used-on"),
        pytest.param({}, {"updated_at": "2024-03-01T09:00:00Z"}, ("2024-01-10", "2024-06-30"),
                     [], ON, False, id="second-written-while-first-used"),
        pytest.param({}, {"updated_at": None}, ("2024-01-10", "2024-06-30"), [], ON,
                     False, id="a-line-telling-no-time"),
        # The dated one a boy of 15 when his contact was written: his father's is no old
        # contact of his (handover_least_age).
        pytest.param({"birth_date": "2009-03-01"}, {}, ("2024-01-10", "2024-06-30"), [],
                     ON, False, id="written-while-a-child"),
        # The guards of one name still hold.
        pytest.param({"emails": ["thewatsons12@yahoo.com"]},
                     {"emails": ["thewatsons12@yahoo.com"]}, ("2024-01-10", "2024-06-30"),
                     [], ON, False, id="a-familys-address"),
        pytest.param({}, {}, ("2024-01-10", "2024-06-30"),
                     [login(1, "C0000001"), login(2, "C0000002")], ON, False,
                     id="each-logged-in"),
        pytest.param({}, {}, ("2024-01-10", "2024-06-30"),
                     [purchase(card="LD61000002", tid="T9", email="juanito.w@gmail.com",
                                 at="2025-04-01T12:00:00Z")], ON, False,
                     id="another-address-with-his-card"),
        # Both birth dates given and different: two people.
        pytest.param({}, {"birth_date": "2001-03-04"}, ("2024-01-10", "2024-06-30"), [],
                     ON, False, id="two-birth-dates"),
        # Her old card used three days before the second contact: a father's card, his son
        # enrolling on his address (s301's Richard Roberts), no account forgotten
        # (handed_over_least_days, 14); two weeks and more apart, her old one.
        pytest.param({}, {}, ("2024-01-10", "2025-01-29"), [], ON, False,
                     id="used-three-days-before"),
        pytest.param({}, {}, ("2024-01-10", "2025-01-18"), [], ON, True,
                     id="used-fourteen-days-before"),
        pytest.param({}, {}, ("2024-01-10", "2025-01-29"), [], ANY_DAY_BEFORE, True,
                     id="used-three-days-before-any-day-taken"),
        # By default not to an undated contact from a dated one: a namesake son enrolling
        # undated on his father's address once the father's card fell silent (gen32); her
        # second contact giving the birth date her first left out is hers.
        pytest.param({}, {}, ("2024-01-10", "2024-06-30"), [], Rules(), False,
                     id="to-the-undated-by-default"),
        pytest.param({"birth_date": None}, {"birth_date": "1966-06-02"},
                     ("2024-01-10", "2024-06-30"), [], Rules(), True,
                     id="to-the-dated-by-default"),
    ],
)  # fmt: skip
def test_one_name_handed_over(
    first: dict[str, Any],
    second: dict[str, Any],
    first_days: tuple[str, ...],
    others: list[RecordData],
    rules: Rules,
    merged: bool,
) -> None:
    # Given her two contacts of one name on her address, each with a phone and a card
    old = written("C0000001", "2019-05-01T10:00:00Z", **{"birth_date": "1966-06-02",
                  "phones": ["7169516148"], "loyalty_id": "LD61000001", **first})  # fmt: skip
    fields = {"updated_at": "2025-02-01T10:00:00Z", **second}
    new = written("C0000002", fields.pop("updated_at"), **{"phones": ["7163522516"],
                  "loyalty_id": "LD61000002", **fields})  # fmt: skip
    cards = used("LD61000001", *first_days) + used("LD61000002", "2025-02-03", "2026-03-01")
    # When resolved
    result = resolve(world(old, new, *cards, *others), rules)
    # Then they are one member exactly when the first fell silent before the second began
    assert together(result, old.ref, new.ref) is merged


CLOSE_OFF = Rules(reenrolments=TO_UNDATED.model_copy(update={"close_names_handed_over": False}))
THEIRS = "twatson66@icloud.com"


# The same with her first name written two ways (Thomas, then Tom): one person only when
# her old card was seen in use and fell silent (``reenrolments.close_names_handed_over``);
# a card never used shows no handover, only an absence (a father's unused card beside his
# son's contact on his address).
@pytest.mark.parametrize(
    ("second_first", "first_days", "rules", "merged"),
    [
        pytest.param("Tom", ("2024-01-10", "2024-06-30"), ON, True,
                     id="a-short-form-her-old-card-fell-silent"),
        pytest.param("Tom", (), ON, False, id="a-short-form-her-old-card-never-used"),
        pytest.param("Tom", ("2024-01-10", "2025-06-30"), ON, False,
                     id="a-short-form-first-card-used-on"),
        pytest.param("Tom", ("2024-01-10", "2024-06-30"), CLOSE_OFF, False,
                     id="a-short-form-rule-off"),
        pytest.param("Thomas", (), ON, True, id="one-name-her-old-card-never-used"),
        # A typing of her first name: hers too.
        pytest.param("Tomas", ("2024-01-10", "2024-06-30"), ON, True,
                     id="a-typing-of-her-name"),
        # By default not to the undated Tom from the dated Thomas (a namesake son's short
        # form: handed_over_to_the_undated)
        pytest.param("Tom", ("2024-01-10", "2024-06-30"), Rules(), False,
                     id="a-short-form-to-the-undated-by-default"),
    ],
)  # fmt: skip
def test_close_names_handed_over(
    second_first: str, first_days: tuple[str, ...], rules: Rules, merged: bool
) -> None:
    # Given her contacts as Thomas Watson (born 1966) and Tom Watson (undated), each with
    # a phone and a card of its own, on her address
    old = written("C0000001", "2019-05-01T10:00:00Z", first_name="Thomas",
                  birth_date="1966-06-02", phones=["7169516148"], loyalty_id="LD61000001",
                  emails=[THEIRS])  # fmt: skip
    new = written("C0000002", "2025-02-01T10:00:00Z", first_name=second_first,
                  phones=["7163522516"], loyalty_id="LD61000002", emails=[THEIRS])  # fmt: skip
    cards = used("LD61000001", *first_days) + used("LD61000002", "2025-02-03", "2026-03-01")
    # When resolved
    result = resolve(world(old, new, *cards), rules)
    # Then they are one member exactly when her old card was seen falling silent
    assert together(result, old.ref, new.ref) is merged

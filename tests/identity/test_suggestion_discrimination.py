"""Match suggestions on retail data: what tells one person's two contacts from a household's,
a father and son's, or strangers sharing a family's e-mail. Table-driven."""

from __future__ import annotations

from typing import Any

import pytest

from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from membergraph.identity.suggestions import population_of, score_pair, suggest
from tests.identity.builders import ADDRESS, crm, world

RULES = Rules()


def _levels(a: RecordData, b: RecordData, *others: RecordData) -> dict[str, str]:
    contacts = [a, b, *others]
    population = population_of(contacts, RULES.suggestions, RULES.near_duplicates)
    scored = score_pair(a, b, RULES.suggestions, RULES.near_duplicates, population)
    return {e.field: e.level for e in scored.evidence}


def _home(n: int) -> dict[str, str]:
    return {**ADDRESS, "line1": f"{n} Ash St"}


@pytest.mark.parametrize(
    ("births", "households"),
    [
        # Retail contacts mostly leave the birth date out: a couple at one address is still
        # plainly two people by their first names.
        pytest.param((None, None), True, id="births-left-out"),
        pytest.param(("1971-04-04", None), True, id="one-birth-left-out"),
        pytest.param(("1971-04-04", "1961-08-08"), True, id="births-differ"),
        # One person entered twice with a first name replaced (FEBRL) shares the birth date.
        pytest.param(("1971-04-04", "1971-04-04"), False, id="one-birth"),
    ],
)
def test_couples_at_one_address_are_households_whether_or_not_births_are_given(
    births: tuple[str | None, str | None], households: bool
) -> None:
    # Given four addresses, each with two contacts of one family name and two first names
    contacts = [
        crm(f"H{n}{who}", first=first, last=last, birth=birth, address=_home(n))
        for n, last in enumerate(("Cole", "Diaz", "Okoro", "Park"), start=1)
        for who, first, birth in (("a", "Ann", births[0]), ("b", "Bob", births[1]))
    ]
    # Then the data's addresses hold households (or one person each, twice)
    population = population_of(contacts, RULES.suggestions, RULES.near_duplicates)
    assert population.households is households


FAMILY = "thejacksons@x.org"


@pytest.mark.parametrize(
    ("carriers", "level"),
    [
        pytest.param(2, "shared", id="on-two"),
        pytest.param(3, "shared", id="on-three-first-names"),
        pytest.param(4, "crowded", id="on-four-first-names"),
    ],
)
def test_an_email_on_many_first_names_weighs_as_a_familys(carriers: int, level: str) -> None:
    # Given a family e-mail given on the contacts of several first names
    firsts = ["Ann", "Bob", "Cal", "Dee", "Eve"][:carriers]
    family = [
        crm(f"F{n}", first=first, birth=None, emails=[FAMILY], address=_home(n))
        for n, first in enumerate(firsts)
    ]
    # When two of them are compared
    levels = _levels(*family)
    # Then sharing it is evidence of one person only while few people carry it
    assert levels["email"] == level
    weight = RULES.suggestions.weights["email"][level]
    assert (weight == 0.0) is (level == "crowded")


def test_an_email_many_people_carry_is_no_ones_own() -> None:
    # Given a store's e-mail typed by clerks on the contacts of four first names, and Ann's
    # duplicate with that store e-mail on one and her own e-mail on the other
    store = "store006@shop.example.org"
    clerks = [
        crm(f"S{n}", first=first, birth=None, emails=[store], address=_home(10 + n))
        for n, first in enumerate(["Bob", "Cal", "Dee", "Eve"])
    ]
    ann = crm("A1", first="Ann", birth=None, emails=["ann@x.org"], address=_home(1))
    again = crm("A2", first="Ann", birth=None, emails=[store], address=_home(1))
    # Then the store's e-mail says nothing of another person: no e-mail evidence either way
    assert "email" not in _levels(ann, again, *clerks)


@pytest.mark.parametrize(
    ("a", "b", "first", "last"),
    [
        # A form swapped Steven Jackson's names; David Jackson is another of the family.
        pytest.param(("Jackson", "Steven"), ("David", "Jackson"), "differs", "exact", id="kin"),
        pytest.param(
            ("Jackson", "David"), ("David", "Jackson"), "exact", "exact", id="one-swapped"
        ),
        # Whose names were swapped is not known: the better agreement is the family name's.
        pytest.param(("Jacksn", "David"), ("David", "Jackson"), "close", "exact", id="swap-typo"),
        pytest.param((None, "Williams"), ("Williams", "Margaret"), "missing", "exact", id="other"),
    ],
)
def test_swapped_names_are_weighed_field_by_field_as_the_other_contact_names_them(
    a: tuple[str | None, str], b: tuple[str, str], first: str, last: str
) -> None:
    # Given a contact whose first and last names were typed in each other's fields
    x = crm("C1", first=a[0], last=a[1], birth=None, address=_home(1))
    y = crm("C2", first=b[0], last=b[1], birth=None, address=_home(2))
    # Then the first names are compared as first names, the family names as family names
    levels = _levels(x, y)
    assert (levels["first_name"], levels["last_name"]) == (first, last)


@pytest.mark.parametrize(
    ("b", "said"),
    [
        # The demo's pair C0000723/C0000724: one family name, typed as the first name.
        pytest.param(
            ("Sullivan", "Edwards"),
            {"first_name": ("Karen", "Edwards", True), "last_name": ("Sullivan", "Sullivan", True)},
            id="family-name-as-first-name",
        ),
        pytest.param(
            ("Sullivan", "Karen"),
            # (whose names were swapped is not known: each field shows what it compared)
            {"first_name": ("Sullivan", "Sullivan", True), "last_name": ("Karen", "Karen", True)},
            id="both-swapped",
        ),
        pytest.param(
            ("Karen", "Sulivan"),
            {"first_name": ("Karen", "Karen", False), "last_name": ("Sullivan", "Sulivan", False)},
            id="straight",
        ),
    ],
)
def test_swapped_names_evidence_shows_the_names_it_compared(
    b: tuple[str, str], said: dict[str, tuple[str, str, bool]]
) -> None:
    # Given Karen Sullivan and a contact with her names in the other's fields (or not)
    x = crm("C1", first="Karen", last="Sullivan", birth=None, address=_home(1))
    y = crm("C2", first=b[0], last=b[1], birth=None, address=_home(2))
    # Then each name's evidence shows the two names compared, and says when across
    scored = score_pair(x, y, RULES.suggestions, RULES.near_duplicates)
    shown = {e.field: (e.a, e.b, e.swapped) for e in scored.evidence if e.field in said}
    assert shown == said


@pytest.mark.parametrize(
    ("a", "b", "level"),
    [
        pytest.param("Johnson", "Johnson Jr.", "generation", id="junior-on-one"),
        pytest.param("Johnson Sr", "Johnson JR", "generation", id="senior-and-junior"),
        pytest.param("Johnson Jr.", "Johnson JR", "exact", id="junior-on-both"),
        pytest.param("Johnson", "Jonson", "close", id="a-slip"),
    ],
)
def test_a_generational_suffix_on_one_only_says_father_and_son(a: str, b: str, level: str) -> None:
    # Given two Michael Johnsons at one address, one of them written Jr.
    x = crm("C1", first="Michael", last=a, birth=None, address=_home(1))
    y = crm("C2", first="Michael", last=b, birth=None, address=_home(1))
    # Then a suffix on one only weighs as two people of one name
    levels = _levels(x, y)
    assert levels["last_name"] == level
    scored = score_pair(x, y, RULES.suggestions, RULES.near_duplicates)
    if level == "generation":
        assert scored.score < RULES.suggestions.min_score


PERRY = {"emails": ["jacob.perry930@proton.me"]}
ELSEWHERE = {**ADDRESS, "line1": "437 Cedar St", "postal_code": "73301"}


@pytest.mark.parametrize(
    ("shared", "together", "births", "offered"),
    [
        pytest.param(PERRY, False, ("1995-11-16", None), True, id="his-own-email"),
        pytest.param({"card": "LD20657674"}, True, ("1995-11-16", None), True, id="one-card"),
        pytest.param({"phones": ["+14155550100"]}, True, ("1995-11-16", None), False, id="line"),
        pytest.param({}, True, ("1995-11-16", None), False, id="nothing-shared"),
        # A father who gave his e-mail for his son: their birth dates say two generations.
        pytest.param(PERRY, False, ("1957-02-13", "1986-03-09"), False, id="births-apart"),
    ],
)
def test_a_suffix_on_one_only_is_a_forms_when_they_share_their_own_email_or_card(
    shared: dict[str, Any], together: bool, births: tuple[str, str | None], offered: bool
) -> None:
    # Given a contact of Jacob Perry and one of Jacob Perry Jr. (at his address, or elsewhere)
    there = _home(1) if together else ELSEWHERE
    x = crm("C1", first="Jacob", last="Perry", birth=births[0], address=_home(1), **shared)
    y = crm("C2", first="Jacob", last="Perry Jr.", birth=births[1], address=there, **shared)
    # Then an e-mail or a card of their own says one person whatever the suffix says (unless
    # their births say two): the pair is offered; a household's line is not enough
    scored = score_pair(x, y, RULES.suggestions, RULES.near_duplicates)
    assert (scored.score >= RULES.suggestions.min_score) is offered, scored
    assert (_levels(x, y)["last_name"] == "generation") is not offered


def _many(count: int) -> list[RecordData]:
    """``count`` people, each with her own e-mail, and a duplicate of every third with a
    new e-mail (a person gives another e-mail as often as not)."""
    out = []
    for n in range(count):
        first, last = f"Fn{n:04d}", f"Ln{n:04d}"
        home = {**ADDRESS, "line1": f"{n} Birch Rd", "postal_code": f"{10000 + n}"}
        out.append(crm(f"O{n}", first=first, last=last, birth=None, address=home,
                       emails=[f"o{n}@x.org"]))  # fmt: skip
        if n % 3 == 0:
            out.append(crm(f"D{n}", first=first, last=last, birth=None, address=home,
                           emails=[f"d{n}@x.org"]))  # fmt: skip
    return out


def test_how_often_one_persons_contacts_give_two_emails_is_estimated_from_the_data() -> None:
    # Given a store of 1,600 contacts whose duplicates each give another e-mail
    records = world(*_many(1200))
    # When the suggestions are scored with the default rules
    found = suggest(records, RULES.suggestions, RULES.near_duplicates)
    # Then every duplicate is offered, and an e-mail of each one's own weighs what this data
    # says (much less against than the table's), the table's weight shown beside it
    assert {(s.a[1], s.b[1]) for s in found} == {(f"D{n}", f"O{n}") for n in range(0, 1200, 3)}
    emails = [e for s in found for e in s.evidence if e.field == "email"]
    assert {e.level for e in emails} == {"differs"}
    table = RULES.suggestions.weights["email"]["differs"]
    assert all(e.rule_weight == table and e.weight > table for e in emails)

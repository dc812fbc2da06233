"""Match suggestions, table-driven: what weak evidence scores, and what never comes up."""

from __future__ import annotations

import math

import pytest

from membergraph.identity.comparisons import address_level
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.suggestion_weights import estimate
from membergraph.identity.suggestions import (
    FieldEvidence,
    Population,
    Suggestion,
    estimated_prior,
    population_of,
    score_pair,
    suggest,
)
from tests.identity.builders import ADDRESS, crm, world

HOME = {**ADDRESS, "line1": "9 Birch Rd"}
RULES = Rules()


def _score(a: RecordData, b: RecordData) -> float:
    return score_pair(a, b, RULES.suggestions, RULES.near_duplicates).score


@pytest.mark.parametrize(
    ("other", "suggested"),
    [
        pytest.param(crm("C2", first="Sophi", address=HOME), True, id="typo-same-birth-address"),
        pytest.param(
            crm("C2", first="Sophie", phones=["+14155550100"]), True, id="same-name-phone"
        ),
        pytest.param(crm("C2", first="Lee", last="Sophie", address=HOME), True, id="swapped"),
        pytest.param(crm("C2", first="Sophie", birth="1980-01-10"), True, id="birth-one-part-off"),
        pytest.param(crm("C2", first="Bob", birth="1975-05-05", address=HOME), False, id="spouse"),
        pytest.param(
            crm("C2", first="Tom", birth="2010-03-03", address=HOME, phones=["+14155550100"]),
            False,
            id="child-on-the-household-line",
        ),
        # Twins share everything but the first name: offered, for a steward to reject.
        pytest.param(
            crm("C2", first="Mark", address=HOME, phones=["+14155550100"]), True, id="twin"
        ),
        pytest.param(crm("C2", first="Sophie", last="Kim", birth="1990-02-02"), False, id="other"),
        # The street line agrees and the postcode does not: a slip at the keyboard.
        pytest.param(
            crm("C2", first="Sophi", birth="1975-05-05", address={**HOME, "postal_code": "62710"}),
            True,
            id="postcode-typed-wrong",
        ),
        pytest.param(
            crm("C2", first="Sophi", birth="1975-05-05", address={**HOME, "line1": "4 Elm St"}),
            False,
            id="typo-other-birth-other-street",
        ),
        pytest.param(
            crm(
                "C2",
                first="Sophi",
                birth="1975-05-05",
                address={**HOME, "line1": "546 Birch Rd", "postal_code": "73301"},
            ),
            False,
            id="same-street-name-elsewhere",
        ),
        # A contact without a first name may be anyone of the household: offered.
        pytest.param(
            crm("C2", first=None, birth="1975-05-05", address=HOME), True, id="first-name-missing"
        ),
    ],
)
def test_weak_evidence_becomes_a_suggestion_not_a_merge(other: RecordData, suggested: bool) -> None:
    # Given Sophie's contact and another that shares no card or e-mail with it
    sophie = crm("C1", first="Sophie", address=HOME, phones=["+14155550100"])
    found = suggest(world(sophie, other), RULES.suggestions, RULES.near_duplicates)
    # Then it is suggested exactly when the evidence weighs enough, with every field said
    assert bool(found) is suggested, _score(sophie, other)
    if found:
        fields = {e.field for e in found[0].evidence}
        assert {"first_name", "last_name", "birth_date", "address"} <= fields


def test_a_pair_kept_apart_is_never_suggested() -> None:
    a, b = crm("C1", first="Sophie", address=HOME), crm("C2", first="Sophi", address=HOME)
    rules = RULES.suggestions
    assert suggest(world(a, b), rules, RULES.near_duplicates)
    assert not suggest(world(a, b), rules, RULES.near_duplicates, apart=[(b.ref, a.ref)])


def test_suggestions_come_best_first_and_respect_the_threshold() -> None:
    records = world(
        crm("C1", first="Sophie", address=HOME, phones=["+14155550100"]),
        crm("C2", first="Sophie", address=HOME, phones=["+14155550100"]),
        crm("C3", first="Sophi", birth="1980-01-10"),
    )
    found = suggest(records, RULES.suggestions, RULES.near_duplicates)
    assert [s.score for s in found] == sorted((s.score for s in found), reverse=True)
    strict = RULES.suggestions.model_copy(update={"min_score": 0.999999})
    assert len(suggest(records, strict, RULES.near_duplicates)) < len(found)


# Four couples, each at their own address: contacts at one address are households here.
COUPLES = [
    crm(
        f"H{n}{who}",
        first=first,
        last=last,
        birth=birth,
        address={**ADDRESS, "line1": f"{n} Ash St"},
    )
    for n, last in enumerate(("Cole", "Diaz", "Okoro", "Park"), start=1)
    for who, first, birth in (("a", "Ann", f"197{n}-04-04"), ("b", "Bob", f"196{n}-08-08"))
]
LINE = "+14155550100"


@pytest.mark.parametrize(
    ("other", "suggested"),
    [
        pytest.param(
            crm(
                "C2",
                first="Mark",
                address=HOME,
                phones=[LINE, "+14155550177"],
                emails=["mark@x.org"],
            ),
            False,
            id="twin-with-own-email-and-mobile",
        ),
        pytest.param(crm("C2", first="Mark", address=HOME, phones=[LINE]), False, id="twin-alone"),
        pytest.param(
            crm("C2", first="Sophi", address=HOME, phones=[LINE]), True, id="typo-on-the-line"
        ),
        pytest.param(
            crm("C2", first="Sophie", address=HOME, emails=["sophie@x.org"]),
            True,
            id="same-person-email-on-one-only",
        ),
    ],
)
def test_where_addresses_hold_households_twins_are_not_suggested(
    other: RecordData, suggested: bool
) -> None:
    # Given a data set whose addresses hold households (couples), and Sophie at home
    sophie = crm("C1", first="Sophie", address=HOME, phones=[LINE, "+14155550166"],
                 emails=["sophie@x.org"])  # fmt: skip
    records = world(*COUPLES, sophie, other)
    population = population_of(list(records.values()), RULES.suggestions, RULES.near_duplicates)
    assert population.households
    # Then a family name and a birth date agreed at home weigh little, each one's own
    # e-mail and mobile say two people, and only one person entered twice is offered
    found = suggest(records, RULES.suggestions, RULES.near_duplicates)
    pair = {s.b for s in found if s.a == sophie.ref} | {s.a for s in found if s.b == sophie.ref}
    assert (other.ref in pair) is suggested, [(s.a, s.b, s.score) for s in found]


def test_where_one_address_holds_one_person_entered_twice_there_are_no_households() -> None:
    # Given FEBRL-like data: a person's duplicates share the address (a name replaced on one)
    records = world(
        crm("D1", first="James", address=HOME),
        crm("D2", first="Isabella", address=HOME),
        crm("D3", first="Jamie", address=HOME),
    )
    population = population_of(list(records.values()), RULES.suggestions, RULES.near_duplicates)
    # Then agreement at one address keeps its full weight, and the pair is offered
    assert not population.households
    assert {
        (s.a[1], s.b[1]) for s in suggest(records, RULES.suggestions, RULES.near_duplicates)
    } >= {("D1", "D2")}


@pytest.mark.parametrize(
    ("values", "level"),
    [
        pytest.param({"emails": ["ann@x.org"]}, "shared", id="one-email"),
        pytest.param({"emails": ["na@na.com"]}, None, id="placeholder-email-says-nothing"),
        pytest.param({"phones": ["0000000000"]}, None, id="placeholder-phone-says-nothing"),
    ],
)
def test_placeholders_are_no_evidence_either_way(
    values: dict[str, list[str]], level: str | None
) -> None:
    # Given two strangers' contacts carrying the same value
    a = crm("C1", first="Ann", birth="1970-01-01", **values)  # type: ignore[arg-type]
    b = crm("C2", first="Eve", last="Roe", birth="1990-09-09", **values)  # type: ignore[arg-type]
    population = Population(junk=RULES.is_junk)
    scored = score_pair(a, b, RULES.suggestions, RULES.near_duplicates, population)
    levels = {e.field: e.level for e in scored.evidence}
    # Then a real value is shared evidence, a placeholder none
    assert levels.get("email", levels.get("phone")) == level


@pytest.mark.parametrize(
    ("contacts", "prior"),
    [
        pytest.param(2, -14.0, id="a-small-store-keeps-the-rules-prior"),
        pytest.param(5000, -14.0, id="as-many-as-the-prior-is-for"),
        pytest.param(20000, -16.0, id="four-times-as-many-two-bits-less"),
    ],
)
def test_the_prior_falls_as_the_contacts_grow(contacts: int, prior: float) -> None:
    # Given a store of so many contacts (a person's duplicates are a few whatever the count)
    records = [RecordData("crm", f"C{n}", "profile") for n in range(contacts)]
    # Then the odds that two picked at random are one person fall with the pairs
    population = population_of(records, RULES.suggestions, RULES.near_duplicates)
    assert population.prior == pytest.approx(prior)


@pytest.mark.parametrize(
    ("line", "postcode", "level"),
    [
        pytest.param("9 Birch Rd", "62701", "exact", id="same"),
        pytest.param("Birch Rd", "62710", "street", id="number-left-out-postcode-digits-swapped"),
        pytest.param("Birch Rd", "62708", "street", id="number-left-out-postcode-one-digit-off"),
        pytest.param("Birch Rd", "73301", "differs", id="number-left-out-postcode-elsewhere"),
        pytest.param("19 Birch Rd", "62710", "street", id="number-slip-postcode-swapped"),
        pytest.param("546 Birch Rd", "73301", "differs", id="same-street-name-elsewhere"),
    ],
)
def test_an_address_typed_twice_compares_by_its_line_and_postcode(
    line: str, postcode: str, level: str
) -> None:
    # Given Sophie at home, and a contact whose address is written so
    a = crm("C1", address=HOME)
    b = crm("C2", address={**HOME, "line1": line, "postal_code": postcode})
    # Then the address agrees at this level
    assert address_level(a, b) == level


def _population(*surnames: str) -> Population:
    records = [crm(f"C{n}", first=f"F{n}", last=last) for n, last in enumerate(surnames)]
    return population_of(records, RULES.suggestions, RULES.near_duplicates)


@pytest.mark.parametrize(
    ("surname", "more"),
    [
        pytest.param("Rare", True, id="a-rare-family-name-says-more"),
        pytest.param("Smith", False, id="a-common-one-says-less"),
    ],
)
def test_an_exact_family_name_weighs_by_how_rare_it_is(surname: str, more: bool) -> None:
    # Given a population where Smith is half the contacts and Rare two of them
    population = _population(*["Smith"] * 50, *[f"Name{n}" for n in range(46)], "Rare", "Rare")
    a = crm("X1", first="Ann", last=surname, birth="1990-01-01")
    b = crm("X2", first="Eve", last=surname, birth="1970-07-07")
    # When two contacts agree on it exactly
    scored = score_pair(a, b, RULES.suggestions, RULES.near_duplicates, population)
    [weight] = [e.weight for e in scored.evidence if e.field == "last_name"]
    table = RULES.suggestions.weights["last_name"]["exact"]
    # Then it weighs more than the table's when rare, less when common, within the cap
    assert (weight > table) is more and (weight < table) is not more
    assert abs(weight - table) <= RULES.suggestions.name_frequency_bits
    # and with the adjustment off, the table's weight
    flat = RULES.suggestions.model_copy(update={"name_frequency_bits": 0.0})
    unadjusted = score_pair(a, b, flat, RULES.near_duplicates, population)
    assert [e.weight for e in unadjusted.evidence if e.field == "last_name"] == [table]


def _scored(bits: float, n: int) -> list[Suggestion]:
    evidence = (FieldEvidence("birth_date", "exact", bits, None, None),)
    return [Suggestion(("crm", f"A{i}"), ("crm", f"B{i}"), 0.5, evidence) for i in range(n)]


@pytest.mark.parametrize(
    ("contacts", "candidates", "prior"),
    [
        # 1,000 sure pairs among 2,000 contacts: about one pair in 2,000 is one person.
        pytest.param(2000, _scored(30.0, 1000), math.log2(1000 / (1999000 - 1000)), id="many"),
        # None sure: as unlikely as the rules allow below their prior.
        pytest.param(2000, _scored(-10.0, 5), -14.0 - 4.0, id="none-floor"),
        pytest.param(2000, [], -14.0, id="nothing-to-estimate-from"),
        pytest.param(500, _scored(30.0, 200), -14.0, id="a-small-store-keeps-the-rules-prior"),
        # Each contact in five sure pairs: the estimate stops at the rules' cap above the prior.
        pytest.param(2000, _scored(30.0, 10000), -14.0 + 4.0, id="capped"),
    ],
)
def test_the_prior_is_the_share_of_pairs_the_scores_say_are_one_person(
    contacts: int, candidates: list[Suggestion], prior: float
) -> None:
    assert estimated_prior(candidates, contacts, RULES.suggestions, -14.0) == pytest.approx(
        prior, abs=0.01
    )


@pytest.mark.parametrize(
    ("other", "field", "level"),
    [
        pytest.param(
            crm("C2", first="Sophi", birth="1980-07-03", address=HOME),
            "birth_date",
            "close",
            id="day-and-month-transposed",
        ),
        pytest.param(
            crm("C2", first="Sophie", last="Webl", address=HOME), "last_name", "similar", id="webl"
        ),
        pytest.param(
            crm("C2", first="Sophie", last="Lee", address={**HOME, "line1": "19 Birch Rd"}),
            "address",
            "close",
            id="house-number-slip-one-postcode",
        ),
    ],
)
def test_a_pair_typed_apart_is_suggested_with_the_evidence_that_says_so(
    other: RecordData, field: str, level: str
) -> None:
    # Given Sophie Webb, born on 3 July 1980, at home, and a contact written a little apart
    sophie = crm("C1", first="Sophie", last="Webb", birth="1980-03-07", address=HOME)
    if field != "last_name":
        sophie = crm("C1", first="Sophie", last="Lee", birth="1980-03-07", address=HOME)
    found = suggest(world(sophie, other), RULES.suggestions, RULES.near_duplicates)
    # Then the pair is suggested, and the field says how it agrees
    assert found, _score(sophie, other)
    assert {(e.field, e.level) for e in found[0].evidence} >= {(field, level)}


def _listed(records: dict[RecordKey, RecordData]) -> set[tuple[str, str]]:
    every = RULES.suggestions.model_copy(update={"min_score": 0.0})
    return {(s.a[1], s.b[1]) for s in suggest(records, every, RULES.near_duplicates)}


@pytest.mark.parametrize(
    ("other", "found"),
    [
        pytest.param(
            crm(
                "D2",
                first="Tahni",
                last="Noack",
                birth="1987-08-13",
                address={**HOME, "line1": "71 Mcmillan Ctescent"},
            ),
            True,
            id="one-postcode-and-family-name",
        ),  # fmt: skip
        pytest.param(
            crm(
                "D2",
                first="Tahni",
                last="Nocak",
                birth="1987-08-13",
                address={**HOME, "line1": "71 Mcmillan Ctescent"},
            ),
            True,
            id="one-postcode-and-house-number",
        ),  # fmt: skip
        pytest.param(
            crm(
                "D2",
                first="Tahni",
                last="Nocak",
                birth="1987-08-13",
                address={**HOME, "line1": "17 Mcmillan Ctescent", "postal_code": "73301"},
            ),
            False,
            id="nothing-in-common",
        ),  # fmt: skip
    ],
)
def test_a_pair_retyped_everywhere_but_its_postcode_is_still_scored(
    other: RecordData, found: bool
) -> None:
    # Given a contact, and another whose first name, birth date and street line were all
    # retyped (FEBRL-like data: no households, so no gate on first name or birth date)
    kyle = crm("D1", first="Kyle", last="Noack", birth="1929-09-03",
               address={**HOME, "line1": "71 Mcmillan Crescent"})  # fmt: skip
    # Then the pair is a candidate: a steward asking for every score sees it
    assert (("D1", "D2") in _listed(world(kyle, other))) is found


def test_the_own_evidence_gate_holds_only_where_addresses_hold_households() -> None:
    # Given a parent and child at one address (one family name, nothing of their own shared)
    parent = crm("P1", first="Kyle", birth="1960-01-01", address=HOME)
    child = crm("P2", first="Tahni", birth="1990-09-09", address=HOME)
    # Then among households they are never scored; among one person's duplicates they are
    assert ("P1", "P2") not in _listed(world(*COUPLES, parent, child))
    elsewhere = {**HOME, "line1": "4 Elm St"}
    one_person = [crm(f"J{n}", first="James", address=elsewhere) for n in range(4)]
    assert ("P1", "P2") in _listed(world(*one_person, parent, child))


def _duplicates(people: int) -> dict[RecordKey, RecordData]:
    """People each entered twice, the second with a slip in the first name and, for one in
    three, a birth date one part off: FEBRL-like data, enough to estimate from."""
    firsts = ["Sophie", "Mark", "Alice", "Kyle", "Grace", "Lucas", "Emily", "Conor", "Tia"]
    lasts = ["Webb", "Noack", "Riding", "Green", "Hilton", "Moulton", "Gaskin", "Dudek"]
    out = []
    for n in range(people):
        first, last = firsts[n % len(firsts)], f"{lasts[n % len(lasts)]}{n}"
        birth = f"19{40 + n % 50}-0{1 + n % 9}-1{n % 10}"
        home = {**ADDRESS, "line1": f"{n} Birch Rd", "postal_code": f"{10000 + n}"}
        out.append(crm(f"O{n}", first=first, last=last, birth=birth, address=home))
        other = f"19{40 + n % 50}-0{1 + n % 9}-2{n % 10}" if n % 3 == 0 else birth
        out.append(crm(f"D{n}", first=first[:-1], last=last, birth=other, address=home))
    return world(*out)


@pytest.mark.parametrize("bits", [pytest.param(0.0, id="off"), pytest.param(2.0, id="on")])
def test_estimated_weights_stay_within_the_rules_bound_and_are_shown(bits: float) -> None:
    # Given duplicates enough to estimate from, and the rules asking for an estimate or not
    rules = RULES.suggestions.model_copy(
        update={"estimate_weight_bits": bits, "estimate_prior_from": 50}
    )
    found = suggest(_duplicates(60), rules, RULES.near_duplicates)
    # Then every person's two contacts are suggested
    assert {(s.a[1], s.b[1]) for s in found} >= {(f"D{n}", f"O{n}") for n in range(60)}
    shown = [e for s in found for e in s.evidence if e.rule_weight is not None]
    if not bits:  # the table's weights, as written
        assert not shown
        return
    # and each estimated weight is shown beside the rules' and stays within the bound
    assert shown
    assert all(abs(e.weight - e.rule_weight) <= bits + 1e-9 for e in shown)  # type: ignore[operator]
    assert {e.field for e in shown} <= {"first_name", "last_name", "birth_date", "address"}


def test_an_estimate_learns_how_often_duplicates_agree() -> None:
    # Given candidates that are all sure matches, where one in two mistypes the birth date
    table = {"birth_date": {"exact": 13.0, "close": 6.0, "differs": -4.0}}
    sure = [([("birth_date", "exact")], 30.0)] * 50 + [([("birth_date", "close")], 23.0)] * 50
    random_pairs = [[("birth_date", "differs")]] * 99 + [[("birth_date", "close")]]
    found = estimate(
        sure, random_pairs, {"birth_date": 0.001}, 10_000, table, -10.0, bits=8.0, prior_bits=4.0
    )
    # Then a birth date one part off weighs what it says among these duplicates: log2(0.5 /
    # 0.01), and an exact one log2(0.5 / 0.001), each within 8 bits of the table's
    assert found.weights["birth_date"]["close"] == pytest.approx(math.log2(0.5 / 0.01), abs=0.05)
    assert found.weights["birth_date"]["exact"] == pytest.approx(math.log2(0.5 / 0.001), abs=0.05)
    assert found.weights["birth_date"]["differs"] == -12.0  # none of them: the bound

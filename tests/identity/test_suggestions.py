"""Match suggestions, table-driven: what weak evidence scores, and what never comes up."""

from __future__ import annotations

import pytest

from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from membergraph.identity.suggestions import score_pair, suggest
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

from __future__ import annotations

from pathlib import Path

import pytest

from membergraph.identity.engine import resolve
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.rules import DEFAULT_RULES_FILE, Rules, RulesError, load_rules
from tests.identity.builders import crm, purchase, world


def test_the_shipped_rules_file_is_the_built_in_defaults() -> None:
    assert load_rules(DEFAULT_RULES_FILE) == Rules()


def test_a_rules_file_changes_what_links(tmp_path: Path) -> None:
    records = world(
        crm("C1", emails=["ann@mail.org"], card="LD30000001"),
        purchase(card="LD30000002", email="ann@mail.org", channel="online"),
    )
    assert len(resolve(records).components) == 2  # two cards: refused by default
    path = tmp_path / "rules.toml"
    path.write_text("[limits]\nLOYALTY_ID = 2\n")
    assert len(resolve(records, load_rules(path)).components) == 1


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("hub_max_people = 0\n", "hub_max_people", id="out-of-range"),
        pytest.param("[limits]\nSHOE_SIZE = 1\n", "limits.SHOE_SIZE", id="unknown-kind"),
        pytest.param("colour = 'red'\n", "colour", id="unknown-key"),
        pytest.param("hub_max_people = \n", "not TOML", id="not-toml"),
    ],
)
def test_a_bad_rules_file_is_refused_naming_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text)
    with pytest.raises(RulesError, match=message):
        load_rules(path)


@pytest.mark.parametrize(
    ("kind", "value", "placeholder"),
    [
        pytest.param(IdentifierKind.EMAIL, "noemail@example.com", True, id="example-domain"),
        pytest.param(IdentifierKind.EMAIL, "none@example.org", True, id="example-org"),
        pytest.param(IdentifierKind.EMAIL, "na@na.com", True, id="same-word-both-sides"),
        pytest.param(IdentifierKind.EMAIL, "x@x.com", True, id="one-letter-both-sides"),
        pytest.param(IdentifierKind.EMAIL, "test@test.com", True, id="listed"),
        pytest.param(IdentifierKind.EMAIL, "nomail@gmail.com", True, id="local-nomail"),
        pytest.param(IdentifierKind.EMAIL, "n/a@shop.com", True, id="local-n/a"),
        pytest.param(IdentifierKind.EMAIL, "declined@yahoo.com", True, id="local-declined"),
        pytest.param(IdentifierKind.EMAIL, "ann@none.com", True, id="domain-none"),
        pytest.param(IdentifierKind.EMAIL, "ann.lee@gmail.com", False, id="a-person"),
        pytest.param(IdentifierKind.EMAIL, "nancy@mail.org", False, id="starts-like-na"),
        pytest.param(IdentifierKind.EMAIL, "a@x.org", False, id="one-letter-real-domain"),
        pytest.param(IdentifierKind.PHONE, "+10000000000", True, id="all-zeros"),
        pytest.param(IdentifierKind.PHONE, "+15555555555", True, id="all-same"),
        pytest.param(IdentifierKind.PHONE, "+11234567890", True, id="ascending"),
        pytest.param(IdentifierKind.PHONE, "+19876543210", True, id="descending"),
        pytest.param(IdentifierKind.PHONE, "+14155550101", False, id="a-phone"),
        pytest.param(IdentifierKind.LOYALTY_ID, "LD00000000", False, id="cards-are-not-checked"),
    ],
)
def test_placeholder_patterns(kind: IdentifierKind, value: str, placeholder: bool) -> None:
    assert Rules().is_junk(kind, value) is placeholder


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        pytest.param(("Sophie", "Martin"), ("Sophi", "Martin"), True, id="dropped-last-letter"),
        pytest.param(("John", "Lee"), ("Joh", "Lee"), True, id="dropped-letter-short-name"),
        pytest.param(("Yann", "Lee"), ("Yan", "Lee"), True, id="single-n"),
        pytest.param(("Anne", "Lee"), ("Ann", "Lee"), True, id="anne-ann"),
        pytest.param(("Michael", "Lee"), ("Micheal", "Lee"), True, id="transposed"),
        pytest.param(("Jennifer", "Lee"), ("Jenmifer", "Lee"), True, id="keyboard-slip"),
        pytest.param(("William", "Lee"), ("Bill", "Lee"), True, id="nickname"),
        pytest.param(("Christopher", "Lee"), ("Chris", "Lee"), True, id="short-form-prefix"),
        pytest.param(("Hélène", "Lee"), ("HELENE", "lee"), True, id="accents-and-case"),
        pytest.param(("Ann", "Lee"), ("Lee", "Ann"), True, id="first-last-swapped"),
        pytest.param(("Karen", "Ramirez"), ("Karen", "Ramirze"), True, id="last-name-typo"),
        pytest.param(("Gary", "Lee"), ("Gqry", "Lee"), True, id="keyboard-slip-short-name"),
        pytest.param(("Lisa", "Lee"), ("Losa", "Lee"), True, id="keyboard-slip-i-o"),
        pytest.param(("John", "Lee"), ("J.", "Lee"), True, id="initial"),
        pytest.param(("John", "Lee"), ("K.", "Lee"), False, id="other-initial"),
        pytest.param(("Mary", "Lee"), ("Mark", "Lee"), False, id="twins-mary-mark"),
        pytest.param(("Sara", "Lee"), ("Sala", "Lee"), False, id="one-letter-keys-apart"),
        pytest.param(("John", "Lee"), ("Joan", "Lee"), False, id="twins-john-joan"),
        pytest.param(("Ann", "Lee"), ("Bob", "Lee"), False, id="other-name"),
        pytest.param(("Amy", "Lee"), ("Amanda", "Lee"), False, id="two-letters-no-prefix"),
        pytest.param(("Ann", "Lee"), ("Ann", "Kim"), False, id="other-last-name"),
    ],
)
def test_near_duplicate_names(a: tuple[str, str], b: tuple[str, str], same: bool) -> None:
    rule = Rules().near_duplicates
    assert rule.same_person((*a, "1980-01-01"), (*b, "1980-01-01")) is same
    assert not rule.same_person((*a, "1980-01-01"), (*b, "1981-01-01")), "birth dates differ"


def test_near_duplicate_thresholds_are_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("[near_duplicates]\nfirst_name_min = 0.99\nprefix_min = 5\n")
    rule = load_rules(path).near_duplicates
    assert not rule.same_person(("Michael", "Lee", "1980"), ("Micheal", "Lee", "1980"))
    assert not rule.same_person(("Samantha", "Lee", "1980"), ("Sama", "Lee", "1980"))
    path.write_text("[near_duplicates]\nkeyboard_slips = false\n")
    assert not load_rules(path).near_duplicates.same_person(
        ("Gary", "Lee", "1980"), ("Gqry", "Lee", "1980")
    )

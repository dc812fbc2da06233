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
        pytest.param(IdentifierKind.EMAIL, "a@b.com", True, id="listed-first-letters"),
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
        pytest.param(IdentifierKind.EMAIL, "receipts@harborpine.com", True, id="local-receipts"),
        pytest.param(IdentifierKind.EMAIL, "noreceipt@gmail.com", True, id="local-noreceipt"),
        pytest.param(IdentifierKind.EMAIL, "info@shop.com", True, id="local-info"),
        pytest.param(IdentifierKind.EMAIL, "sales.lee@x.org", False, id="starts-like-sales"),
        pytest.param(IdentifierKind.LOYALTY_ID, "LD00000000", True, id="house-card-zeros"),
        pytest.param(IdentifierKind.LOYALTY_ID, "HP9999999999", True, id="house-card-nines"),
        pytest.param(IdentifierKind.LOYALTY_ID, "1111111111", True, id="house-card-ones"),
        pytest.param(IdentifierKind.LOYALTY_ID, "LD20000000", False, id="card-ending-in-zeros"),
        pytest.param(IdentifierKind.LOYALTY_ID, "HP1002169924", False, id="a-card"),
        pytest.param(IdentifierKind.LOYALTY_ID, "LD40000001", False, id="a-card-with-zeros"),
        pytest.param(IdentifierKind.LOYALTY_ID, "2900045000000", True, id="house-card-range-start"),
        pytest.param(IdentifierKind.LOYALTY_ID, "2900104000055", False, id="a-long-card"),
        pytest.param(IdentifierKind.CRM_ID, "0", True, id="script-user-id-zero"),
        pytest.param(IdentifierKind.CRM_ID, "undefined", True, id="script-undefined"),
        pytest.param(IdentifierKind.CRM_ID, "[object Object]", True, id="script-object"),
        pytest.param(IdentifierKind.CRM_ID, "C0001", False, id="a-contact-id"),
        pytest.param(IdentifierKind.CRM_ID, "10", False, id="a-numeric-contact-id"),
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
        # A middle initial after the first name, and a short form typed with a slip.
        pytest.param(("Ken A.", "Lee"), ("Kenneth", "Lee"), True, id="middle-initial"),
        pytest.param(("Luis G", "Lee"), ("Lus", "Lee"), True, id="initial-no-dot-and-typo"),
        pytest.param(("Ann B.", "Lee"), ("Bob", "Lee"), False, id="initial-then-other-name"),
        pytest.param(("Greg", "Lee"), ("Grefory", "Lee"), True, id="short-form-of-a-slip"),
        pytest.param(("Jhnny", "Lee"), ("John", "Lee"), True, id="slipped-short-form"),
        pytest.param(("Keenny", "Lee"), ("Kenneth", "Lee"), True, id="slipped-kenny"),
        pytest.param(("Jhonny", "Lee"), ("John", "Lee"), True, id="two-letters-swapped"),
        pytest.param(("Abby", "Lee"), ("Abgail", "Lee"), True, id="abby-abgail"),
        # Tina is Christina's, a slip from Christian: another person's name.
        pytest.param(("Tina", "Lee"), ("Christian", "Lee"), False, id="slip-to-other-person"),
        pytest.param(("Greg", "Lee"), ("Gary", "Lee"), False, id="greg-gary"),
        # A family name changed (a marriage, a second name added): the first name, the birth
        # date and the shared strong value say one person (twins have other first names).
        pytest.param(("Ann", "Lee"), ("Ann", "Kim"), True, id="family-name-changed"),
        pytest.param(("Ann", "Dubois"), ("Ann", "Dubois-Harris"), True, id="name-added"),
        pytest.param(("Jennifer", "Hill"), ("Jenifer", "Jimenez"), True, id="changed-and-typo"),
        pytest.param(("Ann", "Lee"), ("Bob", "Kim"), False, id="other-first-and-family-name"),
        # A generational suffix: a son named after his father is another person.
        pytest.param(("Joshua N.", "Bennett"), ("Joshua", "Bennett Jr."), False, id="junior"),
        pytest.param(("John", "Lee Jr."), ("John", "Lee Sr."), False, id="junior-senior"),
        pytest.param(("Henry", "Ford III"), ("Henry", "Ford II"), False, id="third-second"),
        pytest.param(("John", "Lee Jr."), ("Jon", "Lee, Jr"), True, id="junior-twice-typo"),
        pytest.param(("John", "Lee Junior"), ("John", "LEE JR"), True, id="junior-spelled"),
    ],
)
def test_near_duplicate_names(a: tuple[str, str], b: tuple[str, str], same: bool) -> None:
    rule = Rules().near_duplicates
    assert rule.same_person((*a, "1980-01-01"), (*b, "1980-01-01")) is same
    assert not rule.same_person((*a, "1980-01-01"), (*b, "1991-01-01")), "birth dates differ"


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        pytest.param("1980-01-02", "1980-01-02", True, id="same"),
        pytest.param("1980-01-02", "", True, id="left-out-on-one"),
        pytest.param("", "", True, id="left-out-on-both"),
        pytest.param("1980-01-02", "1980-02-01", True, id="day-and-month-swapped"),
        pytest.param("1980-01-02", "1981-02-01", False, id="swapped-other-year"),
        pytest.param("1980-01-02", "1980-01-03", False, id="another-day"),
        pytest.param("1900-01-01", "1980-01-02", True, id="placeholder-1900"),
        pytest.param("1980-01-02", "1970-01-01", True, id="placeholder-epoch"),
        pytest.param("1111-11-11", "", True, id="placeholder-and-left-out"),
        pytest.param("1901-01-01", "1980-01-02", True, id="placeholder-1901"),
        pytest.param("1964-07-30", "1911-11-11", True, id="placeholder-11-11-1911"),
        # One digit of the year mistyped, the day and month the same: one person's date.
        pytest.param("1983-03-28", "1982-03-28", True, id="year-last-digit-slipped"),
        pytest.param("1981-02-02", "1991-02-02", True, id="year-decade-slipped"),
        pytest.param("1983-03-28", "1993-04-28", False, id="year-and-month-differ"),
        pytest.param("1983-03-28", "1972-03-28", False, id="two-digits-of-the-year"),
    ],
)
def test_near_duplicate_birth_dates(a: str, b: str, same: bool) -> None:
    rule = Rules().near_duplicates
    assert rule.same_person(("Ann", "Lee", a), ("Ann", "Lee", b)) is same


@pytest.mark.parametrize(
    ("setting", "a", "b"),
    [
        pytest.param(
            "family_name_changes", ("Ann", "Lee", "1980"), ("Ann", "Kim", "1980"), id="fam"
        ),
        pytest.param(
            "birth_date_left_out_agrees",
            ("Anne", "Lee", "1980-01-02"),
            ("Ann", "Lee", ""),
            id="left",
        ),
        pytest.param(
            "day_month_swaps", ("Ann", "Lee", "1980-01-02"), ("Ann", "Leo", "1980-02-01"), id="swap"
        ),
        pytest.param(
            "birth_year_slips", ("Ann", "Lee", "1980-01-02"), ("Anne", "Lee", "1981-01-02"), id="yr"
        ),
    ],
)
def test_each_near_duplicate_leniency_is_a_rule(
    tmp_path: Path, setting: str, a: tuple[str, str, str], b: tuple[str, str, str]
) -> None:
    path = tmp_path / "rules.toml"
    assert load_rules(None).near_duplicates.same_person(a, b)
    path.write_text(f"[near_duplicates]\n{setting} = false\n")
    assert not load_rules(path).near_duplicates.same_person(a, b)


def test_near_duplicate_thresholds_are_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    # Sama is also Sam typed with a letter added (typed_short_forms): off, to try the prefix.
    path.write_text(
        "[near_duplicates]\nfirst_name_min = 0.99\nprefix_min = 5\ntyped_short_forms = false\n"
    )
    rule = load_rules(path).near_duplicates
    assert not rule.same_person(("Michael", "Lee", "1980"), ("Micheal", "Lee", "1980"))
    assert not rule.same_person(("Samantha", "Lee", "1980"), ("Sama", "Lee", "1980"))
    path.write_text("[near_duplicates]\nkeyboard_slips = false\n")
    assert not load_rules(path).near_duplicates.same_person(
        ("Gary", "Lee", "1980"), ("Gqry", "Lee", "1980")
    )

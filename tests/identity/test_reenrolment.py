"""CRM duplicates of one person made at a re-enrolment, and contact ids as agents type them
(issue 19, seventh round): which pairs merge, which stay apart, and what the link says."""

from __future__ import annotations

from typing import Any

import pytest

from membergraph.identity.engine import Resolution, resolve
from membergraph.identity.normalize import IdentifierKind, crm_id_spellings, normalize
from membergraph.identity.records import RecordData, RecordKey, identifier_key
from membergraph.identity.rules import Rules
from membergraph.identity.suggestions import suggest
from tests.identity.builders import call, crm, world

RULES = Rules()
HOME = {"line1": "9 Birch Rd", "city": "Springfield", "postal_code": "62701", "country": "US"}
# The shared e-mail names no one: an address naming the family with another first name is a
# relative's (email_names.py), which rows with other first names would then be.
MAIL, MOBILE, LANDLINE = "sunnydays@mail.org", "4155550171", "4155550100"


def member_of(result: Resolution, ref: RecordKey) -> frozenset[RecordKey]:
    return next((frozenset(c) for c in result.components if ref in c), frozenset([ref]))


def together(result: Resolution, a: RecordKey, b: RecordKey) -> bool:
    return b in member_of(result, a)


def first_contact(**fields: Any) -> RecordData:
    given = {"emails": [MAIL], "phones": [MOBILE], "card": "LD61000001", "address": HOME}
    return crm("C0000001", **{**given, **fields})


# The second contact of each pair: a re-enrolment (its own card) unless said otherwise.
@pytest.mark.parametrize(
    ("first", "second", "merged", "said"),
    [
        pytest.param({}, {"birth": None}, True, "left_out", id="same-names-birth-on-one"),
        pytest.param(
            {"first": "William"}, {"first": "Bill", "birth": None}, True, "left_out",
            id="nickname-birth-on-one",
        ),
        pytest.param(
            {"first": "Karen"}, {"first": "Kqren", "birth": None}, True, "left_out", id="typo"
        ),
        pytest.param(
            {"first": "José"}, {"first": "JOSE", "birth": None}, True, "left_out",
            id="accents-and-caps",
        ),
        pytest.param(
            {"last": "Díaz Ramírez"}, {"last": "Diaz", "birth": None}, True, "left_out",
            id="second-surname-left-out",
        ),
        pytest.param(
            {"last": "Dubois"}, {"last": "Dubois-Harris", "birth": None}, True, "left_out",
            id="hyphenated-married-name",
        ),
        pytest.param({}, {"first": "Lee", "last": "Ann"}, True, "agreed", id="swapped-names"),
        pytest.param(
            {"last": "Hill"}, {"last": "Jimenez"}, True, "agreed", id="maiden-name-births-agree"
        ),
        # A family name changed and nothing to compare the dates with: a family's e-mail,
        # unless her phone is the other's too (a marriage: her address and her number).
        pytest.param(
            {"last": "Hill"}, {"last": "Jimenez", "birth": None, "phones": []}, False, None,
            id="other-family-name-no-birth",
        ),
        pytest.param(
            {"last": "Hill"}, {"last": "Jimenez", "birth": None}, True, "left_out",
            id="other-family-name-no-birth-her-phone-too",
        ),
        # A son on his mother's e-mail: names close by letters, a man's and a woman's.
        pytest.param(
            {"first": "Michelle", "birth": None}, {"first": "Michael", "birth": "1994-05-02"},
            False, None, id="michael-on-michelles-email",
        ),
        pytest.param({"first": "Paul"}, {"first": "Paula"}, False, None, id="paul-and-paula"),
        pytest.param({"first": "Mario"}, {"first": "Maria"}, False, None, id="mario-and-maria"),
        # Each her own e-mail on the family's: two people, whatever the cards.
        pytest.param(
            {}, {"first": "Anne", "birth": None, "emails": [MAIL, "anne.l@work.org"]},
            True, "left_out", id="second-has-a-work-email-too",
        ),
        pytest.param(
            {"emails": [MAIL, "ann@own.org"]},
            {"first": "Anne", "birth": None, "emails": [MAIL, "anne@own.org"]},
            False, None, id="each-her-own-email",
        ),
    ],
)  # fmt: skip
def test_a_re_enrolment_with_a_card_of_its_own(
    first: dict[str, Any], second: dict[str, Any], merged: bool, said: str | None
) -> None:
    # Given a contact, and a second one made when she enrolled again: a new card, the same
    # e-mail and phone, her name perhaps written otherwise
    fields = {"emails": [MAIL], "phones": [MOBILE], "card": "LD61000002", "address": HOME}
    result = resolve(world(first_contact(**first), crm("C0000002", **{**fields, **second})))
    a, b = ("crm", "C0000001"), ("crm", "C0000002")
    # Then they are one member exactly when nothing tells two people apart
    assert together(result, a, b) is merged
    if merged:  # and the link says why, for the member's identity history
        [link] = [x for x in result.links if {x.a, x.b} == {a, b}]
        assert link.rule in ("crm_duplicate", "crm_near_duplicate")
        assert "birth_date" in link.evidence[said]


def test_a_father_and_son_of_one_name_on_the_landline_stay_apart() -> None:
    # Given Robert Smith senior and junior: one address and landline, no birth dates, each
    # his own e-mail and card
    senior = crm(
        "C0000001", first="Robert", last="Smith", birth=None, emails=["rsmith57@mail.org"],
        phones=[LANDLINE], card="LD61000001", address=HOME,
    )  # fmt: skip
    junior = crm(
        "C0000002", first="Robert", last="Smith", birth=None, emails=["robsmith97@mail.org"],
        phones=[LANDLINE], card="LD61000002", address=HOME,
    )  # fmt: skip
    result = resolve(world(senior, junior))
    # Then they are two members
    assert not together(result, senior.ref, junior.ref)


def test_a_shared_phone_alone_is_a_suggestion_not_a_merge() -> None:
    # Given one person's two contacts sharing only a mobile (each its own card and e-mail,
    # one birth date: as like a father and son of one name; test_phone_duplicates.py)
    a = crm("C0000001", emails=["ann@own.org"], phones=[MOBILE], card="LD61000001", address=HOME)
    b = crm(
        "C0000002", birth=None, emails=["a.lee@own.org"], phones=[MOBILE], card="LD61000002",
        address=HOME,
    )  # fmt: skip
    records = world(a, b)
    # Then the rules leave them apart, and stewards are offered the pair
    assert not together(resolve(records), a.ref, b.ref)
    found = suggest(records, RULES.suggestions, RULES.near_duplicates)
    assert [(s.a, s.b) for s in found] == [(a.ref, b.ref)]


@pytest.mark.parametrize(
    ("typed", "spellings"),
    [
        pytest.param("C0012345", ("C0012345",), id="as-the-crm-writes-it"),
        pytest.param("c0012345", ("C0012345",), id="lower-case"),
        pytest.param("C-0012345", ("C0012345",), id="dash"),
        pytest.param("C 001 2345", ("C0012345",), id="spaces"),
        pytest.param("C12345", ("C0012345",), id="zeros-left-out"),
        pytest.param("0012345", ("C0012345",), id="digits-with-zeros"),
        pytest.param("12345", ("C0012345", "BSM-12345"), id="digits-alone-fit-two"),
        pytest.param("bsm12139", ("BSM-12139",), id="legacy-lower-no-dash"),
        pytest.param("BSM-12139", ("BSM-12139",), id="legacy"),
        pytest.param("C123456789", ("C123456789",), id="too-long-for-the-form"),
        pytest.param("X0012345", ("X0012345",), id="another-prefix"),
        pytest.param("0", ("0",), id="script-sends-zero"),
        pytest.param("-1", ("-1",), id="script-sends-minus-one"),
        pytest.param("C-SHOWCASE-JANE", ("C-SHOWCASE-JANE",), id="no-number"),
    ],
)
def test_contact_id_spellings(typed: str, spellings: tuple[str, ...]) -> None:
    assert crm_id_spellings(typed, RULES.crm_id_formats) == spellings


def test_a_lookup_reads_a_contact_id_as_ingestion_does() -> None:
    # memberByIdentifier(CRM_ID, "c-0012345") looks up this key
    key = identifier_key(IdentifierKind.CRM_ID, normalize(IdentifierKind.CRM_ID, "c-0012345"))
    assert key == "C0012345"


@pytest.mark.parametrize(
    ("typed", "contact"),
    [
        pytest.param("C0012345", "C0012345", id="exact"),
        pytest.param("c0012345", "C0012345", id="lower-case"),
        pytest.param("C-0012345", "C0012345", id="dash"),
        pytest.param("12345", "C0012345", id="digits-alone"),
        pytest.param("bsm-12139", "BSM-12139", id="legacy-lower"),
        pytest.param("12139", "BSM-12139", id="legacy-digits-alone"),
    ],
)
def test_a_call_joins_the_contact_the_agent_typed_whatever_the_spelling(
    typed: str, contact: str
) -> None:
    # Given a contact, and a call from an unknown number where the agent typed its id
    records = world(
        crm(contact, emails=[MAIL]), call("I1", phone="6175550199", ref=("crm_id", typed))
    )
    result = resolve(records)
    # Then the call is the contact's
    assert together(result, ("crm", contact), ("call_center", "I1"))


def test_digits_that_fit_two_peoples_contacts_join_neither() -> None:
    # Given Ann's C0012139 and Bob's legacy BSM-12139, and a call where the agent typed 12139
    ann = crm("C0012139", emails=[MAIL])
    bob = crm("BSM-12139", first="Bob", last="Ray", emails=["bob@mail.org"])
    result = resolve(world(ann, bob, call("I1", ref=("crm_id", "12139"))))
    # Then the call joins no one, and stewards see why
    assert not together(result, ann.ref, ("call_center", "I1"))
    assert not together(result, bob.ref, ("call_center", "I1"))
    assert [c.kind for c in result.conflicts] == ["ambiguous"]
    assert result.conflicts[0].detail["decision"] == "none (a typed contact id that fits two)"

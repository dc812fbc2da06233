"""Table-driven tests of the identity engine, each named after the situation it protects."""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from membergraph.connectors.models import SourceName, Transaction
from membergraph.identity.engine import Resolution, resolve
from membergraph.identity.line_records import record_of_line, visitor_record
from membergraph.identity.normalize import IdentifierKind, normalize_phone
from membergraph.identity.records import RecordData, RecordKey, identifier_key, identifier_of
from membergraph.identity.rules import Rules
from membergraph.identity.values import NO_CALLER
from tests.identity.builders import ADDRESS, call, crm, purchase, together, visitor, world

LANDLINE = "(312) 555-0100"
HOLD_LINE = "+1 888 410 7700"


def conflicts(result: Resolution, kind: str) -> int:
    return sum(1 for c in result.conflicts if c.kind == kind)


def test_a_loyalty_card_joins_its_crm_contact_and_its_purchases() -> None:
    result = resolve(world(crm("C1", card="LD-1111-2222"), purchase(card="ld11112222")))
    assert together(result, ("crm", "C1"), ("transactions", "loyalty:LD11112222"))
    [link] = result.links
    assert link.rule == "loyalty_id" and link.evidence == {
        "kind": "LOYALTY_ID",
        "value": "LD11112222",
    }


def test_an_online_order_joins_the_contact_with_its_email() -> None:
    result = resolve(
        world(
            crm("C1", emails=["Ann.Lee@Mail.com "]),
            purchase(email="ann.lee@mail.com", channel="online"),
        )
    )
    assert together(result, ("crm", "C1"), ("transactions", "online:ann.lee@mail.com"))


def test_gmail_dots_and_tags_are_one_address() -> None:
    result = resolve(
        world(
            crm("C1", emails=["ann.lee@gmail.com"]),
            purchase(email="annlee+shop@googlemail.com", channel="online"),
        )
    )
    assert len(result.components) == 1


def test_a_household_landline_never_merges_two_people() -> None:
    result = resolve(
        world(
            crm("C1", first="Ann", phones=[LANDLINE]),
            crm("C2", first="Bob", birth="1978-03-03", phones=[LANDLINE]),
        )
    )
    assert len(result.components) == 2
    assert result.value_status[(IdentifierKind.PHONE, "+13125550100")] == "shared"


def test_duplicate_crm_contacts_of_one_person_merge() -> None:
    result = resolve(
        world(crm("C1", emails=["ann@x.org"]), crm("C2", first="ANN", emails=["ANN@X.ORG"]))
    )
    assert len(result.components) == 1
    assert result.links[0].rule == "crm_duplicate"
    assert result.links[0].evidence["agreed"] == ["first_name", "last_name", "birth_date"]


@pytest.mark.parametrize(
    ("first", "birth_a", "birth_b", "said"),
    [
        pytest.param(
            "Ann", "1980-01-01", "1980-01-01",
            {"agreed": ["first_name", "last_name", "birth_date"]}, id="same-everything",
        ),
        pytest.param(
            "Ann", "1980-01-01", None,
            {"agreed": ["first_name", "last_name"], "left_out": ["birth_date"]},
            id="same-names-one-birth-date-left-out",
        ),
        pytest.param(
            "Anne", "1980-01-01", None,
            {"agreed": ["last_name"], "close": ["first_name"], "left_out": ["birth_date"]},
            id="close-names-one-birth-date-left-out",
        ),
        pytest.param(
            "Anne", "1980-01-01", "1900-01-01",
            {"agreed": ["last_name"], "close": ["first_name"], "left_out": ["birth_date"]},
            id="close-names-a-placeholder-birth-date",
        ),
        pytest.param(
            "Anne", "1980-03-04", "1980-04-03",
            {"agreed": ["last_name"], "close": ["first_name"], "swapped": ["birth_date"]},
            id="close-names-day-and-month-swapped",
        ),
        pytest.param(
            "Anne", "1980-01-01", "1980-01-01",
            {"agreed": ["last_name", "birth_date"], "close": ["first_name"]},
            id="close-names-same-birth-date",
        ),
    ],
)  # fmt: skip
def test_a_duplicates_link_says_what_was_compared(
    first: str, birth_a: str, birth_b: str | None, said: dict[str, list[str]]
) -> None:
    # Given one person entered twice with one e-mail, the second time perhaps without a
    # birth date
    result = resolve(
        world(
            crm("C1", birth=birth_a, emails=["ann@x.org"]),
            crm("C2", first=first, birth=birth_b, emails=["ann@x.org"]),
        )
    )
    # Then the link's evidence says a birth date was agreed on only when both had one
    [link] = result.links
    assert {k: v for k, v in link.evidence.items() if k not in ("kind", "value")} == said


def test_spouses_sharing_a_family_email_stay_apart() -> None:
    family = "the.lees@mail.com"
    result = resolve(
        world(
            crm("C1", first="Ann", emails=[family]),
            crm("C2", first="Bob", birth="1977-07-07", emails=[family]),
        )
    )
    assert len(result.components) == 2


def test_twins_sharing_a_phone_stay_apart() -> None:
    result = resolve(
        world(
            crm("C1", first="Ann", phones=["+1 415 555 0101"]),
            crm("C2", first="Amy", phones=["+1 415 555 0101"]),
        )
    )
    assert len(result.components) == 2


def test_a_junk_email_typed_at_the_till_links_nobody() -> None:
    result = resolve(
        world(
            crm("C1", card="LD00000001"),
            crm("C2", first="Bob", card="LD00000002"),
            purchase(card="LD00000001", email="noemail@noemail.com"),
            purchase(card="LD00000002", email="NOEMAIL@noemail.com"),
        )
    )
    assert len(result.components) == 2
    assert "blocked" in result.value_status.values()


def test_a_value_on_many_people_becomes_a_hub() -> None:
    cards = [purchase(card=f"LD1000000{i}", email="store7@shop.example.org") for i in range(8)]
    contacts = [crm(f"C{i}", first=f"P{i}", card=f"LD1000000{i}") for i in range(8)]
    result = resolve(world(*cards, *contacts))
    assert len(result.components) == 8
    assert "hub" in result.value_status.values()


def test_the_call_centers_hold_line_never_merges_its_callers() -> None:
    calls = [call(f"I{i}", phone=HOLD_LINE) for i in range(30)]
    contacts = [crm(f"C{i}", first=f"P{i}", phones=[HOLD_LINE] if i == 0 else []) for i in range(3)]
    result = resolve(world(*calls, *contacts))
    assert max(len(c) for c in result.components) <= 2


def test_a_call_joins_the_account_the_phone_and_the_agent_agree_on() -> None:
    result = resolve(
        world(
            crm("C1", phones=["+1 415 555 0102"]),
            call("I1", phone="4155550102", ref=("crm_id", "C1")),
        )
    )
    assert len(result.components) == 1


def test_an_agents_typo_loses_to_the_callers_phone_and_goes_to_stewards() -> None:
    ann = crm("C1", first="Ann", last="Lee", phones=["+1 415 555 0103"], card="LD20000001")
    bob = crm("C2", first="Bob", last="Kim", birth="1970-02-02", card="LD20000002")
    result = resolve(
        world(ann, bob, call("I1", phone="415-555-0103", ref=("loyalty_id", "LD20000002")))
    )
    assert together(result, ("crm", "C1"), ("call_center", "I1"))
    assert not together(result, ("crm", "C1"), ("crm", "C2"))
    assert conflicts(result, "call_mismatch") == 1


def test_on_a_household_line_the_typed_account_wins() -> None:
    home = {**ADDRESS, "line1": "9 Birch Rd"}
    ann = crm("C1", first="Ann", phones=["+1 415 555 0104"], address=home)
    bob = crm("C2", first="Bob", birth="1975-05-05", address=home)
    result = resolve(world(ann, bob, call("I1", phone="4155550104", ref=("crm_id", "C2"))))
    assert together(result, ("crm", "C2"), ("call_center", "I1"))
    assert not together(result, ("crm", "C1"), ("crm", "C2"))


SHARED = "a shared device: logged in as different members"


@pytest.mark.parametrize(
    ("logins", "identify_no_one", "joins", "why"),
    [
        pytest.param(("C1", "C2"), True, None, SHARED, id="family-computer-is-nobodys"),
        pytest.param(("C1", "C2"), False, None, None, id="rule-off-a-member-alone"),
        pytest.param(("C1", "C3"), True, ("crm", "C1"), None, id="one-person-entered-twice"),
        pytest.param(("C1",), True, ("crm", "C1"), None, id="one-login"),
    ],
)
def test_a_family_computer_logged_in_as_two_people_is_a_shared_device(
    logins: tuple[str, ...], identify_no_one: bool, joins: RecordKey | None, why: str | None
) -> None:
    # Given Ann (entered twice: C1 and C3, one card), Bob, and a visitor logged in as them
    people = [
        crm("C1", first="Ann", card="LD50000001"),
        crm("C3", first="Ann", card="LD50000001"),
        crm("C2", first="Bob", birth="1971-01-01"),
    ]
    rules = Rules(shared_devices_identify_no_one=identify_no_one)
    result = resolve(world(*people, visitor("a-1", logins=logins)), rules)
    device = ("web_analytics", "a-1")
    # Then it joins the one person it names; two people's device joins neither
    if joins is not None:
        assert together(result, joins, device)
    else:
        assert not any(device in c and len(c) > 1 for c in result.components)
        assert conflicts(result, "shared_device") == 1
    # and, by the rule, a device two people share is nobody's: in no member, with why
    assert result.unattributed.get(device) == why
    assert any(device in c for c in result.components) is (why is None)


def test_a_manual_link_keeps_a_shared_device_in_its_member() -> None:
    # (a steward's link gives a shared device to one member: tests/api/test_shared_device_api)
    people = [crm("C1", first="Ann"), crm("C2", first="Bob", birth="1971-01-01")]
    device = ("web_analytics", "a-1")
    manual = [(device, ("crm", "C1"), {"reason": "Ann's laptop"})]
    result = resolve(world(*people, visitor("a-1", logins=("C1", "C2"))), manual_links=manual)
    assert together(result, ("crm", "C1"), device)
    assert device not in result.unattributed


def test_a_visitor_who_logs_in_joins_the_contact() -> None:
    result = resolve(world(crm("C1"), visitor("a-1", logins=("C1",))))
    assert together(result, ("crm", "C1"), ("web_analytics", "a-1"))


def test_anonymous_visitors_with_one_email_form_one_member() -> None:
    result = resolve(
        world(visitor("a-1", emails=("x@y.org",)), visitor("a-2", emails=("X@Y.org",)))
    )
    assert len(result.components) == 1


def test_a_link_that_would_give_a_member_two_loyalty_cards_is_refused() -> None:
    result = resolve(
        world(
            crm("C1", emails=["ann@x.org"], card="LD30000001"),
            purchase(card="LD30000002", email="ann@x.org", channel="online"),
        )
    )
    assert len(result.components) == 2
    assert conflicts(result, "limit") == 1


def test_cannot_link_keeps_two_records_apart() -> None:
    records = world(crm("C1", card="LD40000001"), purchase(card="LD40000001"))
    result = resolve(
        records, cannot_links=[(("crm", "C1"), ("transactions", "loyalty:LD40000001"))]
    )
    assert len(result.components) == 2
    assert conflicts(result, "cannot_link") == 1


def test_a_manual_link_joins_what_rules_would_not() -> None:
    records = world(crm("C1"), crm("C2", first="Bob"))
    result = resolve(
        records, manual_links=[(("crm", "C1"), ("crm", "C2"), {"reason": "same person"})]
    )
    assert len(result.components) == 1 and result.links[0].rule == "manual"


def test_a_pair_linked_twice_with_two_reasons_is_one_link_whatever_the_order() -> None:
    # Adversarial pass, finding 9: the engine sorted (a, b, evidence) and failed comparing
    # two evidence dicts when a steward linked an already linked pair with another reason.
    records = world(crm("C1"), crm("C2", first="Bob"))
    one = (("crm", "C1"), ("crm", "C2"), {"reason": "same person"})
    two = (("crm", "C2"), ("crm", "C1"), {"reason": "other"})
    first, second = (
        resolve(records, manual_links=[one, two]),
        resolve(records, manual_links=[two, one]),
    )
    assert len(first.components) == 1
    assert [(link.rule, link.evidence) for link in first.links] == [("manual", {"reason": "other"})]
    assert second.links == first.links


def test_the_partition_does_not_depend_on_input_order() -> None:
    records = list(
        world(
            crm("C1", emails=["a@x.org"], card="LD50000001", phones=[LANDLINE]),
            crm("C2", first="Bob", phones=[LANDLINE]),
            purchase(card="LD50000001", email="a@x.org"),
            purchase(email="a@x.org", channel="online"),
            visitor("a-1", logins=("C2",)),
            call("I1", phone=LANDLINE),
            call("I2", phone=LANDLINE, ref=("crm_id", "C2")),
        ).values()
    )
    expected = resolve({r.ref: r for r in records}).components
    rng = random.Random(5)
    for _ in range(20):
        rng.shuffle(records)
        assert resolve({r.ref: r for r in records}).components == expected


CARD, MAIL = "LD61000001", "sophie.martin@mail.org"


@pytest.mark.parametrize(
    ("first", "last", "shared", "merged"),
    [
        pytest.param("Sophi", "Martin", {"card": CARD}, True, id="typo-with-card"),
        pytest.param("Sophi", "Martin", {"emails": [MAIL]}, True, id="typo-with-email"),
        pytest.param("SOPHIE", "martin", {"card": CARD}, True, id="case"),
        pytest.param("Sophié", "Martin", {"card": CARD}, True, id="accent"),
        pytest.param("Martin", "Sophie", {"card": CARD}, True, id="swapped"),
        pytest.param("Soph", "Martin", {"emails": [MAIL]}, True, id="short-form"),
        # A phone with close names, the birth date and the postcode (phone_duplicates.py).
        pytest.param("Sophi", "Martin", {"phones": [LANDLINE]}, True, id="phone-birth-postcode"),
        pytest.param("Sophi", "Martin", {}, False, id="names-and-birth-alone"),
        pytest.param("Sandra", "Martin", {"card": CARD}, False, id="other-first-name"),
    ],
)
def test_near_duplicate_contacts(
    first: str, last: str, shared: dict[str, Any], merged: bool
) -> None:
    # Given Sophie's contact, her card's purchases, and a second contact that differs by name
    original = {"card": CARD, "emails": [MAIL], "phones": [LANDLINE]}
    sophie = crm("C1", first="Sophie", last="Martin", **original)
    twin = crm("C2", first=first, last=last, **shared)
    result = resolve(world(sophie, twin, purchase(card=CARD)))
    # Then they are one member exactly when the rule says so, and the card is never refused
    assert together(result, ("crm", "C1"), ("crm", "C2")) is merged
    if merged:  # and the card's purchases with them: no "second CRM id" refused
        assert together(result, ("crm", "C1"), ("transactions", f"loyalty:{CARD}"))
        duplicates = {"crm_duplicate", "crm_near_duplicate", "crm_phone_duplicate"}
        assert {link.rule for link in result.links} & duplicates
        assert conflicts(result, "limit") == 0


def test_twins_with_a_family_email_and_different_names_stay_apart() -> None:
    family = "the.lees@mail.com"
    result = resolve(
        world(
            crm("C1", first="Mary", emails=[family], phones=[LANDLINE]),
            crm("C2", first="Mark", emails=[family], phones=[LANDLINE]),
        )
    )
    assert len(result.components) == 2


@pytest.mark.parametrize(
    ("first", "second"),
    [
        pytest.param("Michael", "Michelle", id="michael-michelle"),
        pytest.param("Christian", "Christina", id="christian-christina"),
        pytest.param("Ann", "Anna", id="ann-anna-prefix"),
    ],
)
def test_twins_with_close_names_and_their_own_emails_stay_apart(first: str, second: str) -> None:
    # Given twins: one birth date, one address and landline, a family e-mail, and close names
    family = "the.lees@mail.com"
    result = resolve(
        world(
            crm("C1", first=first, emails=[family, "one@mail.com"], phones=[LANDLINE]),
            crm("C2", first=second, emails=[family, "two@mail.com"], phones=[LANDLINE]),
        )
    )
    # Then each one's own e-mail says they are two people
    assert len(result.components) == 2


HOME = {"line1": "9 Birch Rd", "city": "Springfield", "postal_code": "62701", "country": "US"}
MOVED = {"line1": "40 Pine Ave", "city": "Dayton", "postal_code": "45402", "country": "US"}


@pytest.mark.parametrize(
    ("second", "merged"),
    [
        # Twins: one birth date, address and family e-mail, names a letter apart; each has a
        # mobile of her own.
        pytest.param({"phones": ["4155550172"]}, False, id="twin-with-her-own-phone"),
        pytest.param(
            {"phones": ["4155550172"], "emails": ["ann.lee@mail.org"]}, False, id="twin-own-both"
        ),
        # A card of her own alone is what every re-enrolment makes: Anne entered twice.
        pytest.param({"card": "LD61000077"}, True, id="own-card-alone-is-a-re-enrolment"),
        # Anne entered twice: the same phone, or none on the second form.
        pytest.param({"phones": ["4155550171"]}, True, id="duplicate-same-phone"),
        pytest.param({}, True, id="duplicate-without-phone"),
        pytest.param({"phones": ["0000000000"]}, True, id="duplicate-placeholder-phone"),
        # A card is one account: whatever the phones, the card says one person.
        pytest.param(
            {"phones": ["4155550172"], "card": "LD61000009"}, True, id="duplicate-sharing-card"
        ),
        # After a move: a new landline at a new address is the same person's.
        pytest.param({"phones": ["6175550140"], "address": MOVED}, True, id="duplicate-moved"),
    ],
)
def test_twins_with_near_identical_names_and_duplicates(
    second: dict[str, Any], merged: bool
) -> None:
    # Given Anne's contact with the family e-mail, and a second contact as "Ann" sharing it
    family = "the.lees@mail.com"
    anne = crm(
        "C1",
        first="Anne",
        emails=[family],
        phones=["4155550171"],
        card="LD61000009",
        address=HOME,
    )
    fields = {"address": HOME, **second, "emails": [family, *second.get("emails", [])]}
    ann = crm("C2", first="Ann", **fields)
    result = resolve(world(anne, ann, purchase(email=family, channel="online")))
    # Then they are one member exactly when nothing of their own tells two people apart
    assert together(result, ("crm", "C1"), ("crm", "C2")) is merged


@pytest.mark.parametrize(
    ("first", "birth", "merged"),
    [
        # One birth date and one first name: no two relatives are both; her new mobile.
        pytest.param("Anne", "1980-01-01", True, id="one-birthday-one-first-name"),
        pytest.param("ANNE", "1980-01-01", True, id="one-first-name-in-capitals"),
        pytest.param("Anne", "1981-01-01", True, id="a-year-slipped"),
        # Twins named a letter apart, or no birth date to compare: her own mobile says two.
        pytest.param("Ann", "1980-01-01", False, id="twins-a-letter-apart"),
        pytest.param("Annie", "1980-01-01", False, id="twins-a-short-form-apart"),
        pytest.param("Anne", None, False, id="birth-left-out"),
    ],
)
def test_own_values_on_a_family_email_give_way_to_one_birthday_and_first_name(
    first: str, birth: str | None, merged: bool
) -> None:
    # Given Anne's contact on the family e-mail, and a second on it with a mobile of its own
    family = "the.lees@mail.com"
    anne = crm("C1", first="Anne", emails=[family], phones=["4155550171"], address=HOME)
    again = crm("C2", first=first, birth=birth, emails=[family], phones=["4155550172"],
                address=HOME)  # fmt: skip
    result = resolve(world(anne, again))
    # Then they are one member exactly when the birth date and first name say one person,
    # and the link says what agreed
    assert together(result, ("crm", "C1"), ("crm", "C2")) is merged
    if merged:
        [link] = [x for x in result.links if {x.a, x.b} == {anne.ref, again.ref}]
        said = link.evidence.get("agreed", []) + link.evidence.get("slipped", [])
        assert "birth_date" in said


@pytest.mark.parametrize(
    ("call_", "attached"),
    [
        pytest.param(
            call("I1", phone="4155550110", ref=("email", "someone.else@mail.org")),
            False,
            id="phone-says-ann-typed-email-says-someone-else",
        ),
        # A phone that names no one is no evidence against: she rings from work.
        pytest.param(
            call("I1", phone="6175550199", ref=("loyalty_id", "LD40000001")),
            True,
            id="typed-card-says-ann-unknown-phone-rings",
        ),
        pytest.param(
            call("I1", phone="6175550199", ref=("email", "ann@mail.org")),
            True,
            id="typed-email-says-ann-unknown-phone-rings",
        ),
        # The agent's slip in her own e-mail (two edits at most) is no one else's.
        pytest.param(
            call("I1", phone="4155550110", ref=("email", "ann@mial.org")),
            True,
            id="phone-says-ann-typed-email-is-hers-mistyped",
        ),
        pytest.param(
            call("I1", phone="4155550110", ref=("email", "ann.lee@mail.org")),
            False,
            id="phone-says-ann-typed-email-four-edits-off",
        ),
        pytest.param(
            call("I1", phone="4155550110", ref=("loyalty_id", "LD49999999")),
            True,
            id="ann-phone-card-typo-matching-no-card",
        ),
        pytest.param(
            call("I1", phone="4155550110", ref=("email", "ann@mail.org")),
            True,
            id="phone-and-email-agree",
        ),
        pytest.param(call("I1", phone="4155550110"), True, id="phone-alone"),
        pytest.param(
            call("I1", phone="0000000000", ref=("loyalty_id", "LD40000001")),
            True,
            id="typed-card-placeholder-phone",
        ),
    ],
)
def test_a_call_whose_evidence_disagrees_joins_no_one(call_: RecordData, attached: bool) -> None:
    # Given Ann, with her phone, e-mail and card on file
    ann = crm("C1", emails=["ann@mail.org"], phones=["+1 415 555 0110"], card="LD40000001")
    result = resolve(world(ann, call_))
    # Then the call joins her only if none of its evidence names someone else
    assert together(result, ("crm", "C1"), ("call_center", "I1")) is attached
    assert conflicts(result, "call_mismatch") == (0 if attached else 1)


def test_a_guest_purchase_keyed_by_a_hub_email_is_unattributed() -> None:
    store = "store7@shopmail.com"
    cards = [purchase(card=f"LD1000000{i}", email=store, tid=f"T{i}") for i in range(8)]
    guest = purchase(email=store, channel="online", tid="G1")
    result = resolve(world(*cards, guest))
    guest_ref = ("transactions", f"online:{store}")
    assert result.unattributed == {
        guest_ref: f"placeholder e-mail {store}: carried by many different people"
    }
    # and it is nobody's: in no member at all
    assert all(guest_ref not in component for component in result.components)


@pytest.mark.parametrize(
    ("phone", "ref", "why"),
    [
        pytest.param(None, None, NO_CALLER, id="withheld-number"),
        pytest.param("abc", None, NO_CALLER, id="a-phone-that-is-none"),
        pytest.param(
            "+15555555555", None, "placeholder phone +15555555555", id="placeholder-phone"
        ),
        pytest.param(
            None,
            ("email", "no@email.com"),
            "placeholder e-mail no@email.com",
            id="placeholder-email",
        ),
        pytest.param(HOLD_LINE, None, None, id="hold-line-of-one-caller"),
        pytest.param("+1 415 555 0177", None, None, id="a-new-callers-phone"),
    ],
)
def test_a_call_that_identifies_no_one_is_nobodys(
    phone: str | None, ref: tuple[str, str] | None, why: str | None
) -> None:
    # A call from a withheld number, or giving only a placeholder, is no one's, as a cash
    # sale is: no member of its own (it would count in totals, segments and exports)
    the_call = call("I1", phone=phone, ref=ref)
    result = resolve(world(the_call, crm("C1", phones=["+1 415 555 0110"])))
    ref_ = ("call_center", "I1")
    assert result.unattributed.get(ref_) == why
    assert any(ref_ in component for component in result.components) is (why is None)


def test_a_call_of_no_one_is_a_member_alone_when_the_rules_say_so() -> None:
    # calls_identify_no_one = false: the releases before's reading
    off = Rules(calls_identify_no_one=False)
    result = resolve(world(call("I1"), call("I2", phone="+15555555555")), off)
    assert result.unattributed == {} and len(result.components) == 2


def test_calls_on_the_hold_line_of_many_are_nobodys() -> None:
    # The hold line carried by many callers is a hub: none of its calls is a member
    calls = [call(f"I{i}", phone=HOLD_LINE) for i in range(30)]
    contacts = [crm(f"C{i}", first=f"P{i}", last=f"L{i}", phones=[HOLD_LINE]) for i in range(8)]
    result = resolve(world(*calls, *contacts))
    assert all(result.unattributed.get(("call_center", f"I{i}")) for i in range(30))


PEOPLE = [
    crm("C1", first="Ann", emails=["ann@mail.org"], card="LD70000001"),
    crm("C2", first="Bob", birth="1970-02-02", phones=[LANDLINE], card="LD70000002"),
    crm("C3", first="Anne", emails=["ann@mail.org"]),
    purchase(card="LD70000001", tid="T1"),
    purchase(email="ann@mail.org", channel="online", tid="T2"),
    visitor("a-1", logins=("C2",)),
    call("I1", phone=LANDLINE),
]
PLACEHOLDER_EMAILS = ["na@na.com", "noemail@example.com", "test@test.com", "x@x.com"]
PLACEHOLDER_PHONES = ["0000000000", "(123) 456-7890", "555-555-5555"]


def _with_placeholders(record: RecordData, emails: list[str], phones: list[str]) -> RecordData:
    """The same record, as if its lines also carried placeholders (typed at a till)."""
    extra = {
        identifier_of((kind, identifier_key(kind, value), value, via))
        for kind, values, via in (
            (IdentifierKind.EMAIL, emails, "till"),
            (IdentifierKind.PHONE, [normalize_phone(p) for p in phones], "switch"),
        )
        for value in values
    }
    return RecordData(
        record.source,
        record.key,
        record.role,
        record.identifiers | extra,
        record.first_name,
        record.last_name,
        record.birth_date,
        record.address,
    )


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(
            st.lists(st.sampled_from(PLACEHOLDER_EMAILS), max_size=2),
            st.lists(st.sampled_from(PLACEHOLDER_PHONES), max_size=1),
        ),
        min_size=len(PEOPLE),
        max_size=len(PEOPLE),
    ),
    st.lists(st.sampled_from(PLACEHOLDER_EMAILS), max_size=3),
)
def test_placeholders_never_change_the_partition_of_the_other_records(
    typed: list[tuple[list[str], list[str]]], guests: list[str]
) -> None:
    # Given the people's records, then the same with placeholders typed on any of them
    expected = resolve(world(*PEOPLE)).components
    noisy = [_with_placeholders(r, e, p) for r, (e, p) in zip(PEOPLE, typed, strict=True)]
    # and guest purchases whose only identifier is a placeholder (which make no record)
    for n, email in enumerate(guests):
        line = Transaction(
            transaction_id=f"G{n}",
            email=email,
            channel="online",
            occurred_at="2026-01-01T00:00:00Z",
            amount_cents=100,
        )
        assert record_of_line(SourceName.TRANSACTIONS, line) is None
    # Then the partition is the same
    assert resolve(world(*noisy)).components == expected


STORE_MAIL = "store004@shopmail.com"


@pytest.mark.parametrize(
    ("records", "linked"),
    [
        # A store's own address, typed at the till for guests and once for a card holder
        pytest.param(
            [purchase(email=STORE_MAIL, tid="G1"), purchase(card=CARD, email=STORE_MAIL)],
            False,
            id="store-address-typed-twice",
        ),
        # Her own address: in her contact, or on an online order she placed
        pytest.param(
            [crm("C1", "Sophie", "Martin", emails=[MAIL]), purchase(card=CARD, email=MAIL)],
            True,
            id="typed-at-the-till-given-in-the-crm",
        ),
        pytest.param(
            [purchase(email=MAIL, channel="online", tid="O1"), purchase(card=CARD, email=MAIL)],
            True,
            id="typed-at-the-till-given-online",
        ),
    ],
)
def test_a_value_only_staff_typed_links_no_one(records: list[Any], linked: bool) -> None:
    # Given records sharing an e-mail, some of it typed by staff at the till
    result = resolve(world(*records))
    # Then they are one member exactly when the customer gave it once
    assert together(result, records[0].ref, records[1].ref) is linked


CASHIER_CARD = "LD70000123"


@pytest.mark.parametrize(
    ("typed", "scanned_for_many"),
    [
        pytest.param(1, False, id="her-own-email"),
        pytest.param(2, False, id="own-and-family-email"),
        pytest.param(3, True, id="three-guests-e-receipts"),
        pytest.param(12, True, id="a-cashiers-card"),
    ],
)
def test_a_card_scanned_for_many_guests_is_nobodys(typed: int, scanned_for_many: bool) -> None:
    # Given a cashier's contact and card, and purchases on her card where the till typed
    # `typed` different e-mails for the receipt, each a guest's own (a contact of theirs)
    guests = [crm(f"G{n}", first=f"Guest{n}", emails=[f"guest{n}@mail.org"]) for n in range(typed)]
    sales = [
        purchase(card=CASHIER_CARD, email=f"guest{n}@mail.org", tid=f"T{n}") for n in range(typed)
    ]
    cashier = crm("C1", first="Cara", card=CASHIER_CARD)
    result = resolve(world(cashier, *guests, *sales))
    bag = ("transactions", f"loyalty:{CASHIER_CARD}")
    # Then past what one person gives the till, the card links no one and its sales are
    # nobody's: no guest joins the cashier, nor another guest
    assert (bag in result.unattributed) is scanned_for_many
    assert together(result, ("crm", "C1"), bag) is not scanned_for_many
    if scanned_for_many:
        assert len(result.components) == typed + 1
        assert result.unattributed[bag].startswith("placeholder card LD70000123")


@pytest.mark.parametrize(
    ("first", "last", "merged"),
    [
        pytest.param("SMITH, Linda", "", True, id="last-comma-first-in-first-name"),
        pytest.param("Smith, Linda", None, True, id="last-name-left-out"),
        pytest.param("SMITH, Mark", "", False, id="another-first-name"),
    ],
)
def test_a_name_written_last_name_first_in_one_field(
    first: str, last: str | None, merged: bool
) -> None:
    # Given Linda Smith's contact and a second one with her whole name in the first-name field
    linda = crm("C1", first="Linda", last="Smith", emails=[MAIL], card=CARD)
    again = crm("C2", first=first, last=last or "", emails=[MAIL], card=CARD)
    result = resolve(world(linda, again, purchase(card=CARD)))
    # Then it is read as last name, first name: one person exactly when the names are hers
    assert together(result, ("crm", "C1"), ("crm", "C2")) is merged


@pytest.mark.parametrize(
    ("name", "identifies"),
    [
        pytest.param("Signed Up", True, id="sign-up"),
        pytest.param("Email Opened", True, id="email-opened"),
        pytest.param("Referral Sent", False, id="referral-names-a-friend"),
        pytest.param("product shared", False, id="shared-any-case"),
    ],
)
def test_an_events_email_is_the_visitors_unless_sent_to_someone_else(
    name: str, identifies: bool
) -> None:
    # Given a web event carrying an e-mail
    found = visitor_record("a-1", None, "friend@mail.org", name)
    assert found is not None
    # Then it identifies the visitor unless the event was sent to that address
    emails = {i.key for i in found[1] if i.kind is IdentifierKind.EMAIL}
    assert (emails == {"friend@mail.org"}) is identifies


@pytest.mark.parametrize(
    ("first", "last", "merged"),
    [
        pytest.param("Walk-In", "Customer", False, id="walk-in-customer"),
        pytest.param("WALK IN", "Customer", False, id="walk-in-any-case"),
        pytest.param("Guest", "Guest", False, id="guest-guest"),
        pytest.param("Cash", "Customer", False, id="cash-customer"),
        pytest.param("x", "x", False, id="x-x"),
        pytest.param("Christian", "Gast", True, id="a-real-name-like-one"),
        pytest.param("Tess", "Store", True, id="a-real-family-name-store"),
    ],
)
def test_contacts_a_till_typed_for_whoever_stood_there_are_no_ones_duplicates(
    first: str, last: str, merged: bool
) -> None:
    # Given two contacts of one name with no birth date, on the store's e-mail, typed at tills
    store = "store12@shopmail.com"
    result = resolve(
        world(
            crm("C1", first=first, last=last, birth=None, emails=[store]),
            crm("C2", first=first, last=last, birth=None, emails=[store]),
        )
    )
    # Then a placeholder name makes them no one's duplicates: two people
    assert (len(result.components) == 1) is merged

"""Table-driven tests of the identity engine, each named after the situation it protects."""

from __future__ import annotations

import random

from membergraph.identity.engine import Resolution, resolve
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordKey
from tests.identity.builders import ADDRESS, call, crm, purchase, visitor, world

LANDLINE = "(312) 555-0100"
HOLD_LINE = "+1 888 410 7700"


def together(result: Resolution, a: RecordKey, b: RecordKey) -> bool:
    return any(a in comp and b in comp for comp in result.components)


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


def test_a_family_computer_logged_in_as_two_people_is_a_shared_device() -> None:
    result = resolve(
        world(
            crm("C1", first="Ann"),
            crm("C2", first="Bob", birth="1971-01-01"),
            visitor("a-1", logins=("C1", "C2")),
        )
    )
    assert len(result.components) == 3
    assert conflicts(result, "shared_device") == 1


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

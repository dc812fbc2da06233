"""Two contacts of close names on one phone, a birth date left out on one, each with values of
her own: one person when one contact fell silent before the other began, her old contact and
card stopping when she enrolled again (``reenrolments.one_after_the_other``; issue 19: her
contacts apart on a shared phone)."""

from __future__ import annotations

from typing import Any

import pytest

from membergraph.connectors.models import CrmContact, SourceName
from membergraph.identity.engine import resolve
from membergraph.identity.handovers import one_after_the_other
from membergraph.identity.line_records import record_of_line
from membergraph.identity.phone_duplicates import ReenrolmentRules
from membergraph.identity.records import RecordData
from membergraph.identity.rules import Rules
from tests.identity.builders import purchase, world
from tests.identity.test_cards_apart import together

HOME = {"line1": "8698 Lincoln Ct", "city": "Springfield", "postal_code": "58074", "country": "US"}
LANDLINE = "3135379107"
# The handover on a shared phone alone is off by default (handover_on_a_phone): these
# tests name it on, to read its guards; on her card's orders it is on (test_her_new_cards_...).
ON = Rules(reenrolments=ReenrolmentRules(handover_on_a_phone=True))
OFF = Rules(reenrolments=ReenrolmentRules(one_after_the_other=False, handover_on_a_phone=True))


def contact(key: str, written: str | None, **fields: Any) -> RecordData:
    line = CrmContact.model_validate(
        {"contact_id": key, "first_name": "Jessica", "last_name": "Williams",
         "address": HOME, "updated_at": written, **fields}
    )  # fmt: skip
    record = record_of_line(SourceName.CRM, line)
    assert record is not None
    return record


def purchases(card: str, *days: str) -> list[RecordData]:
    return [purchase(card=card, tid=f"{card}-{day}", at=f"{day}T12:00:00Z") for day in days]


# Her first contact, dated, written in 2019, its card used in the first half of 2024; her
# second, undated, on the landline with a card and an address of its own, each naming her
# (jessica.williams@ beside jwilliams@: no handle to tell a re-enrolment by).
@pytest.mark.parametrize(
    ("second", "first_card", "rules", "merged"),
    [
        # Written and used after her first card's last purchase: she enrolled again.
        pytest.param({}, ("2024-01-10", "2024-06-30"), ON, True, id="one-after-the-other"),
        pytest.param({}, (), ON, True, id="first-card-never-used"),
        pytest.param({}, ("2024-01-10", "2024-06-30"), OFF, False, id="rule-off"),
        pytest.param({}, ("2024-01-10", "2024-06-30"), Rules(), False,
                     id="not-on-a-phone-alone-by-default"),
        # Her first card used after the second contact began: two people side by side.
        pytest.param({}, ("2024-01-10", "2025-06-30"), ON, False, id="first-card-used-on"),
        pytest.param({"updated_at": "2024-03-01T09:00:00Z"}, ("2024-01-10", "2024-06-30"),
                     ON, False, id="second-written-while-first-used"),
        # A contact without updated_at tells no time.
        pytest.param({"updated_at": None}, ("2024-01-10", "2024-06-30"), ON, False,
                     id="second-undated-line"),
        # A mobile of her own on each beside the landline: a mother and her daughter.
        pytest.param({"phones": [LANDLINE, "3135550142"]}, ("2024-01-10", "2024-06-30"),
                     ON, False, id="a-mobile-of-her-own-each"),
    ],
)  # fmt: skip
def test_one_contact_after_the_other(
    second: dict[str, Any], first_card: tuple[str, ...], rules: Rules, merged: bool
) -> None:
    # Given her first contact and card, and her second contact, whose card she uses in 2025-26
    first = contact("C0000001", "2019-05-01T10:00:00Z", birth_date="1984-03-02",
                    phones=[LANDLINE, "3135550199"], emails=["jessica.williams@hotmail.com"],
                    loyalty_id="LD61000001")  # fmt: skip
    fields = {"updated_at": "2025-02-01T10:00:00Z", "phones": [LANDLINE], **second}
    other = contact("C0000002", fields.pop("updated_at"), emails=["jwilliams@gmail.com"],
                    loyalty_id="LD61000002", **fields)  # fmt: skip
    cards = purchases("LD61000001", *first_card) + purchases(
        "LD61000002", "2025-02-03", "2026-03-01"
    )
    # When resolved
    result = resolve(world(first, other, *cards), rules)
    # Then one member exactly when the first fell silent before the second began
    assert together(result, first.ref, other.ref) is merged


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param("2019-05-01T10:00:00Z", "2025-02-01T10:00:00Z", True, id="years-apart"),
        pytest.param("2025-02-01T10:00:00Z", "2019-05-01T10:00:00Z", True, id="either-order"),
        pytest.param("2025-02-01T08:00:00Z", "2025-02-01T20:00:00Z", False, id="one-day"),
        pytest.param(None, "2025-02-01T10:00:00Z", False, id="no-time"),
    ],
)
def test_spans_by_their_writes(old: str | None, new: str | None, expected: bool) -> None:
    # Given two contacts with no card, written at these times
    a, b = contact("C0000001", old), contact("C0000002", new)
    # When their spans are compared, then one is after the other only on days apart
    assert one_after_the_other(a, b, {}) is expected


@pytest.mark.parametrize(
    ("first_card", "rules", "merged"),
    [
        pytest.param(("2024-01-10", "2024-06-30"), Rules(), True, id="one-after-the-other"),
        pytest.param(("2024-01-10", "2024-06-30"), OFF, False, id="rule-off"),
        pytest.param(("2024-01-10", "2025-06-30"), Rules(), False, id="first-card-used-on"),
    ],
)  # fmt: skip
def test_her_new_cards_orders_give_her_old_address(
    first_card: tuple[str, ...], rules: Rules, merged: bool
) -> None:
    # Given her first contact, card and address, and a second contact with an address of
    # its own and no phone, whose card orders online under her first address
    first = contact("C0000001", "2019-05-01T10:00:00Z", birth_date="1984-03-02",
                    phones=["3135550199"], emails=["jessica.williams@hotmail.com"],
                    loyalty_id="LD61000001")  # fmt: skip
    other = contact("C0000002", "2025-02-01T10:00:00Z", emails=["jwilliams@gmail.com"],
                    loyalty_id="LD61000002")  # fmt: skip
    orders = [
        purchase(card="LD61000002", email="jessica.williams@hotmail.com", channel="online",
                 tid=f"W{n}", at=f"{day}T12:00:00Z")
        for n, day in enumerate(("2025-03-01", "2025-06-01", "2025-09-01"))
    ]  # fmt: skip
    cards = purchases("LD61000001", *first_card) + purchases("LD61000002", "2026-03-01")
    # When resolved
    result = resolve(world(first, other, *orders, *cards), rules)
    # Then her two contacts are one member exactly when the first fell silent first
    assert together(result, first.ref, other.ref) is merged


@pytest.mark.parametrize(
    ("births", "merged"),
    [
        # Born one day, named a letter apart: twins, enrolled years apart as often.
        pytest.param(("1999-06-03", "1999-06-03"), False, id="twins-born-one-day"),
        pytest.param(("1999-06-03", None), True, id="a-birth-date-left-out"),
    ],
)
def test_twins_enrolled_years_apart(births: tuple[str | None, str | None], merged: bool) -> None:
    # Given Sean Wallace on the family's phone with a mobile and a card of his own, written
    # in 2019, and Sea Wallace on the same phone with an e-mail and a card of her own, from 2024
    sean = contact("C0000001", "2019-05-01T10:00:00Z", first_name="Sean", last_name="Wallace",
                   birth_date=births[0], phones=[LANDLINE, "3135550199"],
                   loyalty_id="LD61000001")  # fmt: skip
    sea = contact("C0000002", "2024-02-01T10:00:00Z", first_name="Sea", last_name="Wallace",
                  birth_date=births[1], phones=[LANDLINE], emails=["swallace99959@yahoo.com"],
                  loyalty_id="LD61000002")  # fmt: skip
    # When resolved
    result = resolve(world(sean, sea, *purchases("LD61000002", "2024-03-01")), ON)
    # Then the dates alone never make twins one person
    assert together(result, sean.ref, sea.ref) is merged


@pytest.mark.parametrize(
    ("second_name", "merged"),
    [
        pytest.param("Tim", True, id="her-short-form"),
        pytest.param("Timohty", True, id="a-typing"),
        # Jimmy is one slip from Timmy (Timothy's short form), but a name of its own: the
        # son's contact beginning as his father's falls silent on the household's landline.
        pytest.param("JIMMY", False, id="another-name-close-by-letters"),
    ],
)
def test_the_handover_needs_her_own_first_name_again(second_name: str, merged: bool) -> None:
    # Given Timothy Wilson's contact, written in 2019, its card used in the first half of
    # 2024, and a contact on the landline written in 2025 with an e-mail and card of its own
    first = contact("C0000001", "2019-05-01T10:00:00Z", first_name="Timothy",
                    last_name="Wilson", birth_date="1968-03-02", phones=[LANDLINE],
                    emails=["thewilsons28@yahoo.com"], loyalty_id="LD61000001")  # fmt: skip
    other = contact("C0000002", "2025-02-01T10:00:00Z", first_name=second_name,
                    last_name="Wilson", phones=[LANDLINE], emails=["coffeelover6837@live.ca"],
                    loyalty_id="LD61000002")  # fmt: skip
    cards = purchases("LD61000001", "2024-01-10", "2024-06-30") + purchases(
        "LD61000002", "2025-02-03", "2026-03-01"
    )
    # When resolved
    result = resolve(world(first, other, *cards), ON)
    # Then one member only when the second gives his first name again
    assert together(result, first.ref, other.ref) is merged


@pytest.mark.parametrize(
    ("first_written", "least_age", "merged"),
    [
        # Her old contact written in 2016, when the Sarah born in 2008 was eight: her
        # mother's, of one name, on the landline the daughter enrols on in 2026.
        pytest.param("2016-03-23T04:40:39Z", 16, False, id="seen-while-she-was-a-child"),
        pytest.param("2024-06-01T10:00:00Z", 16, True, id="seen-once-she-was-grown"),
        pytest.param("2016-03-23T04:40:39Z", 0, True, id="no-least-age"),
    ],
)
def test_a_contact_seen_while_she_was_a_child_is_not_hers(
    first_written: str, least_age: int, merged: bool
) -> None:
    # Given an undated Sarah Rogers on the landline with a mobile and an e-mail of her own,
    # and Sarah Rogers born 2008 on that landline alone, written in 2026 with her own e-mail
    first = contact("BSM-19527", first_written, first_name="Sarah", last_name="Rogers",
                    phones=[LANDLINE, "2482905088"], emails=["sarah_rogers@aol.com"],
                    loyalty_id="BM616178")  # fmt: skip
    other = contact("C0028090", "2026-01-01T00:00:00Z", first_name="Sarah",
                    last_name="Rogers", birth_date="2008-03-12", phones=[LANDLINE],
                    emails=["rogerss@rogers.com"])  # fmt: skip
    rules = Rules(
        reenrolments=ReenrolmentRules(handover_least_age=least_age, handover_on_a_phone=True)
    )
    # When resolved
    result = resolve(world(first, other), rules)
    # Then one member only when both were seen once she was grown
    assert together(result, first.ref, other.ref) is merged


@pytest.mark.parametrize(
    ("old_card", "first_holds_a_card", "merged"),
    [
        # A web contact of 2020 without a card, and a store contact of 2023 listing that
        # contact's mobile as a relative's beside its own: a son and his father (s161).
        pytest.param(True, False, False, id="the-old-contact-holds-no-card"),
        pytest.param(True, True, True, id="the-old-contact-holds-a-card"),
        pytest.param(False, False, True, id="rule-off"),
    ],
)
def test_the_contact_that_fell_silent_holds_a_card(
    old_card: bool, first_holds_a_card: bool, merged: bool
) -> None:
    # Given Daniel Parker born 1976, on his mobile alone, written in 2020, and his father
    # with a placeholder birth date, that mobile and one of his own, written in 2023, each
    # with an e-mail of his own, the second's card used through 2024
    card = {"loyalty_id": "LD61000001"} if first_holds_a_card else {}
    first = contact("C0017000", "2020-01-02T11:36:19Z", first_name="Daniel", last_name="Parker",
                    birth_date="1976-12-26", phones=["2897049440"], address=None,
                    emails=["daniel.parker28@gmail.com"], **card)  # fmt: skip
    other = contact("C0023761", "2023-06-12T05:48:29Z", first_name="Daniel",
                    last_name="Parker", birth_date="1900-01-01",
                    phones=["4388983045", "2897049440"], emails=["danielparker@gmail.com"],
                    loyalty_id="LD61000002")  # fmt: skip
    rules = Rules(
        reenrolments=ReenrolmentRules(handover_old_card=old_card, handover_on_a_phone=True)
    )
    cards = purchases("LD61000002", "2023-06-12", "2024-03-19")
    # When resolved
    result = resolve(world(first, other, *cards), rules)
    # Then one member only when the contact that fell silent is a card's
    assert together(result, first.ref, other.ref) is merged

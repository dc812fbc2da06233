"""An identifier written wrongly is never dropped without a word (user24, F1).

A card with a stray character (a trailing NUL, a zero-width space, full-width letters) was
refused as a card, and the purchase answered ``unattributed`` "no card and no e-mail address
(a cash sale)": the member never got it. A contact's or a call's phone, card or e-mail that
is none was dropped, the line ``created`` without a word. Now what can be read is read (the
card is the member's), and what cannot is left out with a warning naming the field and why;
a purchase whose only identifier it was says so in its reason.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from membergraph.identity.values import NO_CALLER
from tests.conftest import gql

CARD = "LD-4242-0042"
CONTACT = {"contact_id": "C-CARD-1", "first_name": "Ann", "loyalty_id": CARD}
BY_CRM_ID = """query($v: String!) { memberByIdentifier(kind: CRM_ID, value: $v) {
  id identifiers { kind } } }"""


def _sale(number: int, card: str | None, email: str | None = None) -> dict[str, object]:
    return {
        "transaction_id": f"T-CARD-{number}",
        "loyalty_id": card,
        "email": email,
        "channel": "store",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 500,
    }


@pytest.mark.parametrize(
    "card",
    [
        pytest.param(CARD + "\x00", id="trailing-nul"),
        pytest.param(CARD[:-1] + "\u200b" + CARD[-1], id="zero-width-space"),
        pytest.param("\ufeff" + CARD, id="byte-order-mark"),
        pytest.param("ＬＤ-４２４２-００４２", id="full-width"),
        pytest.param(CARD.replace("-", "\u00a0"), id="no-break-spaces"),
    ],
)
def test_a_card_with_an_unseen_character_is_the_members_card(client: TestClient, card: str) -> None:
    # Given a member holding a card
    assert client.post("/ingest/crm", json=[CONTACT]).json()["lines"][0]["status"] == "created"
    # When a till sends a purchase with that card and a character no one sees
    line = client.post("/ingest/transactions", json=[_sale(1, card)]).json()["lines"][0]
    # Then it is the card's purchase, said without a warning
    assert line["status"] == "created", line
    assert line["record"] == {"source": "transactions", "key": "loyalty:LD42420042"}, line
    assert "warnings" not in line, line
    # and a lookup by the card as sent finds the member
    found = gql(
        client,
        "query($v: String!) { memberByIdentifier(kind: LOYALTY_ID, value: $v) { id } }",
        v=card,
    )
    assert found["data"]["memberByIdentifier"] is not None, found  # type: ignore[index]


@pytest.mark.parametrize(
    "card",
    [
        pytest.param(CARD + " (old)", id="note-after-card"),
        pytest.param("???", id="question-marks"),
        pytest.param("\x00", id="nul-alone"),
        pytest.param("x" * 300, id="too-long"),
    ],
)
def test_a_purchase_whose_only_card_is_none_says_which_field_and_why(
    client: TestClient, card: str
) -> None:
    # When a purchase's only identifier is a card written as none
    answer = client.post("/ingest/transactions", json=[_sale(2, card)])
    # Then it is kept, nobody's, and its reason names the field and says what is wrong
    assert answer.status_code == 200, answer.text
    line = answer.json()["lines"][0]
    assert line["status"] == "unattributed" and line["kept"] is True, line
    assert line["reason"].startswith("loyalty_id left out: "), line
    assert "is not a loyalty number (4-32 letters and digits)" in line["reason"], line
    assert "cash sale" not in line["reason"], line
    assert line["warnings"] == [line["reason"]], line


def test_a_purchase_with_a_bad_card_and_a_good_email_warns_of_the_card(
    client: TestClient,
) -> None:
    # When an online order gives a card written as none and a good e-mail
    sale = {**_sale(3, "???", "ann.card@mail.org"), "channel": "online"}
    line = client.post("/ingest/transactions", json=[sale]).json()["lines"][0]
    # Then it is the e-mail's, and the card left out is said
    assert line["status"] == "created", line
    assert line["record"]["key"] == "online:ann.card@mail.org", line
    assert line["warnings"] == [
        "loyalty_id left out: '???' is not a loyalty number (4-32 letters and digits)"
    ], line


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        pytest.param("loyalty_id", CARD + " (old)", "loyalty_id left out: ", id="card"),
        pytest.param("phones", ["abc"], "phones[0] left out: 'abc' is not a phone", id="phone"),
        pytest.param("emails", ["ann@-shop.com"], "emails[0] left out: ", id="email-hyphen"),
        pytest.param("emails", ["ann@shop"], "emails[0] left out: ", id="email-no-dot"),
    ],
)
def test_a_contacts_identifier_written_as_none_is_left_out_with_a_warning(
    client: TestClient, field: str, value: object, said: str
) -> None:
    # When a contact gives an identifier that is none of its kind
    contact = {"contact_id": "C-BAD-1", "first_name": "Bad", field: value}
    line = client.post("/ingest/crm", json=[contact]).json()["lines"][0]
    # Then the contact is created, warned of the value left out, naming the field
    assert line["status"] == "created", line
    assert len(line["warnings"]) == 1 and line["warnings"][0].startswith(said), line
    # and its member has its contact id alone
    member = gql(client, BY_CRM_ID, v="C-BAD-1")["data"]["memberByIdentifier"]  # type: ignore[index]
    assert [i["kind"] for i in member["identifiers"]] == ["CRM_ID"], member


def test_a_call_with_a_caller_phone_and_a_card_written_as_none_warns_of_both(
    client: TestClient,
) -> None:
    call = {
        "interaction_id": "I-BAD-1",
        "caller_phone": "not a phone",
        "account_ref": {"kind": "loyalty_id", "value": "???"},
        "started_at": "2026-11-20T10:00:00Z",
    }
    line = client.post("/ingest/call_center", json=[call]).json()["lines"][0]
    # Both left out, it identifies no one: kept, in no member, and said why
    assert (line["status"], line["reason"]) == ("unattributed", NO_CALLER), line
    assert [w.split(":")[0] for w in line["warnings"]] == [
        "caller_phone left out",
        "account_ref.value left out",
    ], line


def test_a_line_of_good_identifiers_carries_no_warnings(client: TestClient) -> None:
    contact = {**CONTACT, "emails": ["ann@mail.org"], "phones": ["(415) 555-0134"]}
    line = client.post("/ingest/crm", json=[contact]).json()["lines"][0]
    assert line["status"] == "created" and "warnings" not in line, line

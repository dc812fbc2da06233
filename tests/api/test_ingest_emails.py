"""What is an e-mail address is email-validator's judgement (issue 21), after our own clean-up.

The regex before it took anything with an ``@`` and dotted labels: a domain label starting
with a hyphen, an underscore in a domain, a 300-character local part, ``a..b@`` and a
special-use domain were identifiers, and a card-less purchase keyed by one made an "online
customer" of it. Now each is no identifier: a purchase naming only it is kept for the books,
nobody's, with the library's reason (a till's typo is no error of the sender's: not
``rejected``), and a lookup by it answers a ``BAD_USER_INPUT`` saying what is wrong.
"""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from tests.conftest import gql

LOOKUP = """query($v: String!) { memberByIdentifier(kind: EMAIL, value: $v) { id } }"""
ORDER = {
    "transaction_id": "T-MAIL",
    "channel": "online",
    "occurred_at": "2026-11-20T10:00:00Z",
    "amount_cents": 1900,
}

NOT_ADDRESSES = [
    pytest.param("ann@-shop.com", "hyphen immediately after the @-sign", id="label-starts-hyphen"),
    pytest.param("ann@shop-.com", "period and a hyphen next to each other", id="label-ends-hyphen"),
    pytest.param("ann@my_shop.com", "invalid characters: '_'", id="underscore-in-domain"),
    pytest.param("a" * 300 + "@shop.com", "too long", id="local-part-300-characters"),
    pytest.param("ann..lee@shop.com", "two periods in a row", id="two-dots-in-local-part"),
    pytest.param("ann;bo@shop.com", "invalid characters before the @-sign", id="semicolon"),
    pytest.param("ann@[10.0.0.1]", "bracketed IP address", id="domain-literal"),
    pytest.param("ann@printer.local", "special-use or reserved name", id="special-use-local"),
    pytest.param("ann@shop.test", "special-use or reserved name", id="special-use-test"),
    pytest.param("ann@10.0.0.1", "not within a valid top-level domain", id="numeric-domain"),
]


@pytest.mark.parametrize(("email", "why"), NOT_ADDRESSES)
def test_a_purchase_keyed_by_a_non_address_is_nobodys_saying_why(
    client: TestClient, email: str, why: str
) -> None:
    # Given a card-less online order whose only identifier is written as an address but is none
    answer = client.post("/ingest/transactions", json=[{**ORDER, "email": email}])
    # Then it is kept for the books, nobody's, with the library's reason
    assert answer.status_code == 200, answer.text
    line = answer.json()["lines"][0]
    assert line["status"] == "unattributed" and line["kept"] is True, line
    assert "is not an e-mail address" in line["reason"] and why in line["reason"], line
    # and no member is found by it: the lookup says what is wrong with the value
    found = gql(client, LOOKUP, v=email)
    assert found["data"] == {"memberByIdentifier": None}, found
    error = found["errors"][0]  # type: ignore[index]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and why in error["message"], error


@pytest.mark.parametrize(("email", "why"), NOT_ADDRESSES[:3])
def test_a_contacts_non_address_is_no_identifier_and_the_contact_is_kept(
    client: TestClient, email: str, why: str
) -> None:
    # Given a contact whose only e-mail is no address, and a card
    contact = {
        "contact_id": "C-MAIL-1",
        "first_name": "Ann",
        "emails": [email],
        "loyalty_id": "LD-7733-2026",
    }
    assert client.post("/ingest/crm", json=[contact]).json()["lines"][0]["status"] == "created"
    # Then the contact is a member found by its card, and its profile lists no such e-mail
    card = """{ memberByIdentifier(kind: LOYALTY_ID, value: "LD-7733-2026") {
      profile { emails { value } } } }"""
    member = gql(client, card)["data"]["memberByIdentifier"]  # type: ignore[index]
    assert member is not None and member["profile"]["emails"] == [], member


@pytest.mark.parametrize(
    ("email", "stored"),
    [
        pytest.param("Jöhn@Exämple.com", "jöhn@exämple.com", id="internationalized"),
        pytest.param("ann@shop.example", "ann@shop.example", id="documentation-domain"),
        pytest.param("MAILTO:Ann.Lee@Mailbox.org.", "ann.lee@mailbox.org", id="mailto-root-dot"),
        pytest.param("=cmd+2@shop.com", "=cmd+2@shop.com", id="formula-like-but-valid"),
    ],
)
def test_an_address_the_regex_took_is_still_taken_as_it_was(
    client: TestClient, email: str, stored: str
) -> None:
    # Given a card-less order naming a real address
    answer = client.post("/ingest/transactions", json=[{**ORDER, "email": email}])
    line = answer.json()["lines"][0]
    # Then its record is keyed by the address as before (identity keys stay stable)
    assert line["status"] == "created" and line["record"]["key"] == f"online:{stored}", line
    assert gql(client, LOOKUP, v=email)["data"]["memberByIdentifier"] is not None  # type: ignore[index]


def test_a_browsers_punycode_and_the_crms_unicode_are_one_mailbox(client: TestClient) -> None:
    # Given John's contact as the CRM holds it, and his order as his browser's e-mail input
    # sent it (Chrome writes an internationalized domain in punycode)
    contact = {"contact_id": "C-JO", "first_name": "Jöhn", "emails": ["Jöhn@Exämple.com"]}
    assert client.post("/ingest/crm", json=[contact]).json()["lines"][0]["status"] == "created"
    sent = client.post("/ingest/transactions", json=[{**ORDER, "email": "jöhn@xn--exmple-cua.com"}])
    # Then the order is his: one record key, one member, found by any spelling
    line = sent.json()["lines"][0]
    assert line["record"]["key"] == "online:jöhn@exämple.com", line
    found = {
        gql(client, LOOKUP, v=v)["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
        for v in ("jöhn@exämple.com", "JÖHN@XN--EXMPLE-CUA.COM", "jöhn@ｅｘäｍｐｌｅ。ｃｏｍ")
    }
    card = """{ memberByIdentifier(kind: CRM_ID, value: "C-JO") { id } }"""
    assert found == {gql(client, card)["data"]["memberByIdentifier"]["id"]}  # type: ignore[index]
    # And a punycode that decodes to no domain is a bad identifier, as any non-address
    error = gql(client, LOOKUP, v="jöhn@xn--zz.com")["errors"][0]  # type: ignore[index]
    assert error["extensions"]["code"] == "BAD_USER_INPUT" and "IDNA" in error["message"], error

"""Questionable values a line may carry are refused alone, saying which field and why.

A boolean is not a number; a time of year 1 or 9999 is a placeholder (and one in 9999 would
make every later version of its line stale); nobody is born after today, or before 1900 but
on a dummy date forms put for none; an id with a NUL or 300,000 characters is no
id; a ``mailto:`` link is the address it opens, suppressed or not.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from membergraph.connectors.models import Transaction
from tests.conftest import gql

PURCHASE = {
    "transaction_id": "T-VAL-1",
    "loyalty_id": "LD-5150-2026",
    "channel": "store",
    "occurred_at": "2026-11-20T10:00:00Z",
    "amount_cents": 2500,
    "points_earned": 25,
}
CONTACT = {"contact_id": "C-VAL-1", "first_name": "Val", "emails": ["val.id@example.org"]}
EVENT = {
    "event_id": "E-VAL-1",
    "anonymous_id": "anon-val-1",
    "type": "track",
    "name": "Offer Sent",
    "occurred_at": "2026-11-20T10:00:00Z",
    "properties": {"offer": "BONUS-5", "channel": "email"},
}


@pytest.mark.parametrize(
    ("source", "line", "field", "why"),
    [
        pytest.param(
            "transactions",
            {**PURCHASE, "amount_cents": True},
            "amount_cents",
            "not true or false",
            id="bool-amount",
        ),
        pytest.param(
            "transactions",
            {**PURCHASE, "points_earned": False},
            "points_earned",
            "not true or false",
            id="bool-points",
        ),
        pytest.param(
            "transactions",
            {**PURCHASE, "amount_cents": "1_000"},
            "amount_cents",
            "without underscores",
            id="underscore-amount",
        ),
        pytest.param(
            "transactions",
            {**PURCHASE, "amount_cents": "12.50"},
            "amount_cents",
            "100 cents",
            id="amount-in-currency-units",
        ),
        pytest.param(
            "transactions",
            {**PURCHASE, "amount_cents": "1.00"},
            "amount_cents",
            "text with a decimal point",
            id="whole-amount-in-currency-units",
        ),
        pytest.param(
            "transactions",
            {**PURCHASE, "items": [{"sku": "S1", "quantity": "1_0"}]},
            "quantity",
            "without underscores",
            id="underscore-quantity",
        ),
        pytest.param(
            "transactions",
            {**PURCHASE, "occurred_at": "9999-12-31T00:00:00Z"},
            "occurred_at",
            "outside",
            id="year-9999",
        ),
        pytest.param(
            "transactions",
            {**PURCHASE, "occurred_at": "0001-01-01T00:00:00Z"},
            "occurred_at",
            "outside",
            id="year-1",
        ),
        pytest.param(
            "transactions",
            {**PURCHASE, "updated_at": "9999-12-31T00:00:00Z"},
            "updated_at",
            "outside",
            id="updated-9999",
        ),
        pytest.param(
            "transactions",
            {**PURCHASE, "currency": "Monopoly money"},
            "currency",
            "no ISO 4217 currency code",
            id="currency-words",
        ),
        pytest.param(
            "transactions",
            {**PURCHASE, "currency": "€"},
            "currency",
            "no ISO 4217 currency code",
            id="currency-sign",
        ),
        pytest.param(
            "crm",
            {**CONTACT, "birth_date": "2999-01-01"},
            "birth_date",
            "2999-01-01 is in the future",
            id="born-2999",
        ),
        pytest.param(
            "crm",
            {**CONTACT, "birth_date": "1850-03-04"},
            "birth_date",
            "1850-03-04 is before 1900-01-01",
            id="born-1850",
        ),
        pytest.param(
            "crm", {**CONTACT, "contact_id": "C-\u0000-1"}, "contact_id", "control", id="nul-in-id"
        ),
        pytest.param(
            "transactions",
            {**PURCHASE, "store_id": "S1\u0000"},
            "store_id",
            "control character (U+0000)",
            id="nul-in-store-id",
        ),
        pytest.param(
            "transactions",
            {**PURCHASE, "items": [{"sku": "A-1"}, {"sku": "B-2\u0000"}]},
            "items[1].sku",
            "control character (U+0000)",
            id="nul-in-an-items-sku",
        ),
        pytest.param(
            "transactions",
            {**PURCHASE, "items": [{"sku": "A-1", "category": "mugs\u001b"}]},
            "items[0].category",
            "control character (U+001B)",
            id="escape-in-an-items-category",
        ),
        pytest.param(
            "web_analytics",
            {**EVENT, "properties": {"offer": "BONUS-5\u0000", "channel": "email"}},
            "properties.offer",
            "control character (U+0000)",
            id="nul-in-an-offer-property",
        ),
        pytest.param(
            "web_analytics",
            {**EVENT, "properties": {"offer": "BONUS-5", "channel": "e\u0007mail"}},
            "properties.channel",
            "control character (U+0007)",
            id="bell-in-a-channel-property",
        ),
        pytest.param(
            "crm",
            {**CONTACT, "first_name": "Val\u0007"},
            "first_name",
            "control character (U+0007)",
            id="bell-in-name",
        ),
        pytest.param(
            "call_center",
            {
                "interaction_id": "I-CTL",
                "caller_phone": "+14155550134",
                "started_at": "2026-11-20T10:00:00Z",
                "agent_id": "a\u001b[31m1",
            },
            "agent_id",
            "control character (U+001B)",
            id="escape-in-agent-id",
        ),
        pytest.param(
            "crm",
            {**CONTACT, "contact_id": "C" * 60_000},
            "contact_id",
            "longer than 200",
            id="huge-id",
        ),
        pytest.param(
            "call_center",
            {
                "interaction_id": "I-VAL",
                "caller_phone": "+14155550134",
                "started_at": "2026-11-20T10:00:00Z",
                "sentiment": True,
            },
            "sentiment",
            "number",
            id="bool-sentiment",
        ),
    ],
)
def test_a_questionable_value_is_refused_alone_naming_the_field(
    client: TestClient, source: str, line: dict[str, Any], field: str, why: str
) -> None:
    goods = {
        "transactions": {**PURCHASE, "transaction_id": "T-VAL-GOOD"},
        "web_analytics": {**EVENT, "event_id": "E-VAL-GOOD"},
    }
    good = goods.get(source)  # taken beside it: the answer is per line
    lines = [line] if good is None else [good, line]
    answer = client.post(f"/ingest/{source}", json=lines)
    refused = answer.json()["lines"][-1]
    assert refused["status"] == "rejected", refused
    assert field in refused["error"] and why in refused["error"], refused["error"]
    if good is not None:
        assert answer.status_code == 207 and answer.json()["lines"][0]["status"] == "created"


def test_only_birth_dates_nobody_has_are_refused_not_today_nor_the_dummy_ones(
    client: TestClient,
) -> None:
    from datetime import UTC, datetime, timedelta

    # Given contacts born today, on the dummy dates forms put for none (the match rules read
    # them as left out), in 2999 and the day after tomorrow
    now = datetime.now(UTC)
    born = [now.date(), "1900-01-01", "0001-01-01", "1111-11-11", "2999-01-01", now + timedelta(2)]
    contacts = [
        {**CONTACT, "contact_id": f"C-VAL-B{n}", "birth_date": str(day)[:10]}
        for n, day in enumerate(born)
    ]
    # When they are pushed together
    answer = client.post("/ingest/crm", json=contacts)
    # Then only the last two are refused, each alone
    statuses = [line["status"] for line in answer.json()["lines"]]
    assert statuses == ["created"] * 4 + ["rejected"] * 2


def test_a_currency_code_is_read_in_any_case_and_spacing(client: TestClient) -> None:
    # Given a till that writes its currency in lower case with a space
    line = {**PURCHASE, "transaction_id": "T-VAL-CUR", "currency": " cad"}
    # When it is pushed, then it is taken and shown as the code it is
    assert client.post("/ingest/transactions", json=[line]).json()["lines"][0]["status"] == (
        "created"
    )
    query = '{ memberByIdentifier(kind: LOYALTY_ID, value: "LD-5150-2026") {'
    query += " transactions(first: 5) { edges { node { transactionId currency } } } } }"
    found = gql(client, query)["data"]["memberByIdentifier"]["transactions"]["edges"]
    assert {"transactionId": "T-VAL-CUR", "currency": "CAD"} in [e["node"] for e in found]


def test_a_time_within_a_day_ahead_is_taken(client: TestClient) -> None:
    from datetime import UTC, datetime, timedelta

    soon = (datetime.now(UTC) + timedelta(hours=20)).isoformat()
    answer = client.post("/ingest/transactions", json=[{**PURCHASE, "occurred_at": soon}])
    assert answer.json()["lines"][0]["status"] == "created"


SUPPRESS = """mutation($v: String!) { suppress(kind: EMAIL, value: $v) }"""
LOOKUP = """query($v: String!) { memberByIdentifier(kind: EMAIL, value: $v) { id } }"""


def test_a_mailto_link_is_the_address_it_opens_and_a_suppressed_one_is_refused(
    client: TestClient,
) -> None:
    # Given an address suppressed
    assert gql(client, SUPPRESS, v="sup.pressed.adv@gmail.com")["data"] == {"suppress": True}
    # When a line carries it as a mailto: link
    order = {
        "transaction_id": "T-VAL-MAILTO",
        "email": "mailto:sup.pressed.adv@gmail.com",
        "channel": "online",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 1200,
    }
    sent = client.post("/ingest/transactions", json=[order])
    # Then it is refused as suppressed, and no identifier was made of it
    assert sent.json()["lines"][0]["status"] == "suppressed"
    # And a mailto: link of another address is that address
    other = {**order, "transaction_id": "T-VAL-MAILTO-2", "email": "MailTo:Open.Link@Mailbox.org"}
    assert (
        client.post("/ingest/transactions", json=[other]).json()["lines"][0]["status"] == "created"
    )
    found = gql(client, LOOKUP, v="open.link@mailbox.org")["data"]["memberByIdentifier"]  # type: ignore[index]
    assert found is not None


@pytest.mark.parametrize(
    ("written", "read"),
    [
        pytest.param(1764000000, "2025-11-24T16:00:00+00:00", id="seconds"),
        pytest.param("1764000000", "2025-11-24T16:00:00+00:00", id="seconds-in-a-string"),
        pytest.param(1764000000000, "2025-11-24T16:00:00+00:00", id="milliseconds"),
        pytest.param(0, "1970-01-01T00:00:00+00:00", id="zero"),
        pytest.param("2026-01-01", "2026-01-01T00:00:00+00:00", id="date-alone"),
    ],
)
def test_a_time_written_as_a_number_is_read_as_docs_change_feed_says(
    written: object, read: str
) -> None:
    # docs/change-feed.md, Ranges: Unix seconds, milliseconds over 2x10^10, a date's midnight
    line = Transaction.model_validate({**PURCHASE, "occurred_at": written})
    assert line.occurred_at.isoformat() == read


def test_tabs_and_line_ends_are_text_and_a_cards_nul_is_read_past(client: TestClient) -> None:
    # Notes have paragraphs; an identifier is read past what no one sees (docs/bad-input.md)
    call = {
        "interaction_id": "I-TEXT",
        "caller_phone": "+14155550134",
        "started_at": "2026-11-20T10:00:00Z",
        "notes": "line one\n\tline two\r\n",
    }
    sale = {**PURCHASE, "transaction_id": "T-NUL-CARD", "loyalty_id": "LD-5150-2026\u0000"}
    assert client.post("/ingest/call_center", json=[call]).json()["lines"][0]["status"] == "created"
    line = client.post("/ingest/transactions", json=[sale]).json()["lines"][0]
    assert line["status"] == "created" and line["record"]["key"] == "loyalty:LD51502026", line


def test_an_events_own_properties_and_an_items_own_fields_are_taken_as_sent(
    client: TestClient,
) -> None:
    # Given an event whose site-own property holds a NUL, and an item's field no model names
    event = {**EVENT, "event_id": "E-FREE", "properties": {"q": "tea\u0000pot", "offer": "B-1"}}
    sale = {**PURCHASE, "transaction_id": "T-FREE", "items": [{"sku": "A-1", "name": "Mug\u0000"}]}
    # When they are pushed
    seen = client.post("/ingest/web_analytics", json=[event]).json()["lines"][0]
    sold = client.post("/ingest/transactions", json=[sale]).json()["lines"][0]
    # Then both are taken: the sender's own text, kept as sent (docs/change-feed.md)
    assert seen["status"] == "created" and sold["status"] == "created", (seen, sold)

"""Lines holding what parsers take but a line must not: NaN and Infinity (not JSON), a
number beyond a double (1e400), a key named twice. Refused naming the field, in either body
of ``POST /ingest``, their neighbours taken (user30 8b, 8c)."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from tests.api.test_ingest import PURCHASE

GOOD = json.dumps({**PURCHASE, "transaction_id": "T-GOOD"})
BASE = json.dumps({**PURCHASE, "transaction_id": "T-FLAW"})[:-1]  # without its closing brace
NOT_JSON = "is not JSON (a number is finite: write null, or leave the field out)"
TWICE = "named twice in one object (a key comes once: which value to take is no guess to make)"
BEYOND = "is beyond the largest number a line may hold (a double's, about 1.8e308)"


@pytest.mark.parametrize(
    ("flawed", "error"),
    [
        pytest.param(BASE + ', "gift_note": NaN}', f"gift_note: NaN {NOT_JSON}", id="nan"),
        pytest.param(BASE + ', "tip": -Infinity}', f"tip: -Infinity {NOT_JSON}", id="-infinity"),
        pytest.param(BASE + ', "basket_value": 1e400}', f"basket_value: 1e400 {BEYOND}",
                     id="1e400"),
        pytest.param(BASE + ', "points_redeemed": 9e999}', f"points_redeemed: 9e999 {BEYOND}",
                     id="known-field-9e999"),
        pytest.param(BASE + ', "transaction_id": "T-OTHER"}', f"transaction_id: {TWICE}",
                     id="transaction-id-twice"),
        pytest.param(BASE + ', "items": [{"sku": "A", "quantity": 1, "sku": "B"}]}',
                     f"items.0.sku: {TWICE}", id="nested-key-twice"),
        pytest.param(BASE + ', "note": "a\\u003a", "transaction_id" : "T-OTHER"}',
                     f"transaction_id: {TWICE}", id="twice-beside-an-escaped-colon"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("body", ["json-lines", "json-array"])
def test_a_line_holding_what_json_forbids_or_a_key_twice_is_refused_naming_it(
    client: TestClient, flawed: str, error: str, body: str
) -> None:
    # user30 8b: NaN and 1e400 were answered "created" and stored null; 8c: a line naming
    # transaction_id twice was taken under the second, the first dropped without a word.
    sent = f"{GOOD}\n{flawed}" if body == "json-lines" else f"[{GOOD}, {flawed}]"
    answer = client.post("/ingest/transactions", content=sent.encode())
    assert answer.status_code == 207, answer.text
    good, refused = answer.json()["lines"]
    assert good["status"] == "created", good
    assert refused == {"line": 2, "status": "rejected", "error": error, "code": "INVALID_LINE"}
    # and nothing of it was kept: the line as it should have been is new
    fixed = client.post("/ingest/transactions", content=f"{BASE}}}".encode()).json()
    assert [line["status"] for line in fixed["lines"]] == ["created"]


def test_lines_whose_keys_repeat_only_in_other_objects_are_taken(client: TestClient) -> None:
    # Each item of a basket names sku, and a string may hold colons and "NaN": no flaw
    line = {**PURCHASE, "transaction_id": "T-ITEMS", "note": 'NaN: "1e400": x'}
    line["items"] = [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 2}]
    for sent in (json.dumps(line), json.dumps([line])):
        answer = client.post("/ingest/transactions", content=sent.encode()).json()
        assert [one["status"] for one in answer["lines"]] in (["created"], ["unchanged"])

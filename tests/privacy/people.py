"""One distinctive person, with a line in every source, to export and erase."""

from __future__ import annotations

from pathlib import Path

import orjson

CONTACT = {
    "contact_id": "C-ZQ-77",
    "first_name": "Zephyrine",
    "last_name": "Quillfeather",
    "emails": ["Zephyrine.Quill@quillmail.org"],
    "phones": ["(415) 555-0177"],
    "loyalty_id": "LD-7777-1234",
    "birth_date": "1981-07-17",
    "address": {"line1": "77 Quillwood Lane", "city": "Sausalito", "postal_code": "94965"},
    "consents": {"email": True, "sms": True},
    "updated_at": "2026-09-01T00:00:00Z",
}
PURCHASES = [
    {
        "transaction_id": "T-ZQ-STORE",
        "loyalty_id": "ld77771234",
        "channel": "store",
        "store_id": "S-1",
        "occurred_at": "2026-10-01T10:00:00Z",
        "amount_cents": 4200,
        "points_earned": 42,
        "items": [
            {"sku": "SKU-1", "quantity": 1, "unit_price_cents": 4200, "gift_note": "to Zephyrine"}
        ],
    },
    {
        "transaction_id": "T-ZQ-ONLINE",
        "email": "zephyrine.quill@quillmail.org",
        "channel": "online",
        "occurred_at": "2026-10-03T10:00:00Z",
        "amount_cents": 1300,
        "delivery_name": "Zephyrine Quillfeather",
    },
]
VISITS = [
    {
        "event_id": "E-ZQ-LOGIN",
        "anonymous_id": "anon-zq-5150",
        "user_id": "C-ZQ-77",
        "type": "identify",
        "name": "Logged In",
        "occurred_at": "2026-10-02T09:00:00Z",
    },
    {
        "event_id": "E-ZQ-PAGE",
        "anonymous_id": "anon-zq-5150",
        "type": "page",
        "name": "Product Viewed",
        "occurred_at": "2026-10-02T09:01:00Z",
        "properties": {"sku": "SKU-1"},
    },
    {
        "event_id": "E-ZQ-UNSUB",
        "anonymous_id": "anon-zq-5150",
        "type": "track",
        "name": "Unsubscribed",
        "occurred_at": "2026-10-04T09:00:00Z",
        "properties": {"channel": "email"},
    },
]
CALLS = [
    {
        "interaction_id": "I-ZQ-CALL",
        "caller_phone": "415.555.0177",
        "account_ref": {"kind": "loyalty_id", "value": "LD77771234"},
        "agent_id": "agent-1",
        "started_at": "2026-10-05T12:00:00Z",
        "duration_s": 300,
        "reason": "points",
        "sentiment": 0.2,
        "resolved": True,
        "notes": "Zephyrine asked about her points",
    }
]
LINES = {
    "crm": [CONTACT],
    "transactions": PURCHASES,
    "web_analytics": VISITS,
    "call_center": CALLS,
}

# Anything that identifies her, as written in the lines and as the store normalizes it.
TRACES = [
    "Zephyrine",
    "Quillfeather",
    "zephyrine.quill@quillmail.org",
    "Zephyrine.Quill@quillmail.org",
    "(415) 555-0177",
    "415.555.0177",
    "14155550177",
    "LD77771234",
    "LD-7777-1234",
    "ld77771234",
    "C-ZQ-77",
    "anon-zq-5150",
    "I-ZQ-CALL",
    "T-ZQ-STORE",
    "T-ZQ-ONLINE",
    "E-ZQ-",
    "Quillwood",
    "1981-07-17",
]


def add_to_folder(folder: Path) -> None:
    """Append her lines to a data folder's files."""
    for source, lines in LINES.items():
        with (folder / f"{source}.jsonl").open("ab") as handle:
            handle.write(b"".join(orjson.dumps(line) + b"\n" for line in lines))


def traces_in(paths: list[Path]) -> dict[str, list[str]]:
    """Which traces each file still holds, as bytes anywhere in it."""
    found: dict[str, list[str]] = {}
    for path in paths:
        if not path.exists():
            continue
        data = path.read_bytes()
        hits = [t for t in TRACES if t.encode() in data]
        if hits:
            found[str(path)] = hits
    return found

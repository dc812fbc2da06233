"""Erin, the data subject, with the people her values and devices touch: her brother Finn
(the family e-mail, her address) and Gus (he logs in on her iPad; a steward may link him to
her by mistake). The folder ``write_household`` writes is loaded by a real gateway."""

from __future__ import annotations

from pathlib import Path

import orjson

FAMILY_EMAIL = "zedfamily@mail-example.org"
IPAD = "A-shared-ipad"
ERIN = {
    "contact_id": "C-100",
    "first_name": "Erin",
    "last_name": "Zedlander",
    "emails": ["erin.zedlander@mail-example.org", FAMILY_EMAIL],
    "phones": ["(415) 555-0142"],
    "loyalty_id": "LD-7777-0001",
    "birth_date": "1985-03-04",
    "address": {"line1": "12 Quokka Lane", "city": "Springfield", "postal_code": "94110"},
    "consents": {"email": True, "sms": False},
    "updated_at": "2026-10-01T10:00:00Z",
}
FINN = {
    "contact_id": "C-101",
    "first_name": "Finn",
    "last_name": "Zedlander",
    "emails": ["finn.z@mail-example.org", FAMILY_EMAIL],
    "phones": ["(415) 555-0199"],
    "loyalty_id": "LD-7777-0002",
    "birth_date": "1983-01-02",
    "address": {"line1": "12 Quokka Lane", "city": "Springfield", "postal_code": "94110"},
    "consents": {"email": True},
    "updated_at": "2026-10-01T10:00:00Z",
}
GUS = {
    "contact_id": "C-102",
    "first_name": "Gus",
    "last_name": "Other",
    "emails": ["gus.other@mail-example.org"],
    "phones": ["(415) 555-0177"],
    "loyalty_id": "LD-8888-0003",
    "updated_at": "2026-10-01T10:00:00Z",
}
PURCHASES = [
    {"transaction_id": "T-1", "loyalty_id": "LD77770001", "channel": "store",
     "occurred_at": "2026-09-01T10:00:00Z", "amount_cents": 1200, "store_id": "S1"},
    {"transaction_id": "T-2", "email": "erin.zedlander@mail-example.org", "channel": "online",
     "occurred_at": "2026-09-02T10:00:00Z", "amount_cents": 3400},
    {"transaction_id": "T-4", "loyalty_id": "LD88880003", "channel": "store",
     "occurred_at": "2026-09-04T10:00:00Z", "amount_cents": 700, "store_id": "S1"},
]  # fmt: skip
VISITS = [
    {"event_id": "W-1", "anonymous_id": "A-erin-phone", "user_id": "C-100", "type": "page",
     "occurred_at": "2026-09-01T11:00:00Z"},
    {"event_id": "W-2", "anonymous_id": IPAD, "user_id": "C-100", "type": "page",
     "occurred_at": "2026-09-02T11:00:00Z"},
    {"event_id": "W-3", "anonymous_id": IPAD, "user_id": "C-102", "type": "page",
     "occurred_at": "2026-09-03T11:00:00Z"},
    {"event_id": "W-11", "anonymous_id": "A-gus-laptop", "user_id": "C-102", "type": "track",
     "name": "Consent Updated", "properties": {"channel": "email", "granted": True},
     "occurred_at": "2026-11-03T12:00:00Z"},
]  # fmt: skip


def write_household(folder: Path) -> Path:
    """The four source files of Erin's household in ``folder`` (made)."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "crm.jsonl": [ERIN, FINN, GUS],
        "transactions.jsonl": PURCHASES,
        "web_analytics.jsonl": VISITS,
        "call_center.jsonl": [],
    }
    for name, lines in files.items():
        (folder / name).write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return folder

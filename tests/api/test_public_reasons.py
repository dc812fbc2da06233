"""What ``/readyz`` (no credentials) and the log say of refused lines: the field and the
rule, never a value of the line (user30, findings 4 and 8d)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import ApiKey, Settings

SECRET = "Jane Secret lives at 5 Elm St"
_CRM = {"contact_id": "P-9", "first_name": "Jane", "updated_at": "2026-01-01T00:00:00Z"}
_SALE = {
    "transaction_id": "T-P9",
    "loyalty_id": "LD10000009",
    "channel": "store",
    "occurred_at": "2026-01-01T00:00:00Z",
    "amount_cents": 10,
    "status": "completed",
}
_EVENT = {
    "event_id": "E-P9",
    "anonymous_id": "a-p9",
    "type": "track",
    "name": "Consent Updated",
    "occurred_at": "2026-01-01T00:00:00Z",
}

# Each refused line, by source, with what its public reason says in its stead.
LINES = [
    ("crm", {**_CRM, "consents": {SECRET: False}}, "consents: *** is no channel"),
    ("crm", {**_CRM, "birth_date": "2999-03-12"}, "*** is in the future"),
    ("crm", {**_CRM, "updated_at": "2999-03-12T00:00:00Z"}, "updated_at: Value error, ***"),
    ("transactions", {**_SALE, "currency": SECRET}, "currency: Value error, *** is no ISO"),
    ("transactions", {**_SALE, "amount_cents": "4_155_550_199"}, "*** is no number"),
    ("transactions", {**_SALE, "amount_cents": -4155}, "amount_cents: negative on"),
    ("transactions", {**_SALE, "amount_cents": 2147483648}, "less than or equal to 2147483647"),
    ("web_analytics", {**_EVENT, "properties": {"channel": SECRET}}, "properties.channel: ***"),
    ("web_analytics", {**_EVENT, "properties": {SECRET: {"n": 2**70}}}, "properties.*.*: holds"),
    ("web_analytics", {**_EVENT, "properties": {SECRET: float("nan")}}, "properties.*: NaN is"),
    ("call_center", {"interaction_id": "I-P9", "started_at": SECRET}, "started_at: Input"),
]
HIDDEN = ("Secret", "Elm", "2999", "4155", "555-0199", "***-3647")


def test_readyz_and_the_log_say_what_was_wrong_without_the_lines_values(
    settings: Settings, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a folder whose refused lines carry personal data in the wrong fields
    for source in {source for source, _, _ in LINES}:
        with (data_dir / f"{source}.jsonl").open("ab") as handle:
            for named, line, _ in LINES:
                if named == source:
                    handle.write(json.dumps(line).encode() + b"\n")  # 2**70 too
    keyed = settings.model_copy(
        update={"api_keys": {"ops-key-0123456789abcdef": ApiKey(name="ops", scopes=[])}}
    )
    # When the gateway loads it, and anyone who reaches the port asks /readyz
    with (
        caplog.at_level(logging.WARNING),
        TestClient(create_app(keyed), base_url="http://127.0.0.1") as client,
    ):
        body = client.get("/readyz")
    # Then each line is said with its field and rule, a limit's number as it is
    errors = [e for entry in body.json()["sources"].values() for e in entry["errors"]]
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    for _, _, said in LINES:
        assert any(said in error for error in errors), said
        assert any(said in message for message in logged), said
    # And neither shows any value of those lines
    for value in HIDDEN:
        assert value not in body.text
        assert not [message for message in logged if value in message]

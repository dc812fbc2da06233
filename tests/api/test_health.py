from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import ApiKey, Settings


def test_healthz_answers_while_the_process_lives(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_sources_and_store_counts(client: TestClient, data_dir: Path) -> None:
    body = client.get("/readyz").json()
    assert body["status"] == "ready"
    # A contact's current version only: an older one exported too is no line of the source
    raw = (data_dir / "crm.jsonl").read_bytes().splitlines()
    assert body["sources"]["crm"]["lines"] == len(
        {orjson.loads(line)["contact_id"] for line in raw}
    )
    assert body["store"]["members"] > 0 and body["store"]["records"] >= body["store"]["members"]


def test_malformed_lines_are_counted_named_and_skipped(settings: Settings, data_dir: Path) -> None:
    path = data_dir / "call_center.jsonl"
    good = len(path.read_bytes().splitlines())
    with path.open("ab") as handle:
        handle.write(b'{"interaction_id": "I-broken", "started_at": "not a date"}\n')
        handle.write(b"{this is not json\n")
        handle.write(b'["an", "array"]\n')
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        body = client.get("/readyz").json()
    calls = body["sources"]["call_center"]
    assert calls["lines"] == good
    assert calls["malformed"] == 3
    assert calls["errors"][0].startswith(f"call_center.jsonl:{good + 1}: started_at")
    assert calls["errors"][1].startswith(f"call_center.jsonl:{good + 2}: not JSON")
    assert calls["errors"][2] == f"call_center.jsonl:{good + 3}: expected a JSON object, got list"


def test_metrics_exposes_source_calls(client: TestClient) -> None:
    text = client.get("/metrics").text
    assert 'membergraph_source_calls_total{source="crm"}' in text
    assert 'membergraph_identity{what="members"}' in text
    assert "membergraph_member_changes_dropped_total 0" in text


def _sale(n: int, **fields: object) -> dict[str, object]:
    return {
        "transaction_id": f"T-PH-{n}",
        "channel": "store",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 2500,
        **fields,
    }


FAMILY = "the.quill.family59@gmail.com"


@pytest.mark.parametrize(
    ("lines", "shown", "hidden"),
    [
        # A family's own address typed at the tills for three cardholders, then an online
        # guest purchase under it: the data shows it to be a placeholder.
        pytest.param(
            [_sale(n, loyalty_id=f"LD8100000{n}" if n else None, email=FAMILY,
                   channel="store" if n else "online") for n in range(4)],
            "placeholder e-mail t***@gmail.com: carried by many different people",
            FAMILY,
            id="a-familys-address",
        ),
        # A cashier's card scanned for guests, some typing an address for the e-receipt
        # (user29: /readyz showed such a card's number to anyone).
        pytest.param(
            [_sale(n, loyalty_id="LD-6572-7893", email=f"guest{n}@aol.com" if n < 4 else None)
             for n in range(7)],
            "placeholder card ***7893: carried by many different people",
            "LD65727893",
            id="a-cashiers-card",
        ),
        # An address typed at a till five times a day on three days: the till's own, or a
        # customer's: either way, not for anyone to read.
        pytest.param(
            [_sale(10 * d + n, email="jharris@aol.com",
                   occurred_at=f"2026-11-2{d}T1{n}:00:00Z") for d in range(3) for n in range(5)],
            "placeholder e-mail j***@aol.com: more than 4 purchases a day on 3 days"
            " (a till's own)",
            "jharris",
            id="a-tills-address",
        ),
    ],
)  # fmt: skip
def test_readyz_shows_no_ones_value_to_a_caller_without_credentials(
    settings: Settings, data_dir: Path, lines: list[dict[str, object]], shown: str, hidden: str
) -> None:
    # Given lines whose value the data shows to be nobody's, counted by the load
    with (data_dir / "transactions.jsonl").open("ab") as handle:
        handle.write(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    keyed = settings.model_copy(
        update={"api_keys": {"ops-key-0123456789abcdef": ApiKey(name="ops", scopes=[])}}
    )
    # When anyone who reaches the port asks /readyz (it answers without credentials)
    with TestClient(create_app(keyed), base_url="http://127.0.0.1") as client:
        body = client.get("/readyz")
    # Then the count is there, the value is not
    assert body.status_code == 200
    reasons = body.json()["sources"]["transactions"]["unattributed"]
    assert shown in reasons
    assert hidden not in body.text
    assert "quill" not in body.text

from __future__ import annotations

from pathlib import Path

import orjson
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


def test_readyz_shows_no_ones_address_to_a_caller_without_credentials(
    settings: Settings, data_dir: Path
) -> None:
    # Given a family's own address typed at the tills for three cardholders, then an online
    # guest purchase under it: the data shows it to be a placeholder, and the load counts it
    family = "the.quill.family59@gmail.com"
    lines = [
        {
            "transaction_id": f"T-FAM-{n}",
            "loyalty_id": f"LD8100000{n}" if n else None,
            "email": family,
            "channel": "store" if n else "online",
            "occurred_at": "2026-11-20T10:00:00Z",
            "amount_cents": 2500,
        }
        for n in range(4)
    ]
    with (data_dir / "transactions.jsonl").open("ab") as handle:
        handle.write(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    keyed = settings.model_copy(
        update={"api_keys": {"ops-key-0123456789abcdef": ApiKey(name="ops", scopes=[])}}
    )
    # When anyone who reaches the port asks /readyz (it answers without credentials)
    with TestClient(create_app(keyed), base_url="http://127.0.0.1") as client:
        body = client.get("/readyz")
    # Then the count is there, the address is not
    assert body.status_code == 200
    reasons = body.json()["sources"]["transactions"]["unattributed"]
    assert "placeholder e-mail t***@gmail.com: carried by many different people" in reasons
    assert "quill" not in body.text

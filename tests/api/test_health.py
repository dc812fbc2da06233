from __future__ import annotations

from pathlib import Path

from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings


def test_healthz_answers_while_the_process_lives(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_sources_and_store_counts(client: TestClient, data_dir: Path) -> None:
    body = client.get("/readyz").json()
    assert body["status"] == "ready"
    lines = len((data_dir / "crm.jsonl").read_bytes().splitlines())
    assert body["sources"]["crm"]["lines"] == lines
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

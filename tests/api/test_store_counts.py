"""``/readyz`` counts what the store holds, the same through every process, and ``/metrics``
counts pushed lines by outcome (user30, finding 6: each process showed its own tally, lines
pushed as unattributed were never counted, rejected ones nowhere)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app as cli
from membergraph.settings import Settings

CONTACT = {
    "contact_id": "K-1",
    "first_name": "Kim",
    "emails": ["kim.count@mail-example.org"],
    "updated_at": "2026-09-01T00:00:00Z",
}


def _cash_sale(n: int, status: str = "completed") -> bytes:
    sale = {
        "transaction_id": f"CASH-{n}",
        "channel": "store",
        "occurred_at": "2026-08-02T00:00:00Z",
        "amount_cents": 100,
        "status": status,
    }
    return json.dumps(sale).encode()


def _counts(client: TestClient) -> dict[str, tuple[int, int]]:
    sources = client.get("/readyz").json()["sources"]
    return {name: (s["lines"], s["unattributed_lines"]) for name, s in sources.items()}


def _pushed(client: TestClient) -> dict[str, float]:
    text = client.get("/metrics").text
    found = re.findall(
        r'membergraph_ingest_lines_total\{outcome="(\w+)",source="(\w+)"\} (\S+)', text
    )
    return {f"{source}/{outcome}": float(n) for outcome, source, n in found if float(n)}


def test_every_process_and_a_load_beside_read_the_stores_counts(tmp_path: Path) -> None:
    # Given a store loaded from a folder, served by two processes (two gateways, one file)
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "crm.jsonl").write_text(json.dumps(CONTACT) + "\n")
    store = f"sqlite:///{tmp_path / 'store.db'}"
    assert CliRunner().invoke(cli, ["load", "--data", str(folder), "--to", store]).exit_code == 0
    settings = Settings(store=store, cache_dir=tmp_path / "cache")
    with (
        TestClient(create_app(settings), base_url="http://127.0.0.1") as one,
        TestClient(create_app(settings), base_url="http://127.0.0.1") as other,
    ):
        # When five cash sales (no one's) and a malformed line are pushed through one
        body = b"\n".join([*(_cash_sale(n) for n in range(5)), _cash_sale(9, "COMPLETE")])
        answer = one.post("/ingest/transactions", content=body)
        assert answer.json()["unattributed"] == 5 and answer.json()["rejected"] == 1
        # and a contact is loaded beside them
        with (folder / "crm.jsonl").open("a") as handle:
            handle.write(json.dumps({**CONTACT, "contact_id": "K-2"}) + "\n")
        assert (
            CliRunner().invoke(cli, ["load", "--data", str(folder), "--to", store]).exit_code == 0
        )
        # Then both processes say what the store holds: the sales kept as no one's too
        expected = {"crm": (2, 0), "transactions": (5, 5), "web_analytics": (0, 0)}
        for client in (one, other):
            counts = _counts(client)
            assert {k: counts[k] for k in expected} == expected
        # And the push's lines are counted by what each was answered
        assert _pushed(one) == {"transactions/unattributed": 5.0, "transactions/rejected": 1.0}
    # And a restart reads the same figures again
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as again:
        assert _counts(again)["transactions"] == (5, 5)

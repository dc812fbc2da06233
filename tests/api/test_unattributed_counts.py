"""Lines that identify no one are counted for every source, not only purchases (user32b,
finding 5: a call from a withheld number and a shared device's anonymous events were
``unattributed`` in ``resolve`` but 0 in ``/readyz``, and ``load`` said nothing of them).

A call's or a visitor's line is owned by its record; when the engine leaves that record in
no member, its lines identify no one: ``/readyz`` counts them as the store keeps them (as
lines are written and as records leave and join members), with why, and ``load`` says them
as ``resolve`` does.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app as cli
from membergraph.settings import Settings
from tests.api.test_steward_guardrails import ANN, BOB, _tx
from tests.support.http import serving

PORT = 18271  # (the port this test's gateway listens on)
WITHHELD = "no phone and no account (a withheld number)"
SHARED = "a shared device: logged in as different members"


def _event(eid: str, user: str | None) -> dict[str, Any]:
    return {
        "event_id": eid,
        "anonymous_id": "a-family",
        "user_id": user,
        "type": "identify" if user else "page",
        "name": "Logged In" if user else "Page Viewed",
        "occurred_at": "2026-11-02T10:00:00Z",
        "properties": {"path": "/offers"},
    }


def _call(iid: str) -> dict[str, Any]:
    return {"interaction_id": iid, "started_at": "2026-11-02T11:00:00Z", "duration_s": 60}


def _write(path: Path, lines: list[dict[str, Any]]) -> None:
    path.write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Ann and Bob with their cards; a family computer both logged in on, with two page
    views of no one logged in; a call from a withheld number; a guest's cash sale."""
    data = tmp_path / "data"
    data.mkdir()
    _write(data / "crm.jsonl", [ANN, BOB])
    cash = {**_tx("T-CASH", None, 0), "loyalty_id": None}
    _write(data / "transactions.jsonl", [_tx("T-A1", "LD11110001", 5), cash])
    web = [_event("E1", "C-ANN"), _event("E2", "C-BOB"), _event("E3", None), _event("E4", None)]
    _write(data / "web_analytics.jsonl", web)
    _write(data / "call_center.jsonl", [_call("I-WITHHELD")])
    return data


def _readyz(address: str) -> dict[str, tuple[int, dict[str, int]]]:
    answer = httpx.get(f"http://{address}/readyz", timeout=30)
    assert answer.status_code == 200, answer.text
    return {
        name: (entry["unattributed_lines"], entry["unattributed"])
        for name, entry in answer.json()["sources"].items()
    }


def _served(store: str, tmp_path: Path) -> Any:
    return serving(create_app(Settings(store=store, cache_dir=tmp_path / "cache")), PORT)


def test_load_and_readyz_count_calls_and_shared_devices_of_no_one(
    folder: Path, tmp_path: Path
) -> None:
    # Given the folder loaded into a store
    store = f"sqlite:///{tmp_path / 'store.db'}"
    loaded = CliRunner().invoke(cli, ["load", "--data", str(folder), "--to", store])
    said = " ".join(loaded.output.split())
    assert loaded.exit_code == 0, said
    # Then the load says the lines that identify no one, as resolve says them
    assert "4 line(s) identify no one: " in said, said
    assert f"{SHARED} (2)" in said and f"{WITHHELD} (1)" in said, said
    with _served(store, tmp_path) as address:
        # And /readyz over HTTP counts them for each source, with why
        counts = _readyz(address)
        assert counts["web_analytics"] == (2, {SHARED: 2})
        assert counts["call_center"] == (1, {WITHHELD: 1})
        assert counts["transactions"][0] == 1 and counts["crm"] == (0, {})

        # When another withheld call and another page view on the family computer are pushed
        for source, line in (
            ("call_center", _call("I-WITHHELD-2")),
            ("web_analytics", _event("E5", None)),
        ):
            pushed = httpx.post(
                f"http://{address}/ingest/{source}", content=orjson.dumps(line), timeout=30
            )
            assert pushed.json()["lines"][0]["status"] == "unattributed", pushed.text
        # Then each is counted once more
        counts = _readyz(address)
        assert counts["call_center"][0] == 2 and counts["web_analytics"][0] == 3

        # When a steward gives the family computer to Ann (its page views join her member)
        link = """mutation ($a: RecordRefInput!, $b: RecordRefInput!) {
          linkRecords(a: $a, b: $b, reason: "Ann's laptop") { id } }"""
        device = {"source": "WEB_ANALYTICS", "key": "a-family"}
        variables = {"a": device, "b": {"source": "CRM", "key": "C-ANN"}}
        answer = httpx.post(
            f"http://{address}/graphql", json={"query": link, "variables": variables}, timeout=30
        )
        assert "errors" not in answer.json(), answer.text
        # Then its lines identify someone now: none of the web events is counted
        assert _readyz(address)["web_analytics"][0] == 0


def test_a_reresolve_counts_calls_that_join_and_leave_members(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the folder loaded under the built-in rules: the withheld call is no one's
    path = tmp_path / "store.db"
    store = f"sqlite:///{path}"
    assert CliRunner().invoke(cli, ["load", "--data", str(folder), "--to", store]).exit_code == 0
    with _served(store, tmp_path) as address:
        assert _readyz(address)["call_center"][0] == 1
    # When a reresolve applies rules reading such a call as a member of its own
    rules = tmp_path / "rules.toml"
    rules.write_text("calls_identify_no_one = false\n")
    monkeypatch.setenv("MEMBERGRAPH_RULES", str(rules))
    done = CliRunner().invoke(cli, ["reresolve", "--store", store])
    assert done.exit_code == 0, done.output
    # Then the call is someone's: counted one less
    with _served(store, tmp_path) as address:
        assert _readyz(address)["call_center"][0] == 0
    # When the built-in rules are applied again (the upgrade's reresolve)
    monkeypatch.delenv("MEMBERGRAPH_RULES")
    assert CliRunner().invoke(cli, ["reresolve", "--store", store]).exit_code == 0
    # Then it is no one's again: counted once more
    with _served(store, tmp_path) as address:
        assert _readyz(address)["call_center"][0] == 1


def test_a_store_counted_before_calls_and_devices_were_is_counted_again_at_open(
    folder: Path, tmp_path: Path
) -> None:
    # Given a store whose counts follow only the lines (as a release before this one kept
    # them: its calls and devices of no one uncounted)
    path = tmp_path / "store.db"
    store = f"sqlite:///{path}"
    assert CliRunner().invoke(cli, ["load", "--data", str(folder), "--to", store]).exit_code == 0
    with sqlite3.connect(path) as db:
        for name in ("source_records_in", "source_records_out", "source_records_moved"):
            db.execute(f"DROP TRIGGER IF EXISTS {name}")
        db.execute("UPDATE source_counts SET nobodys = (source = 'transactions')")
    # When a gateway opens it
    with _served(store, tmp_path) as address:
        counts = _readyz(address)
    # Then every source's lines of no one are counted
    assert counts["call_center"][0] == 1 and counts["web_analytics"][0] == 2
    assert counts["transactions"][0] == 1


def test_a_changed_folders_load_says_its_calls_of_no_one(folder: Path, tmp_path: Path) -> None:
    # Given the folder loaded
    store = f"sqlite:///{tmp_path / 'store.db'}"
    assert CliRunner().invoke(cli, ["load", "--data", str(folder), "--to", store]).exit_code == 0
    # When a second withheld call is added to the file and the folder loaded again
    _write(folder / "call_center.jsonl", [_call("I-WITHHELD"), _call("I-WITHHELD-2")])
    again = CliRunner().invoke(cli, ["load", "--data", str(folder), "--to", store])
    said = " ".join(again.output.split())
    assert again.exit_code == 0, said
    # Then the load says the file's two calls of no one, and /readyz counts both, with why
    assert f"2 line(s) identify no one: {WITHHELD} (2)" in said, said
    with _served(store, tmp_path) as address:
        assert _readyz(address)["call_center"] == (2, {WITHHELD: 2})

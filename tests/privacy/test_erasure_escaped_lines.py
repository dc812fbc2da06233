"""Erasure rewrites a data folder without her lines however their JSON is escaped: Python's
``json.dumps`` writes a name's ``ë`` as ``\\u00eb``, PHP's writers a ``/`` as ``\\/``. The
same line read by the loader is hers; the rewrite must see it as hers too."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from membergraph.cli import app

runner = CliRunner()

HER = {
    "contact_id": "C-Zoë/1",
    "first_name": "Zoë",
    "last_name": "Ålander",
    "emails": ["zoe.alander@example.org"],
    "updated_at": "2026-11-01T00:00:00Z",
}
OTHER = {
    "contact_id": "C-2",
    "first_name": "Bo",
    "last_name": "Other",
    "emails": ["bo.other@example.org"],
    "updated_at": "2026-11-01T00:00:00Z",
}
HER_VISIT = {
    "event_id": "E-1",
    "anonymous_id": "dev/ü1",
    "user_id": "C-Zoë/1",
    "email": None,
    "type": "page",
    "name": "Home",
    "occurred_at": "2026-11-02T00:00:00Z",
    "properties": {},
}


def _escaped(line: dict[str, object]) -> str:
    return json.dumps(line).replace("/", "\\/")  # non-ASCII as \uXXXX, and '/' as '\/'


def test_erasure_removes_her_escaped_lines_from_the_folder(tmp_path: Path) -> None:
    # Given a folder whose writer escapes non-ASCII letters and slashes, loaded into a store
    data = tmp_path / "data"
    data.mkdir()
    other_line = _escaped(OTHER)
    (data / "crm.jsonl").write_text(f"{_escaped(HER)}\n{other_line}\n")
    (data / "web_analytics.jsonl").write_text(f"{_escaped(HER_VISIT)}\n")
    store = f"sqlite:///{tmp_path / 'store.db'}"
    loaded = runner.invoke(app, ["load", "--data", str(data), "--to", store])
    assert loaded.exit_code == 0, loaded.output
    with sqlite3.connect(tmp_path / "store.db") as db:
        [(member,)] = db.execute(
            "SELECT member_id FROM records WHERE key = ?", (HER["contact_id"],)
        )

    # When she is erased
    erased = runner.invoke(
        app,
        ["privacy", "erase", member, "--reason", "DPO-9", "--data", str(data), "--store", store],
    )
    assert erased.exit_code == 0, erased.output

    # Then no line of the folder is hers any more, however it was written, and the other
    # contact's line is there as it was
    crm = [json.loads(line) for line in (data / "crm.jsonl").read_text().splitlines()]
    web = [json.loads(line) for line in (data / "web_analytics.jsonl").read_text().splitlines()]
    assert [c["contact_id"] for c in crm] == ["C-2"]
    assert web == []
    assert (data / "crm.jsonl").read_text().splitlines() == [other_line]

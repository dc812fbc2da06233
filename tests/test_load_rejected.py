"""``membergraph load`` says where the malformed lines it does not list are, and writes every
one with ``--rejected FILE`` (user30, finding 8e: the first five, then a count)."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from membergraph.cli import app

runner = CliRunner()


def _sale(n: int, amount: object) -> str:
    sale = {
        "transaction_id": f"RB-{n}",
        "loyalty_id": "LD77770001",
        "channel": "store",
        "occurred_at": "2026-03-03T10:00:00Z",
        "amount_cents": amount,
        "status": "completed",
    }
    return json.dumps(sale) + "\n"


def test_load_writes_every_rejected_line_where_it_is_asked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a file of eight malformed lines (and a good one), one naming a person
    data = tmp_path / "data"
    data.mkdir()
    amounts: list[object] = [2**31, "x", 0.5, -1, 2**40, 1e20, 3e9, "Jane Secret", 100]
    (data / "transactions.jsonl").write_text("".join(_sale(n, a) for n, a in enumerate(amounts)))
    rejected = tmp_path / "rejected.jsonl"
    # When it is loaded with --rejected
    with caplog.at_level(logging.WARNING):
        result = runner.invoke(
            app,
            ["load", "--data", str(data), "--to", f"sqlite:///{tmp_path / 'x.db'}",
             "--rejected", str(rejected)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    # Then the log lists five, and says where the rest are
    assert caplog.text.count("skipped malformed line") == 5
    assert "transactions: 8 malformed line(s) skipped (the first 5 said above" in caplog.text
    assert "--rejected FILE" in caplog.text
    assert "(-1)" not in caplog.text  # (the log says no value: docs/bad-input.md)
    # And the file holds every one, with its line number and its whole reason, for its owner
    said = [json.loads(line) for line in rejected.read_text().splitlines()]
    assert [(s["file"], s["line"]) for s in said] == [
        ("transactions.jsonl", n) for n in range(1, 9)
    ]
    assert said[3]["reason"] == "amount_cents: negative (-1) on a completed transaction"
    assert stat.S_IMODE(rejected.stat().st_mode) == 0o600

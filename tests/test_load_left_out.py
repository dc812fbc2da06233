"""A folder's load says the identifier values it left out of the lines it took, as a push
answers them (``warnings``): a count per kind and the first few with file and line, said as
malformed lines are said, by ``membergraph load`` and by a start that loads the folder."""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path

import pytest
from typer.testing import CliRunner

import membergraph.identity.records as records
from membergraph.cli import app
from membergraph.gateway import open_gateway
from membergraph.settings import Settings

runner = CliRunner()


def _export(folder: Path) -> Path:
    """A CRM export with seven contacts typed with no phone number (``abc``), a card that
    is none, a purchase with an e-mail that is none, and one line that is not JSON."""
    folder.mkdir()
    contacts = [
        {"contact_id": f"C{i}", "first_name": "Ann", "emails": [f"a{i}@example.org"]}
        | {"phones": ["abc"]}
        for i in range(1, 8)
    ]
    contacts.append({"contact_id": "C8", "first_name": "Bo", "loyalty_id": "???"})
    lines = [json.dumps(c) for c in contacts] + ["not json"]
    (folder / "crm.jsonl").write_text("".join(line + "\n" for line in lines))
    sale = {
        "transaction_id": "T1",
        "email": "ann@shop",
        "loyalty_id": "LD-2339-3682",
        "store_id": "S1",
        "channel": "store",
        "occurred_at": "2026-01-05T10:00:00Z",
        "amount_cents": 1200,
        "currency": "USD",
        "status": "completed",
    }
    (folder / "transactions.jsonl").write_text(json.dumps(sale) + "\n")
    return folder


def _said(text: str) -> None:
    # the count per kind, per source, as the malformed lines' count is said
    assert "crm: 1 malformed line(s) skipped" in text
    assert "crm: 8 identifier value(s) left out of lines taken (loyalty_id 1, phone 7)" in text
    assert "transactions: 1 identifier value(s) left out of lines taken (email 1)" in text
    # the first few, each with its file and line number and the push's words, without the
    # value itself (the log is no place for a line's values: user30, finding 4)
    assert "took line crm.jsonl:1: phones[0] left out: *** is not a phone number" in text
    assert "took line crm.jsonl:5: phones[0] left out" in text
    assert "crm.jsonl:6: phones[0]" not in text  # (the first five, not every one)
    assert "took line transactions.jsonl:1: email left out: *** is not an e-mail" in text
    assert "'abc'" not in text and "ann@shop" not in text


def test_load_says_the_values_it_left_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    # Given an export with values that are none of their kind
    data = _export(tmp_path / "data")
    # When it is loaded
    with caplog.at_level(logging.WARNING):
        result = runner.invoke(
            app, ["load", "--data", str(data), "--to", f"sqlite:///{tmp_path / 'x.db'}"]
        )
    # Then every line is taken, and the report says what was left out of them, and where
    assert result.exit_code == 0, result.output
    assert "9 members" in " ".join(result.output.split())
    _said(caplog.text)


async def test_a_start_that_loads_the_folder_says_them_too(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given the same export, served for the first time
    data = _export(tmp_path / "data")
    settings = Settings(data=data, store=f"sqlite:///{tmp_path / 'serve.db'}")
    # When the gateway starts (and loads the folder)
    with caplog.at_level(logging.WARNING):
        gateway, sources, _ = await open_gateway(settings)
    await gateway.identity.store.aclose()
    await sources.aclose()
    # Then its log says the same
    _said(caplog.text)


def test_a_load_normalizes_each_value_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an export whose values no earlier test normalized (the caches hold none of them),
    # good and bad, on two lines each
    data = tmp_path / "data"
    data.mkdir()
    tag = uuid.uuid4().hex[:12]
    contacts = [
        {"contact_id": f"C{tag}{i}", "emails": [f"once.{tag}@example.org", f"{tag}@shop"]}
        | {"phones": ["415 555 0123", f"abc{tag}"], "loyalty_id": f"LD{tag}"}
        for i in range(2)
    ]
    (data / "crm.jsonl").write_text("".join(json.dumps(c) + "\n" for c in contacts))
    normalized: list[tuple[str, str]] = []

    def counted(kind: object, value: str, region: str = "US") -> str:
        normalized.append((str(kind), value))
        return normalize(kind, value, region)  # type: ignore[arg-type]

    normalize = records.normalize
    monkeypatch.setattr(records, "normalize", counted)
    # When it is loaded (its values noted as left out or not, then resolved)
    result = runner.invoke(app, ["load", "--data", str(data), "--to", f"sqlite:///{tmp_path}/x.db"])
    # Then each value was normalized once, for both
    assert result.exit_code == 0, result.output
    ours = [said for said in normalized if tag in said[1]]
    assert ours and sorted(ours) == sorted(set(ours))

"""`membergraph resolve --data DIR --store URL` resolves what the store holds now: a line
ingested since the folder was written (a newer CRM version, a new event) is not undone by
the folder's older lines; the folder only adds, or updates by the source's ordering."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.settings import Settings
from tests.conftest import gql, read_jsonl

CONTACT = {
    "contact_id": "C-ADA",
    "first_name": "Ada",
    "last_name": "Quill",
    "emails": ["ada.quill@mailbox.org"],
    "birth_date": "1980-01-02",
    "updated_at": "2026-01-01T00:00:00Z",
}
ORDER = {  # an online order by an e-mail the folder's contact does not list
    "transaction_id": "T-ADA-1",
    "email": "ada.work@quillworks.com",
    "channel": "online",
    "occurred_at": "2026-02-01T10:00:00Z",
    "amount_cents": 1200,
}
NEWER = {  # the contact ingested again later, listing the work e-mail too
    **CONTACT,
    "first_name": "Adah",
    "emails": ["ada.quill@mailbox.org", "ada.work@quillworks.com"],
    "updated_at": "2026-06-01T00:00:00Z",
}
LOOKUP = """query ($e: String!) { memberByIdentifier(kind: EMAIL, value: $e) {
  id profile { firstName } } }"""


def _member(client: TestClient, email: str) -> dict[str, object] | None:
    return gql(client, LOOKUP, e=email)["data"]["memberByIdentifier"]  # type: ignore[index,no-any-return]


def _first_name(tmp_path: Path) -> str:
    """The first name the contact's record holds: what the matching rules compare."""
    with sqlite3.connect(tmp_path / "s.db") as db:
        [(name,)] = db.execute("SELECT first_name FROM records WHERE key = 'C-ADA'").fetchall()
    return str(name)


def _settings(folder: Path, tmp_path: Path) -> Settings:
    return Settings(data=folder, store=f"sqlite:///{tmp_path / 's.db'}", cache_dir=tmp_path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_bytes(orjson.dumps(CONTACT) + b"\n")
    (data / "transactions.jsonl").write_bytes(orjson.dumps(ORDER) + b"\n")
    return data


def test_resolve_keeps_what_a_newer_ingested_line_joined(folder: Path, tmp_path: Path) -> None:
    settings = _settings(folder, tmp_path)
    # Given a newer version of the contact, listing the work e-mail, ingested after the folder
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        assert _member(client, "ada.work@quillworks.com") != _member(
            client, "ada.quill@mailbox.org"
        )
        assert client.post("/ingest/crm", json=[NEWER]).json()["lines"][0]["status"] == "updated"
        joined = _member(client, "ada.work@quillworks.com")
        assert joined == _member(client, "ada.quill@mailbox.org")
    # When the folder (with the older version) is resolved into the store
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        app, ["resolve", "--data", str(folder), "--out", str(out), "--store", settings.store]
    )
    assert result.exit_code == 0, result.output
    # Then the online order stays with the contact, in the answer file and in the store
    answers = {a["id"]: a["member_id"] for a in read_jsonl(out)}
    assert answers["C-ADA"] == answers["T-ADA-1"]
    assert _first_name(tmp_path) == "Adah", "the contact's record is the newer version's"
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        member = _member(client, "ada.work@quillworks.com")
        assert member == _member(client, "ada.quill@mailbox.org")
        assert member is not None and member["profile"] == {"firstName": "Adah"}


def test_a_changed_folder_at_start_does_not_undo_a_newer_ingested_line(
    folder: Path, tmp_path: Path
) -> None:
    settings = _settings(folder, tmp_path)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        client.post("/ingest/crm", json=[NEWER])
        joined = _member(client, "ada.work@quillworks.com")
    # Given the folder changed meanwhile (another contact), still with Ada's older line
    other = {**CONTACT, "contact_id": "C-BEA", "emails": ["bea@mailbox.org"], "first_name": "Bea"}
    with (folder / "crm.jsonl").open("ab") as handle:
        handle.write(orjson.dumps(other) + b"\n")
    # When the gateway starts again (the folder is loaded again), then Ada's newer line holds
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        assert _member(client, "ada.work@quillworks.com") == joined
        assert _member(client, "bea@mailbox.org") is not None
    assert _first_name(tmp_path) == "Adah"

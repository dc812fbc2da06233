"""A source file or a pushed body that starts with a UTF-8 byte order mark (PowerShell 5's
``Out-File -Encoding utf8``, Excel's habit carried to JSON Lines) is read whole: before,
its first line was refused as ``not JSON: UTF-8 byte order mark (BOM) is not supported``
(adv9, finding 10). A mark anywhere else is still a bad line, said where it is."""

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

BOM = b"\xef\xbb\xbf"
CONTACTS = [
    {
        "contact_id": f"C-BOM-{n}",
        "first_name": first,
        "last_name": "Bomford",
        "emails": [f"{first.lower()}.bomford@bommail.org"],
        "updated_at": "2026-11-01T00:00:00Z",
    }
    for n, first in enumerate(["Wilhelmina", "Octavian", "Perpetua"], start=1)
]
LINES = [orjson.dumps(contact) for contact in CONTACTS]
FIND = """query($value: String!) {
  memberByIdentifier(kind: CRM_ID, value: $value) { id profile { firstName } } }"""

runner = CliRunner()


def _folder(tmp_path: Path, text: bytes) -> Path:
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / "crm.jsonl").write_bytes(text)
    return folder


def _resolved(tmp_path: Path, text: bytes) -> list[dict[str, object]]:
    folder, out = _folder(tmp_path, text), tmp_path / "members.jsonl"
    store = f"sqlite:///{tmp_path / 'r.db'}"
    args = ["resolve", "--data", str(folder), "--out", str(out), "--store", store]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return read_jsonl(out)


@pytest.mark.parametrize("ending", [pytest.param(b"\n", id="lf"), pytest.param(b"\r\n", id="crlf")])
def test_load_reads_the_first_line_of_a_file_saved_with_a_byte_order_mark(
    tmp_path: Path, ending: bytes
) -> None:
    # Given a CRM export saved on Windows: a byte order mark, then three contacts
    folder = _folder(tmp_path, BOM + ending.join(LINES) + ending)
    # When it is loaded into a store
    db = tmp_path / "bom.db"
    result = runner.invoke(app, ["load", "--data", str(folder), "--to", f"sqlite:///{db}"])
    # Then all three are members (before: 2 members, the first line refused)
    assert result.exit_code == 0, result.output
    assert ": 3 members" in " ".join(result.output.split())  # (rich wraps it)
    with sqlite3.connect(db) as conn:
        held = {r[0] for r in conn.execute("SELECT line_id FROM source_lines")}
    assert held == {"C-BOM-1", "C-BOM-2", "C-BOM-3"}


def test_resolve_answers_the_first_line_of_a_file_saved_with_a_byte_order_mark(
    tmp_path: Path,
) -> None:
    answers = _resolved(tmp_path, BOM + b"\n".join(LINES) + b"\n")
    assert [a["id"] for a in answers] == ["C-BOM-1", "C-BOM-2", "C-BOM-3"]
    assert all(str(a["member_id"]).startswith("m_") and "error" not in a for a in answers)


def test_a_byte_order_mark_inside_a_file_is_still_a_bad_line_said_where_it_is(
    tmp_path: Path,
) -> None:
    # Given two exports glued together: the second one's mark starts line 2
    answers = _resolved(tmp_path, BOM + LINES[0] + b"\n" + BOM + LINES[1] + b"\n" + LINES[2])
    # Then line 2 is refused, as before, and the others are members
    first, second, third = answers
    assert first["member_id"] and third["member_id"]
    assert second["member_id"] is None
    assert str(second["error"]).startswith("crm.jsonl:2: not JSON")
    assert "byte order mark" in str(second["error"])


def test_a_served_folder_whose_file_has_a_byte_order_mark_finds_its_first_contact(
    tmp_path: Path,
) -> None:
    folder = _folder(tmp_path, BOM + b"\n".join(LINES) + b"\n")
    settings = Settings(
        data=folder, store=f"sqlite:///{tmp_path / 's.db'}", cache_dir=tmp_path / "cache"
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        found = gql(client, FIND, value="C-BOM-1")["data"]["memberByIdentifier"]  # type: ignore[index]
        assert found["profile"]["firstName"] == "Wilhelmina"


@pytest.mark.parametrize(
    ("body", "media"),
    [
        pytest.param(BOM + b"\n".join(LINES) + b"\n", "application/x-ndjson", id="json-lines"),
        pytest.param(BOM + b"[" + b",".join(LINES) + b"]", "application/json", id="json-array"),
    ],
)
def test_a_pushed_body_with_a_byte_order_mark_is_taken_whole(
    client: TestClient, body: bytes, media: str
) -> None:
    # When a body read from a file saved on Windows is pushed as it is
    answer = client.post("/ingest/crm", content=body, headers={"content-type": media})
    # Then every line is taken (before: the first line rejected, or the whole array)
    assert answer.status_code == 200, answer.text
    said = answer.json()
    assert (said["accepted"], said["rejected"]) == (3, 0)
    found = gql(client, FIND, value="C-BOM-1")["data"]["memberByIdentifier"]  # type: ignore[index]
    assert found["profile"]["firstName"] == "Wilhelmina"


def test_her_first_line_of_a_file_with_a_byte_order_mark_goes_when_she_is_erased(
    tmp_path: Path,
) -> None:
    # Given a served folder whose CRM file, saved on Windows, starts with her contact
    folder = _folder(tmp_path, BOM + b"\n".join(LINES) + b"\n")
    settings = Settings(
        data=folder, store=f"sqlite:///{tmp_path / 's.db'}", cache_dir=tmp_path / "cache"
    )
    erase = """mutation($id: ID!) { eraseMember(id: $id, reason: "ticket DPO-BOM") { state } }"""
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        member = gql(client, FIND, value="C-BOM-1")["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
        # When she is erased
        state = gql(client, erase, id=member)["data"]["eraseMember"]["state"]  # type: ignore[index]
        assert state == "DONE"
    # Then her line is out of the file, and the others' stay
    kept = (folder / "crm.jsonl").read_bytes()
    assert b"Wilhelmina" not in kept
    assert b"Octavian" in kept and b"Perpetua" in kept


@pytest.mark.parametrize(
    ("encoding", "byte", "at"),
    [pytest.param("latin-1", "0xE9", 41, id="latin-1")],
)
def test_a_line_in_another_encoding_is_refused_naming_the_byte(
    tmp_path: Path, encoding: str, byte: str, at: int
) -> None:
    # Given a contact saved as Latin-1 (Excel's "CSV" habit); UTF-16 (PowerShell 5), known
    # by its byte order mark, is refused whole (tests/api/test_ingest.py)
    contact = {**CONTACTS[0], "contact_id": "C-BOM-9", "first_name": "Zoé"}
    body = orjson.dumps(contact).decode().encode(encoding)
    settings = Settings(store=f"sqlite:///{tmp_path / 's.db'}", cache_dir=tmp_path / "c")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        # When it is pushed
        answer = client.post(
            "/ingest/crm", content=body, headers={"content-type": "application/x-ndjson"}
        )
    # Then it is refused saying which byte is not UTF-8, and where
    assert answer.status_code == 422
    [line] = answer.json()["lines"]
    assert line["error"].startswith(f"not UTF-8: byte {byte} at byte {at} ")

"""Lines end at ``\\n``, ``\\r\\n`` or a lone ``\\r`` (a file saved on an old Mac, or by a tool
that writes ``\\r``), wherever lines are read: a pushed body, a served or loaded folder,
``membergraph resolve``, an erasure's rewrite. Before, a body or a file whose lines ended
at ``\\r`` was one bad line (``not JSON: trailing characters``), and every contact in it was
lost; the erasure already read ``\\r`` as a line end, so the two disagreed on what a line is.
JSON has no raw ``\\r`` inside a string: no good line is cut in two."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.connectors.files import FileConnector
from membergraph.connectors.models import CrmContact, SourceName
from membergraph.connectors.sources import SOURCES
from membergraph.identity.load import ownership
from membergraph.settings import Settings
from tests.conftest import gql, read_jsonl

CONTACTS = [
    {
        "contact_id": f"C-CR-{n}",
        "first_name": first,
        "last_name": "Macintosh",
        "emails": [f"{first.lower()}.macintosh@oldmac.org"],
        "updated_at": "2026-11-01T00:00:00Z",
    }
    for n, first in enumerate(["Clarabel", "Ignatius", "Rosalind"], start=1)
]
LINES = [orjson.dumps(contact) for contact in CONTACTS]
BAD = b'{"contact_id": "C-CR-BAD", "emails": 7}'
FIND = """query($value: String!) {
  memberByIdentifier(kind: CRM_ID, value: $value) { id profile { firstName } } }"""
ENDINGS = [
    pytest.param(b"\r", b"\r", id="cr"),
    pytest.param(b"\r\n", b"\r\n", id="crlf"),
    pytest.param(b"\r", b"\n", id="cr-then-lf"),
    pytest.param(b"\r\n", b"\r", id="crlf-then-cr"),
]

runner = CliRunner()


def _text(first: bytes, second: bytes, middle: bytes = LINES[1]) -> bytes:
    """Three lines, the first ended by ``first``, the others by ``second``."""
    return LINES[0] + first + middle + second + LINES[2] + second


def _folder(tmp_path: Path, text: bytes) -> Path:
    folder = tmp_path / "exported"
    folder.mkdir()
    (folder / "crm.jsonl").write_bytes(text)
    return folder


def _settings(tmp_path: Path, folder: Path | None = None) -> Settings:
    store = f"sqlite:///{tmp_path / 's.db'}"
    return Settings(data=folder, store=store, cache_dir=tmp_path / "cache")


@pytest.mark.parametrize(("first", "second"), ENDINGS)
def test_a_pushed_body_of_any_line_ends_is_taken_line_by_line(
    tmp_path: Path, first: bytes, second: bytes
) -> None:
    with TestClient(create_app(_settings(tmp_path)), base_url="http://127.0.0.1") as client:
        # When three contacts are pushed, their lines ended by \r, \r\n or both
        answer = client.post(
            "/ingest/crm",
            content=_text(first, second),
            headers={"content-type": "application/x-ndjson"},
        )
        # Then each is taken on its own (before, with \r: one bad line, 422)
        assert answer.status_code == 200, answer.text
        said = answer.json()
        assert (said["accepted"], said["rejected"]) == (3, 0)
        assert [line["line"] for line in said["lines"]] == [1, 2, 3]
        found = gql(client, FIND, value="C-CR-3")["data"]["memberByIdentifier"]  # type: ignore[index]
        assert found["profile"]["firstName"] == "Rosalind"


def test_a_bad_line_of_a_body_of_cr_lines_is_refused_alone_with_its_number(
    tmp_path: Path,
) -> None:
    with TestClient(create_app(_settings(tmp_path)), base_url="http://127.0.0.1") as client:
        answer = client.post(
            "/ingest/crm",
            content=_text(b"\r", b"\r", middle=BAD),
            headers={"content-type": "application/x-ndjson"},
        )
    assert answer.status_code == 207, answer.text
    said = answer.json()
    assert (said["accepted"], said["rejected"]) == (2, 1)
    [refused] = [line for line in said["lines"] if line["status"] == "rejected"]
    assert refused["line"] == 2 and "emails" in refused["error"]


@pytest.mark.parametrize(("first", "second"), ENDINGS)
def test_a_loaded_folder_reads_every_line_whatever_its_line_end(
    tmp_path: Path, first: bytes, second: bytes
) -> None:
    folder = _folder(tmp_path, _text(first, second))
    db = tmp_path / "cr.db"
    result = runner.invoke(app, ["load", "--data", str(folder), "--to", f"sqlite:///{db}"])
    assert result.exit_code == 0, result.output
    assert ": 3 members" in " ".join(result.output.split())  # (rich wraps it)
    with sqlite3.connect(db) as conn:
        held = {r[0] for r in conn.execute("SELECT line_id FROM source_lines")}
    assert held == {"C-CR-1", "C-CR-2", "C-CR-3"}


def test_resolve_answers_each_line_of_a_file_of_cr_lines_with_its_number(
    tmp_path: Path,
) -> None:
    # Given a CRM export whose lines end at \r, its second line a bad one
    folder, out = _folder(tmp_path, _text(b"\r", b"\r", middle=BAD)), tmp_path / "m.jsonl"
    store = f"sqlite:///{tmp_path / 'r.db'}"
    result = runner.invoke(
        app, ["resolve", "--data", str(folder), "--out", str(out), "--store", store]
    )
    assert result.exit_code == 0, result.output
    # Then one answer per line, the bad one said where it is
    first, second, third = read_jsonl(out)
    assert first["id"] == "C-CR-1" and str(first["member_id"]).startswith("m_")
    assert third["id"] == "C-CR-3" and str(third["member_id"]).startswith("m_")
    assert second["member_id"] is None
    assert str(second["error"]).startswith("crm.jsonl:2: ")


def test_a_served_folder_of_cr_lines_finds_every_contact(tmp_path: Path) -> None:
    folder = _folder(tmp_path, _text(b"\r", b"\r"))
    with TestClient(create_app(_settings(tmp_path, folder)), base_url="http://127.0.0.1") as client:
        for contact in CONTACTS:
            found = gql(client, FIND, value=contact["contact_id"])["data"]["memberByIdentifier"]  # type: ignore[index]
            assert found["profile"]["firstName"] == contact["first_name"]


def test_a_line_appended_to_a_file_ending_in_cr_is_a_line_of_its_own(tmp_path: Path) -> None:
    # Given a source file whose last line ends at a lone \r
    folder = _folder(tmp_path, _text(b"\r", b"\r"))
    spec = SOURCES[SourceName.CRM]
    source = FileConnector(spec, folder, ownership(SourceName.CRM))
    assert source.load().accepted == 3
    # When a fourth contact is appended
    fourth = CrmContact.model_validate({**CONTACTS[0], "contact_id": "C-CR-4"})
    asyncio.run(source.append([fourth]))
    # Then the file reads as four good lines, here and in another reader, and no blank
    # line came between (the \r and the \n written after it would be one line end)
    again = FileConnector(spec, folder, ownership(SourceName.CRM))
    report = again.load()
    assert (report.lines, report.accepted, report.malformed) == (4, 4, 0)
    assert (
        (folder / "crm.jsonl")
        .read_bytes()
        .endswith(b"\r" + orjson.dumps(fourth.model_dump(mode="json", exclude_unset=True)) + b"\n")
    )


def test_a_reader_following_a_file_waits_for_a_line_end_after_a_cr(tmp_path: Path) -> None:
    # Given a reader following a file another process appends to
    folder = _folder(tmp_path, LINES[0] + b"\n")
    spec = SOURCES[SourceName.CRM]
    source = FileConnector(spec, folder, ownership(SourceName.CRM))
    assert source.load().accepted == 1
    # When a line arrives whose \r may be the first half of a \r\n still being written
    with (folder / "crm.jsonl").open("ab") as handle:
        handle.write(LINES[1] + b"\r")
    # Then it waits for what follows; with its \n, it is one line, no blank line after it
    assert source.refresh() == 0
    with (folder / "crm.jsonl").open("ab") as handle:
        handle.write(b"\n" + LINES[2] + b"\r" + LINES[0][:10])
    assert source.refresh() == 2
    assert source.report.lines == 3 and source.report.malformed == 0


def test_her_line_of_a_file_of_cr_lines_goes_when_she_is_erased(tmp_path: Path) -> None:
    folder = _folder(tmp_path, _text(b"\r", b"\r"))
    erase = """mutation($id: ID!) { eraseMember(id: $id, reason: "ticket DPO-CR") { state } }"""
    with TestClient(create_app(_settings(tmp_path, folder)), base_url="http://127.0.0.1") as client:
        member = gql(client, FIND, value="C-CR-2")["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
        state = gql(client, erase, id=member)["data"]["eraseMember"]["state"]  # type: ignore[index]
        assert state == "DONE"
    kept = (folder / "crm.jsonl").read_bytes()
    assert b"Ignatius" not in kept
    assert b"Clarabel" in kept and b"Rosalind" in kept


def test_a_line_cut_mid_file_is_said_by_its_column_not_a_second_line_number(
    tmp_path: Path,
) -> None:
    # Given an export whose second line was cut at its 30th character (its newline kept)
    folder, out = _folder(tmp_path, _text(b"\n", b"\n", middle=LINES[1][:30])), tmp_path / "m"
    store = f"sqlite:///{tmp_path / 'cut.db'}"
    result = runner.invoke(
        app, ["resolve", "--data", str(folder), "--out", str(out), "--store", store]
    )
    assert result.exit_code == 0, result.output
    # Then its error names the file's line once, and where in that line the JSON broke:
    # orjson's own "line 2 column 1 (char 30)" read as a second line number.
    second = read_jsonl(out)[1]
    assert second["error"] == "crm.jsonl:2: not JSON: unexpected end of data at column 31"

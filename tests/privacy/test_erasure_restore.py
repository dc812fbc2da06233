"""A restore of a backup taken before an erasure: the erasure is carried over and done
again, so she does not come back, and the record of her erasure stays (user31 f5)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.identity.store.format import STORE_FORMAT
from membergraph.settings import Settings
from tests.conftest import gql
from tests.privacy.people import CONTACT, add_to_folder, traces_in

pytestmark = pytest.mark.sqlite
runner = CliRunner()
FIND = '{ m: memberByIdentifier(kind: CRM_ID, value: "C-ZQ-77") { id } }'
ASKED = "{ privacyRequests { id state } }"


def _erased_after_a_backup(data_dir: Path, tmp_path: Path) -> tuple[str, Path, str]:
    """A store loaded with her, backed up, then her erasure: (store URL, backup, request)."""
    add_to_folder(data_dir)
    db = tmp_path / "store.db"
    store = f"sqlite:///{db}"
    loaded = runner.invoke(app, ["load", "--data", str(data_dir), "--to", store])
    assert loaded.exit_code == 0, loaded.output
    with TestClient(create_app(Settings(store=store)), base_url="http://127.0.0.1") as client:
        member = gql(client, FIND)["data"]["m"]["id"]  # type: ignore[index]
    backup = tmp_path / "backup.db"
    taken = runner.invoke(app, ["backup", "--store", store, "--out", str(backup)])
    assert taken.exit_code == 0, taken.output
    erased = runner.invoke(app, ["privacy", "erase", member, "--reason", "DPO-5", "--store", store])
    assert erased.exit_code == 0, erased.output
    with TestClient(create_app(Settings(store=store)), base_url="http://127.0.0.1") as client:
        [request] = gql(client, ASKED)["data"]["privacyRequests"]  # type: ignore[index]
    return store, backup, request["id"]


def test_a_restore_of_a_backup_from_before_an_erasure_erases_her_again(
    data_dir: Path, tmp_path: Path
) -> None:
    # Given her erasure after a backup
    store, backup, request = _erased_after_a_backup(data_dir, tmp_path)
    # When the backup is restored
    restored = runner.invoke(app, ["restore", "--from", str(backup), "--store", store])
    # Then the restore says it erased her again, naming the request
    assert restored.exit_code == 0, restored.output
    said = restored.output.replace("\n", " ")
    assert "erased again 1 person(s)" in said and f"{request} DONE" in said, said
    # And she is not found, the record of her erasure is kept, her next line is refused
    with TestClient(create_app(Settings(store=store)), base_url="http://127.0.0.1") as client:
        assert gql(client, FIND)["data"] == {"m": None}
        requests = gql(client, ASKED)["data"]["privacyRequests"]  # type: ignore[index]
        assert requests == [{"id": request, "state": "DONE"}]
        [line] = client.post("/ingest/crm", json=[CONTACT]).json()["lines"]
        assert line["status"] == "suppressed", line
    # And no byte of her is in the restored store's file
    db = Path(store.removeprefix("sqlite:///"))
    assert traces_in([db, Path(f"{db}-wal")]) == {}


def test_a_restore_told_to_undo_erasures_names_each_it_undoes(
    data_dir: Path, tmp_path: Path
) -> None:
    store, backup, request = _erased_after_a_backup(data_dir, tmp_path)
    restored = runner.invoke(
        app, ["restore", "--from", str(backup), "--store", store, "--undo-erasures"]
    )
    assert restored.exit_code == 0, restored.output
    said = restored.output.replace("\n", " ")
    assert "not erased again" in said and request in said, said
    with TestClient(create_app(Settings(store=store)), base_url="http://127.0.0.1") as client:
        assert gql(client, FIND)["data"]["m"] is not None  # type: ignore[index]


def test_a_restore_names_an_erasure_of_records_it_cannot_run_again(
    data_dir: Path, tmp_path: Path
) -> None:
    # Given her erasure narrowed to her CRM contact (--record), after a backup
    add_to_folder(data_dir)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    assert runner.invoke(app, ["load", "--data", str(data_dir), "--to", store]).exit_code == 0
    with TestClient(create_app(Settings(store=store)), base_url="http://127.0.0.1") as client:
        member = gql(client, FIND)["data"]["m"]["id"]  # type: ignore[index]
    backup = tmp_path / "backup.db"
    assert runner.invoke(app, ["backup", "--store", store, "--out", str(backup)]).exit_code == 0
    erase = ["privacy", "erase", member, "--reason", "DPO-6", "--store", store]
    erased = runner.invoke(app, [*erase, "--record", "crm:C-ZQ-77"])
    assert erased.exit_code == 0, erased.output
    # When the backup is restored
    restored = runner.invoke(app, ["restore", "--from", str(backup), "--store", store])
    # Then the restore does not pass over it in silence (the reviewer's finding: a narrowed
    # erasure was not carried, her records back and no word): it names the request and says
    # to erase her records again
    assert restored.exit_code == 0, restored.output
    said = restored.output.replace("\n", " ")
    assert "1 erasure(s) of records named with --record" in said, said
    assert f"(member {member})" in said and "--record SOURCE:KEY" in said, said
    # And the record of her erasure is kept, her contact's next line refused (suppressed)
    with TestClient(create_app(Settings(store=store)), base_url="http://127.0.0.1") as client:
        [request] = gql(client, ASKED)["data"]["privacyRequests"]  # type: ignore[index]
        assert request["state"] == "DONE"
        [line] = client.post("/ingest/crm", json=[CONTACT]).json()["lines"]
        assert line["status"] == "suppressed", line


def test_an_older_releases_backup_restored_holds_her_back_until_reresolve_erases_her(
    data_dir: Path, tmp_path: Path
) -> None:
    # Given a backup the format-6 release took, then the store brought up, then her erasure
    from tests.test_upgrade_refused import as_format_6

    add_to_folder(data_dir)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    loaded = runner.invoke(app, ["load", "--data", str(data_dir), "--to", store])
    assert loaded.exit_code == 0, loaded.output
    as_format_6(store)
    backup = tmp_path / "backup.db"
    taken = runner.invoke(app, ["backup", "--store", store, "--out", str(backup)])
    assert taken.exit_code == 0, taken.output
    brought = runner.invoke(app, ["reresolve", "--store", store])
    assert brought.exit_code == 0, brought.output
    with TestClient(create_app(Settings(store=store)), base_url="http://127.0.0.1") as client:
        member = gql(client, FIND)["data"]["m"]["id"]  # type: ignore[index]
    erased = runner.invoke(app, ["privacy", "erase", member, "--reason", "DPO-6", "--store", store])
    assert erased.exit_code == 0, erased.output
    # When the older backup is restored, then her erasure is carried over, pending
    restored = runner.invoke(app, ["restore", "--from", str(backup), "--store", store])
    assert restored.exit_code == 0, restored.output
    said = restored.output.replace("\n", " ")
    assert "carried over, pending" in said and "`membergraph reresolve` finishes them" in said
    # When it is brought up, then the pending erasure is finished by it
    brought = runner.invoke(app, ["reresolve", "--store", store])
    assert brought.exit_code == 0, brought.output
    assert "erased again 1 person(s) with erasures pending" in brought.output
    # And no export gives her out, nor any read: she is not found
    out = tmp_path / "all.csv"
    exported = runner.invoke(app, ["export", "--pii", "--store", store, "--out", str(out)])
    assert exported.exit_code == 0, exported.output
    assert "zephyrine" not in out.read_text().lower()
    asked = runner.invoke(app, ["privacy", "export", member, "--store", store])
    assert asked.exit_code == 1 and f"no member {member}" in asked.output
    with TestClient(create_app(Settings(store=store)), base_url="http://127.0.0.1") as client:
        assert gql(client, FIND)["data"] == {"m": None}


def test_exports_refuse_a_store_while_an_erasure_is_pending(data_dir: Path, tmp_path: Path) -> None:
    # Given an older release's backup restored over a store that erased her since
    from tests.test_upgrade_refused import as_format_6

    store, backup, request = _erased_after_a_backup(data_dir, tmp_path)
    as_format_6(f"sqlite:///{backup}")
    restored = runner.invoke(app, ["restore", "--from", str(backup), "--store", store])
    assert restored.exit_code == 0, restored.output
    # And brought up by a run that stopped before its erasures (their mark set current)
    with sqlite3.connect(tmp_path / "store.db") as db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'format'", (str(STORE_FORMAT),))
    # When it is exported, then each export refuses, naming the pending erasure
    for command in (
        ["export", "--pii", "--store", store, "--out", str(tmp_path / "all.csv")],
        ["privacy", "export", "m_anyone", "--store", store],
    ):
        said = runner.invoke(app, command)
        assert said.exit_code == 1, (command, said.output)
        assert f"erasure(s) are pending in the store ({request} (member" in said.output, command
    assert not (tmp_path / "all.csv").exists()

"""``membergraph privacy export`` and ``membergraph privacy erase``."""

from __future__ import annotations

import getpass
from pathlib import Path

import orjson
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.settings import Settings
from tests.conftest import gql
from tests.privacy.people import add_to_folder

runner = CliRunner()
FIND = '{ memberByIdentifier(kind: CRM_ID, value: "C-ZQ-77") { id } }'


def test_export_then_erase_from_the_command_line(data_dir: Path, tmp_path: Path) -> None:
    add_to_folder(data_dir)
    store = f"sqlite:///{tmp_path / 'store.db'}"
    settings = Settings(data=data_dir, store=store, cache_dir=tmp_path / "cache")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        member = gql(client, FIND)["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
    where = ["--data", str(data_dir), "--store", store]
    out = tmp_path / "export.json"

    exported = runner.invoke(app, ["privacy", "export", member, "--out", str(out), *where])
    assert exported.exit_code == 0, exported.output
    assert orjson.loads(out.read_bytes())["source_lines"]["crm"][0]["contact_id"] == "C-ZQ-77"
    again = orjson.loads(runner.invoke(app, ["privacy", "export", member, *where]).stdout)
    # The first export is in the second's audit, as whoever ran it at the shell
    officer = f"cli:{getpass.getuser()}"
    assert [e["actor"] for e in again["pii_access_log"]] == [officer]

    erased = runner.invoke(app, ["privacy", "erase", member, "--reason", "DPO-7", *where])
    assert erased.exit_code == 0, erased.output
    printed = orjson.loads(erased.stdout)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        query = "{ privacyRequests { actor state sources { source state } } }"
        said = gql(client, query)["data"]["privacyRequests"]  # type: ignore[index]
    assert [request["actor"] for request in said] == [officer]
    # the shell and the API word the request alike: DONE, each source DELETED
    assert printed["state"] == said[0]["state"] == "DONE"
    by_api = {deletion["source"].lower(): deletion["state"] for deletion in said[0]["sources"]}
    assert printed["sources"] == by_api and set(by_api.values()) == {"DELETED"}
    missing = runner.invoke(app, ["privacy", "export", member, *where])
    assert missing.exit_code == 1
    assert "no member" in missing.output

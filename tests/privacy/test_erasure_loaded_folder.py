"""An erasure rewrites the folder the store was loaded from, whichever command loaded it:
`membergraph load --data` then an erasure naming `--store` alone (or a gateway served with
`--store` alone) must leave no line of hers there, or a new store loaded from the folder
holds her again."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from membergraph.cli import app

runner = CliRunner()


def _contact(contact_id: str, first: str, email: str) -> dict[str, object]:
    return {
        "contact_id": contact_id,
        "first_name": first,
        "last_name": "Folder",
        "emails": [email],
        "updated_at": "2026-11-01T00:00:00Z",
    }


HER = _contact("C-1", "Ada", "ada.folder@example.org")
OTHER = _contact("C-2", "Bo", "bo.folder@example.org")
LATER = _contact("C-3", "Cy", "cy.folder@example.org")


def _loaded(tmp_path: Path) -> tuple[Path, str, str]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_text(f"{json.dumps(HER)}\n{json.dumps(OTHER)}\n")
    store = f"sqlite:///{tmp_path / 'store.db'}"
    loaded = runner.invoke(app, ["load", "--data", str(data), "--to", store])
    assert loaded.exit_code == 0, loaded.output
    return data, store, _member_of(tmp_path / "store.db", "C-1")


def _member_of(path: Path, key: str) -> str:
    with sqlite3.connect(path) as db:
        [(member,)] = db.execute("SELECT member_id FROM records WHERE key = ?", (key,))
    return str(member)


def _contacts(data: Path) -> list[str]:
    return [
        json.loads(line)["contact_id"] for line in (data / "crm.jsonl").read_text().splitlines()
    ]


def test_an_erasure_naming_the_store_alone_rewrites_the_folder_it_was_loaded_from(
    tmp_path: Path,
) -> None:
    # Given a folder loaded by `membergraph load`
    data, store, member = _loaded(tmp_path)

    # When she is erased naming the store alone, as docs/privacy.md writes the command
    erased = runner.invoke(app, ["privacy", "erase", member, "--reason", "DPO-1", "--store", store])

    # Then her line left the folder, the report says so, and a new store loaded from the
    # folder does not hold her
    assert erased.exit_code == 0, erased.output
    assert json.loads(erased.output)["counts"]["lines_folder"] == 1
    assert _contacts(data) == ["C-2"]
    again = runner.invoke(app, ["load", "--data", str(data), "--to", f"sqlite:///{tmp_path}/n.db"])
    assert again.exit_code == 0, again.output
    with sqlite3.connect(tmp_path / "n.db") as db:
        assert [k for (k,) in db.execute("SELECT key FROM records ORDER BY key")] == ["C-2"]


def test_a_folder_changed_since_its_load_is_rewritten_and_its_new_lines_still_load(
    tmp_path: Path,
) -> None:
    # Given a loaded folder to which a contact was appended since, not loaded yet
    data, store, member = _loaded(tmp_path)
    with (data / "crm.jsonl").open("a") as crm:
        crm.write(f"{json.dumps(LATER)}\n")

    # When she is erased, then the folder loaded again into the same store
    erased = runner.invoke(app, ["privacy", "erase", member, "--reason", "DPO-2", "--store", store])
    assert erased.exit_code == 0, erased.output
    loaded = runner.invoke(app, ["load", "--data", str(data), "--to", store])

    # Then the folder holds the others' lines, and the appended contact is in the store (the
    # erasure did not mark the changed folder as loaded)
    assert loaded.exit_code == 0, loaded.output
    assert _contacts(data) == ["C-2", "C-3"]
    assert _member_of(tmp_path / "store.db", "C-3")

"""A changed folder (a nightly export dropped in beside a loaded store) is a push of what
changed: only its changed files are read, identity is applied to the lines they created or
updated (not the whole store resolved again), and the members are those a whole resolution
of the same folder gives."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from membergraph.cli import app
from membergraph.connectors.files import FileConnector
from membergraph.demo import write_demo_data
from membergraph.identity.service import IdentityService
from tests.support.stores import partition

pytestmark = pytest.mark.sqlite
runner = CliRunner()


def _load(folder: Path, store: Path) -> None:
    done = runner.invoke(app, ["load", "--data", str(folder), "--to", f"sqlite:///{store}"])
    assert done.exit_code == 0, done.output


def _lines(path: Path) -> list[dict[str, Any]]:
    return [orjson.loads(raw) for raw in path.read_bytes().splitlines() if raw.strip()]


def _append(path: Path, lines: list[dict[str, Any]]) -> None:
    with path.open("ab") as out:
        out.writelines(orjson.dumps(line) + b"\n" for line in lines)


def _nightly_export(folder: Path) -> int:
    """What a night brings: every tenth contact's consent flipped under a newer version, a
    contact's duplicate with her e-mail and card, new purchases of known cards and of a new
    online customer. Answers how many lines it added."""
    rng = random.Random(11)
    contacts = {c["contact_id"]: c for c in _lines(folder / "crm.jsonl")}
    changed = []
    for n, contact in enumerate(sorted(contacts.values(), key=lambda c: c["contact_id"])):
        if n % 10 == 0:
            consents = dict(contact.get("consents") or {})
            consents["email"] = not consents.get("email", False)
            changed.append({**contact, "consents": consents, "updated_at": "2026-12-01T00:00:00Z"})
    twin = rng.choice([c for c in contacts.values() if c.get("emails") and c.get("loyalty_id")])
    changed.append({**twin, "contact_id": "C-DUP-NIGHT", "updated_at": "2026-12-01T00:00:00Z"})
    _append(folder / "crm.jsonl", changed)
    sales = _lines(folder / "transactions.jsonl")
    bought = []
    for n in range(40):
        sale = dict(rng.choice([s for s in sales if s.get("loyalty_id")]))
        bought.append({**sale, "transaction_id": f"T-NIGHT-{n}", "status": "completed"})
    bought.append(
        {
            "transaction_id": "T-NIGHT-NEW",
            "email": "night.owl@mailbox.org",
            "channel": "online",
            "occurred_at": "2026-12-01T22:00:00Z",
            "amount_cents": 4200,
        }
    )
    _append(folder / "transactions.jsonl", bought)
    return len(changed) + len(bought)


def test_a_changed_folder_is_applied_as_pushes_and_gives_the_whole_resolutions_members(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "data"
    write_demo_data(folder, 300, seed=4)
    store = tmp_path / "served.db"
    _load(folder, store)
    added = _nightly_export(folder)
    # Spies: the files read, what identity is asked to do
    read: list[str] = []
    applied: list[int] = []
    whole: list[int] = []
    real_load, real_ingest = FileConnector.load, IdentityService.ingest
    real_resolve_all = IdentityService.resolve_all

    def load(self: FileConnector, *args: Any, **kwargs: Any) -> Any:
        read.append(self.spec.name.value)
        return real_load(self, *args, **kwargs)

    async def ingest(self: IdentityService, incoming: Any, *args: Any, **kwargs: Any) -> Any:
        applied.append(len(incoming))
        return await real_ingest(self, incoming, *args, **kwargs)

    async def resolve_all(self: IdentityService, records: Any, *args: Any, **kwargs: Any) -> Any:
        whole.append(len(records))
        return await real_resolve_all(self, records, *args, **kwargs)

    monkeypatch.setattr(FileConnector, "load", load)
    monkeypatch.setattr(IdentityService, "ingest", ingest)
    monkeypatch.setattr(IdentityService, "resolve_all", resolve_all)
    # When the changed folder is loaded into the store that holds the night before
    _load(folder, store)
    # Then only the two files that changed were read, and no whole resolution was run:
    # identity was applied to the records of the lines added, as a push applies them
    assert sorted(read) == ["crm", "transactions"]
    assert whole == []
    assert 0 < sum(applied) <= added
    # and the members are those of the same folder resolved whole into a new store
    monkeypatch.undo()
    fresh = tmp_path / "fresh.db"
    _load(folder, fresh)
    assert partition(store) == partition(fresh)
    # and loading the same folder again reads nothing
    monkeypatch.setattr(FileConnector, "load", load)
    read.clear()
    _load(folder, store)
    assert read == []

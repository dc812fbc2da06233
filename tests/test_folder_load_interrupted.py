"""A folder load cut short, or run twice at once, leaves the members a whole load of the same
folder gives; and a changed folder's older contact versions count as a push counts them.

Where a real load is killed (-9), these stop it with an error at the same point (the next
step raising), then load again as the user would.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from membergraph.cli import app
from membergraph.gateway import open_gateway
from membergraph.identity.service import IdentityService
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.identity.store.types import StoreError
from membergraph.settings import Settings
from tests.support.stores import partition

pytestmark = pytest.mark.sqlite
runner = CliRunner()


def _load(folder: Path, store: Path) -> int:
    """``membergraph load --data folder --to sqlite:///store``; its exit code."""
    return runner.invoke(
        app, ["load", "--data", str(folder), "--to", f"sqlite:///{store}"]
    ).exit_code


def _append(path: Path, lines: list[dict[str, Any]]) -> None:
    with path.open("ab") as out:
        out.writelines(orjson.dumps(line) + b"\n" for line in lines)


def _first_contact(folder: Path) -> dict[str, Any]:
    contact: dict[str, Any] = orjson.loads((folder / "crm.jsonl").read_bytes().splitlines()[0])
    return contact


def _members(store: Path) -> tuple[int, int]:
    """How many members the store holds, and how many of them hold no record."""
    with sqlite3.connect(store) as db:
        (held,) = db.execute("SELECT count(*) FROM members").fetchone()
        (empty,) = db.execute(
            "SELECT count(*) FROM members WHERE id NOT IN"
            " (SELECT member_id FROM records WHERE member_id IS NOT NULL)"
        ).fetchone()
    return held, empty


def _together(store: Path, a: str, b: str) -> bool:
    """Whether records ``a`` and ``b`` (keys) are in one member."""
    with sqlite3.connect(store) as db:
        row = db.execute(
            "SELECT count(*) FROM records r1 JOIN records r2 ON r1.member_id = r2.member_id"
            " WHERE r1.key = ? AND r2.key = ?",
            (a, b),
        ).fetchone()
    return bool(row[0])


def _fail(*_: object, **__: object) -> None:
    raise StoreError("the process stopped here")


@pytest.fixture
def folder(demo_source: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(demo_source, copy)
    (copy / "truth.jsonl").unlink(missing_ok=True)
    return copy


def test_a_first_load_stopped_before_resolving_is_resolved_by_the_next_load(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a first load that stops once it wrote the lines, before resolving them
    store = _stopped_before_resolving(folder, tmp_path, monkeypatch)
    # When the load is run again
    assert _load(folder, store) == 0
    # Then the store holds the members a load that was never stopped gives
    _as_a_whole_load(folder, store, tmp_path)


def _stopped_before_resolving(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    store = tmp_path / "store.db"
    with monkeypatch.context() as patch:
        patch.setattr(IdentityService, "resolve_all", _fail)
        assert _load(folder, store) == 1
    return store


def _as_a_whole_load(folder: Path, store: Path, tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.db"
    assert _load(folder, fresh) == 0
    assert _members(store)[0] > 0
    assert partition(store) == partition(fresh)


async def test_two_first_loads_at_once_make_each_member_once(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given two processes making one new store from one folder at once (two replicas
    # started together): the second has read the empty store when the first writes its
    # members, and asks which member IDs are taken once the first is done
    askers = 0
    second_asks, first_done = asyncio.Event(), asyncio.Event()
    real_taken = SqliteStore.taken_member_ids

    async def taken_member_ids(self: SqliteStore, ids: Any) -> Any:
        nonlocal askers
        askers += 1
        # (The waits are what let two loads race; their length decides no assertion: a
        # load whose twin waits for it to finish goes on without it.)
        with contextlib.suppress(TimeoutError):
            if askers == 1:
                await asyncio.wait_for(second_asks.wait(), 2.0)
            else:
                second_asks.set()
                await asyncio.wait_for(first_done.wait(), 30.0)
        return await real_taken(self, ids)

    monkeypatch.setattr(SqliteStore, "taken_member_ids", taken_member_ids)
    store, fresh = tmp_path / "store.db", tmp_path / "fresh.db"

    async def start(path: Path) -> int:
        settings = Settings(data=folder, store=f"sqlite:///{path}", cache_dir=tmp_path / "cache")
        gateway, sources, result = await open_gateway(settings)
        await gateway.identity.store.aclose()
        await sources.aclose()
        first_done.set()
        return result.members

    # When both load it
    started = await asyncio.gather(start(store), start(store))
    # Then each member is there once, with its records, as one load makes them
    monkeypatch.undo()
    assert await start(fresh) > 0
    held, empty_members = _members(store)
    assert empty_members == 0
    assert held == _members(fresh)[0] == started[0] == started[1]
    assert partition(store) == partition(fresh)


@pytest.mark.parametrize(
    "replaced",
    [
        # the export keeps the held version and adds her version of 2025 after it
        pytest.param(False, id="older-version-added"),
        # the export's only version of her is older than the one held
        pytest.param(True, id="older-than-held"),
    ],
)
def test_a_changed_folder_counts_an_older_version_of_a_contact_held(
    folder: Path, tmp_path: Path, replaced: bool
) -> None:
    # Given a loaded store
    store = tmp_path / "store.db"
    assert _load(folder, store) == 0
    # When the export brings her version of 2025, with a former e-mail, and a purchase
    # made under that e-mail, and is loaded as a changed folder
    contact = _first_contact(folder)
    email = f"{contact['first_name']}.{contact['last_name']}.former@mailbox.org".lower()
    former = {**contact, "emails": [email], "updated_at": "2025-01-01T00:00:00Z"}
    if replaced:
        rest = (folder / "crm.jsonl").read_bytes().splitlines(keepends=True)[1:]
        (folder / "crm.jsonl").write_bytes(b"".join(rest))
    _append(folder / "crm.jsonl", [former])
    purchase = {
        "transaction_id": "T-FORMER-1",
        "email": email,
        "channel": "online",
        "occurred_at": "2025-02-01T10:00:00Z",
        "amount_cents": 4200,
    }
    _append(folder / "transactions.jsonl", [purchase])
    assert _load(folder, store) == 0
    # Then the purchase is hers, as the same lines pushed to /ingest make it
    assert _together(store, contact["contact_id"], f"online:{email}")


def test_a_changed_folder_stopped_before_identity_keeps_its_older_versions(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a loaded store, and an export with a new contact in two versions (her e-mail
    # changed) and a purchase under her former e-mail
    store = tmp_path / "store.db"
    assert _load(folder, store) == 0
    olga = {
        "contact_id": "C-OLGA",
        "first_name": "Olga",
        "last_name": "Versionova",
        "emails": ["olga.old@mailbox.org"],
        "birth_date": "1980-02-03",
        "updated_at": "2026-10-01T00:00:00Z",
    }
    newer = {**olga, "emails": ["olga.new@mailbox.org"], "updated_at": "2026-11-01T00:00:00Z"}
    _append(folder / "crm.jsonl", [olga, newer])
    purchase = {
        "transaction_id": "T-OLGA-1",
        "email": "olga.old@mailbox.org",
        "channel": "online",
        "occurred_at": "2026-10-15T10:00:00Z",
        "amount_cents": 4200,
    }
    _append(folder / "transactions.jsonl", [purchase])
    # and its load stops once it stored the lines, before identity
    with monkeypatch.context() as patch:
        patch.setattr(IdentityService, "ingest", _fail)
        assert _load(folder, store) == 1
    # When the load is run again
    assert _load(folder, store) == 0
    # Then the purchase is hers, and the members are those a load never stopped gives
    assert _together(store, "C-OLGA", "online:olga.old@mailbox.org")
    fresh = tmp_path / "fresh.db"
    assert _load(folder, fresh) == 0
    assert partition(store) == partition(fresh)
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM source_pending").fetchone() == (0,)


def test_a_first_load_killed_under_an_earlier_release_is_resolved_by_the_next_load(
    folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a first load that stopped once it wrote the lines, under a release that kept
    # no `first_load` key to say so
    store = _stopped_before_resolving(folder, tmp_path, monkeypatch)
    with sqlite3.connect(store) as db:
        db.execute("DELETE FROM source_meta WHERE key = 'first_load'")
    assert _members(store) == (0, 0)
    # When the load is run again (as a start with --data runs it)
    assert _load(folder, store) == 0
    # Then the store holds the members a load that was never stopped gives, not none
    _as_a_whole_load(folder, store, tmp_path)

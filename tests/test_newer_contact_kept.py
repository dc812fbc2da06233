"""A contact's newer version, pushed over HTTP while a folder holding an older one is loaded
or resolved, keeps her name and address: the record keeps the ordering key of the line it
was built from, and every writer keeps the newer of two versions.

The push lands where a real one can: a MongoDB first load copies the folder's lines, then
resolves them (no lock keeps a gateway's pushes out in between); ``membergraph resolve
--store`` reads the store's lines, then resolves the folder. The tests push at that point
(the resolution about to begin), then let the load or resolve go on as it would.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.connectors.models import CrmContact, SourceName
from membergraph.identity.line_records import record_of_line
from membergraph.identity.records import RecordData
from membergraph.identity.service import IdentityService
from membergraph.settings import Settings
from tests.support.mongo import EmulatedClient, load
from tests.support.stores import ADAPTERS, open_store, two_processes

URL = "mongodb://emulated/membergraph"
CONTACT = {
    "contact_id": "C-ADA",
    "first_name": "Ada",
    "last_name": "Quill",
    "emails": ["ada.quill@mailbox.org"],
    "birth_date": "1980-01-02",
    "address": {"line1": "1 Old St", "city": "Oldtown", "postal_code": "11111", "country": "US"},
    "updated_at": "2026-01-01T00:00:00Z",
}
MARCH = {**CONTACT, "first_name": "Adaline", "updated_at": "2026-03-01T00:00:00Z"}
JUNE = {  # what the CRM says of her since: pushed by its connector
    **CONTACT,
    "first_name": "Adah",
    "address": {"line1": "9 New Rd", "city": "Newtown", "postal_code": "99999", "country": "US"},
    "updated_at": "2026-06-01T00:00:00Z",
}
HERS = ("Adah", "9 new rd|99999")


def _write(folder: Path, *contacts: dict[str, Any]) -> None:
    folder.mkdir(exist_ok=True)
    (folder / "crm.jsonl").write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in contacts))


def _push(settings: Settings, line: dict[str, Any], mongo_client: object = None) -> None:
    with TestClient(
        create_app(settings, mongo_client=mongo_client), base_url="http://127.0.0.1"
    ) as http:
        [answer] = http.post("/ingest/crm", json=[line]).json()["lines"]
        assert answer["status"] == "updated"


@pytest.fixture
def pushed_as_resolution_begins(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Set the push (settings, line, client) made just before the next whole resolution."""
    push: list[Any] = []
    real = IdentityService.resolve_all

    async def resolve_all(self: IdentityService, *args: Any, **kwargs: Any) -> Any:
        if push:
            await asyncio.to_thread(_push, *push)
            push.clear()
        return await real(self, *args, **kwargs)

    monkeypatch.setattr(IdentityService, "resolve_all", resolve_all)
    yield push


@pytest.mark.sqlite
def test_resolve_keeps_a_newer_version_pushed_as_it_resolves(
    tmp_path: Path, pushed_as_resolution_begins: list[Any]
) -> None:
    # Given a served store holding her version of January, and a folder with her version
    # of March, which a gateway over it has loaded
    folder, store = tmp_path / "data", tmp_path / "s.db"
    _write(folder, CONTACT)
    settings = Settings(data=folder, store=f"sqlite:///{store}", cache_dir=tmp_path)
    assert (
        CliRunner().invoke(app, ["load", "--data", str(folder), "--to", settings.store]).exit_code
        == 0
    )
    _write(folder, MARCH)
    # When her version of June is pushed as `membergraph resolve` of the folder begins
    pushed_as_resolution_begins += [settings, JUNE]
    out = tmp_path / "out.jsonl"
    done = CliRunner().invoke(
        app, ["resolve", "--data", str(folder), "--out", str(out), "--store", settings.store]
    )
    assert done.exit_code == 0, done.output
    assert not pushed_as_resolution_begins
    # Then her record is her newest version's
    with sqlite3.connect(store) as db:
        held = db.execute("SELECT first_name, address FROM records WHERE key = 'C-ADA'")
        assert held.fetchall() == [HERS]


@pytest.mark.mongodb
def test_a_mongodb_first_load_keeps_a_newer_version_pushed_as_it_resolves(
    tmp_path: Path, pushed_as_resolution_begins: list[Any]
) -> None:
    # Given a folder with her version of March, loaded into new collections
    folder = tmp_path / "data"
    _write(folder, MARCH)
    client = EmulatedClient()
    settings = Settings(store=URL, sources=URL, cache_dir=tmp_path / "cache")
    # When her version of June is pushed to a gateway over them once the load copied the
    # folder's lines, as it begins to resolve them
    pushed_as_resolution_begins += [settings, JUNE, client]
    asyncio.run(load(folder, URL, client, settings))
    assert not pushed_as_resolution_begins
    # Then her record is her newest version's
    records = client._client["membergraph"].records
    held = [(d["first_name"], d["address"]) for d in records.find({"key": "C-ADA"})]
    assert held == [HERS]


def _record(line: dict[str, Any]) -> RecordData:
    record = record_of_line(SourceName.CRM, CrmContact.model_validate(line))
    assert record is not None
    return record


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_every_writer_keeps_the_newer_version_of_a_contact(adapter: str) -> None:
    async with open_store(adapter) as store:
        identity = IdentityService(store)
        # Given her version of January, then her version of June, which says the same of
        # her but for a consent (nothing the record holds)
        await identity.resolve_all({("crm", "C-ADA"): _record(CONTACT)})
        consented = {**CONTACT, "consents": {"email": True}, "updated_at": JUNE["updated_at"]}
        await identity.ingest([_record(consented)])
        # When a writer brings her version of March (an ingest, a whole resolution)
        await identity.ingest([_record(MARCH)])
        await identity.resolve_all({("crm", "C-ADA"): _record(MARCH)})
        # Then her record still says what her newest version says
        [held] = (await store.load_records([("crm", "C-ADA")])).values()
        assert (held.first_name, held.address) == ("Ada", "1 old st|11111")
        # and her version of June, pushed again with her new name and address, is taken
        await identity.ingest([_record(JUNE)])
        [held] = (await store.load_records([("crm", "C-ADA")])).values()
        assert (held.first_name, held.address) == HERS


@pytest.mark.parametrize("adapter", ADAPTERS)
@pytest.mark.parametrize("meanwhile", ["load_records", "apply"])
async def test_a_consent_pushed_beside_her_new_name_in_another_process_keeps_the_name(
    adapter: str, meanwhile: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with two_processes(adapter, tmp_path) as (ours, theirs):
        identity, other = IdentityService(ours), IdentityService(theirs)
        # Given her version of January, and her version of February, which changes a
        # consent only (her record's version alone moves)
        await identity.resolve_all({("crm", "C-ADA"): _record(CONTACT)})
        consented = {**CONTACT, "consents": {"email": True}, "updated_at": "2026-02-01T00:00:00Z"}
        real = getattr(ours, meanwhile)
        pushed: list[str] = []

        async def then_june_elsewhere(*args: Any) -> Any:
            if not pushed:  # (before our read returns, or before our write)
                pushed.append("June")
                if meanwhile == "apply":
                    await other.ingest([_record(JUNE)])
                    return await real(*args)
                found = await real(*args)
                await other.ingest([_record(JUNE)])
                return found
            return await real(*args)

        monkeypatch.setattr(ours, meanwhile, then_june_elsewhere)
        # When February's is ingested here while another gateway process ingests her
        # version of June, with her new name and address
        await identity.ingest([_record(consented)])
        monkeypatch.undo()
        assert pushed
        # Then her record says what June says, not January's name put back
        [held] = (await ours.load_records([("crm", "C-ADA")])).values()
        assert (held.first_name, held.address) == HERS
        assert held.version == _record(JUNE).version

"""Loads into MongoDB source collections and the starts after them. A first load is copied in
bulk and resolved by the next start; a start over the collections as resolved (a restart, a
second worker or replica) lists none of their lines; a load into collections that hold
lines is a push: resolved and announced on the change feed as it goes, so a running gateway
sees it and no start has anything to resolve (emulated; real with
``MEMBERGRAPH_TEST_MONGODB_URL`` through the suites that run both)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from pymongo.errors import OperationFailure

from membergraph.connectors.base import ConnectorError
from membergraph.demo import write_demo_data
from membergraph.gateway import open_gateway
from membergraph.gateway_parts import Gateway
from membergraph.identity.feed import ChangeKind
from membergraph.identity.normalize import IdentifierKind
from membergraph.mongo_load import load_folder, load_screened
from membergraph.settings import Settings
from tests.support.mongo import EmulatedClient

pytestmark = pytest.mark.mongodb

URL = "mongodb://mongo.example:27017/restart?replicaSet=rs0"
BOUND = 30.0  # seconds; a start held at a read of its sources never gets there
NEW_EMAIL = "nora.newcomer@fastmail.com"
NEW_CONTACT = {
    "contact_id": "C-NEW-1",
    "first_name": "Nora",
    "last_name": "Newcomer",
    "emails": [NEW_EMAIL],
    "updated_at": "2026-11-30T09:00:00Z",
}
NEW_PURCHASE = {
    "transaction_id": "T-NEW-1",
    "email": NEW_EMAIL,
    "channel": "online",
    "occurred_at": "2026-11-30T10:00:00Z",
    "amount_cents": 4200,
    "status": "completed",
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    made = tmp_path / "data"
    write_demo_data(made, 20, seed=3)
    return made


def _with_newcomer(folder: Path, tmp_path: Path) -> Path:
    """The folder as a later export: a new contact and her online purchase."""
    later = tmp_path / "later"
    shutil.copytree(folder, later)
    for name, line in (("crm", NEW_CONTACT), ("transactions", NEW_PURCHASE)):
        with (later / f"{name}.jsonl").open("ab") as out:
            out.write(orjson.dumps(line) + b"\n")
    return later


@contextlib.asynccontextmanager
async def started(client: EmulatedClient, tmp_path: Path) -> AsyncIterator[tuple[Gateway, bool]]:
    """A gateway's start over the collections; yields it and whether it read the CRM
    collection's lines (it is held at that read: a start that lists them fails here)."""
    settings = Settings(store=URL, sources=URL, cache_dir=tmp_path / "cache")
    hold = client.faults.hold_read("crm")
    starting = asyncio.create_task(open_gateway(settings, client))
    done, _ = await asyncio.wait(
        [starting, asyncio.create_task(hold.reached.wait())],
        timeout=BOUND,
        return_when=asyncio.FIRST_COMPLETED,
    )
    listed = hold.reached.is_set()
    hold.go.set()
    gateway, sources, _ = await asyncio.wait_for(starting, BOUND)
    client.faults._holds.pop("crm", None)  # a hold not reached is not left for later reads
    try:
        yield gateway, listed
    finally:
        await gateway.identity.store.aclose()
        await sources.aclose()


async def _finds(gateway: Gateway, email: str) -> bool:
    return bool(await gateway.identity.store.find_members(IdentifierKind.EMAIL, email))


async def test_a_restart_over_collections_as_resolved_lists_none_of_their_lines(
    folder: Path, tmp_path: Path
) -> None:
    client = EmulatedClient()
    await load_folder(folder, URL, "US", client)
    async with started(client, tmp_path) as (first, listed):
        assert listed  # a new store: the collections are resolved
        members = await first.identity.store.count_members()
        assert members > 0
    # A restart, and a start after loading the same folder again (it changes no line)
    async with started(client, tmp_path) as (again, listed):
        assert not listed
        assert await again.identity.store.count_members() == members
    await load_folder(folder, URL, "US", client)
    async with started(client, tmp_path) as (_, listed):
        assert not listed


def _settings(tmp_path: Path) -> Settings:
    return Settings(store=URL, sources=URL, cache_dir=tmp_path / "cache")


async def _load(folder: Path, client: EmulatedClient, tmp_path: Path) -> dict[str, dict[str, int]]:
    """``membergraph load --data folder --to URL`` (the store: the same database)."""
    return await load_screened(folder, URL, _settings(tmp_path), URL, client)


def _consent_withdrawn(folder: Path) -> tuple[str, str]:
    """The folder's first contact, exported again later with e-mail consent withdrawn:
    her contact id and e-mail."""
    crm = folder / "crm.jsonl"
    lines = crm.read_bytes().splitlines()
    contact = orjson.loads(lines[0])
    contact["consents"] = {**contact.get("consents", {}), "email": False}
    contact["updated_at"] = "2026-12-01T08:00:00Z"
    crm.write_bytes(b"\n".join([*lines, orjson.dumps(contact)]) + b"\n")
    return str(contact["contact_id"]), str(contact["emails"][0]).strip().lower()


async def test_a_load_into_held_collections_is_resolved_and_announced_as_it_goes(
    folder: Path, tmp_path: Path
) -> None:
    client = EmulatedClient()
    first = await _load(folder, client, tmp_path)  # a first load: copied in bulk
    assert first["crm"]["created"] > 0
    later = _with_newcomer(folder, tmp_path)
    withdrawn, _ = _consent_withdrawn(later)
    async with started(client, tmp_path) as (running, listed):
        assert listed and not await _finds(running, NEW_EMAIL)
        store = running.identity.store
        before = (await store.feed_after(0, 1_000_000) or [None])[-1]
        cursor = 0 if before is None else before.cursor
        # When the later export is loaded while the gateway runs
        counts = await _load(later, client, tmp_path)
        # Then what changed is taken as pushes are, and nothing else
        assert counts["crm"]["created"] == 1 and counts["crm"]["updated"] == 1
        assert counts["transactions"]["created"] == 1
        # (her earlier version is still in the export, pushed first: unchanged)
        assert counts["crm"]["unchanged"] == first["crm"]["created"]
        # the running gateway's store holds her at once, and the feed says what changed
        assert await _finds(running, NEW_EMAIL)
        said = {(e.line_id, e.kind) for e in await store.feed_after(cursor, 1_000_000)}
        assert ("C-NEW-1", ChangeKind.PROFILE_UPDATED) in said
        assert ("T-NEW-1", ChangeKind.PURCHASE_RECORDED) in said
        assert (withdrawn, ChangeKind.CONSENT_CHANGED) in said
        assert {line for line, _ in said} <= {"C-NEW-1", "T-NEW-1", withdrawn, None}
    # No start has anything to resolve after it, and loading it again announces nothing
    async with started(client, tmp_path) as (again, listed):
        assert not listed
        end = (await again.identity.store.feed_after(0, 1_000_000))[-1].cursor
    repeat = await _load(later, client, tmp_path)
    assert all(c["created"] == c["updated"] == 0 for c in repeat.values())
    async with started(client, tmp_path) as (after, listed):
        assert not listed
        assert await after.identity.store.feed_after(end, 100) == []


async def test_a_first_load_stopped_half_way_has_the_next_start_resolve_what_it_wrote(
    folder: Path, tmp_path: Path
) -> None:
    client = EmulatedClient()
    # A first load into empty collections stops after the CRM's lines, at the purchases'
    # (its writes: the load's version, one a contact, then the first purchase)
    crm = [orjson.loads(line) for line in (folder / "crm.jsonl").read_bytes().splitlines()]
    contacts = len({line["contact_id"] for line in crm})
    client.faults.fail_write(contacts + 2, OperationFailure("stopped here (injected)", 1))
    with pytest.raises(ConnectorError, match="transactions: append failed"):
        await load_folder(folder, URL, "US", client)
    assert client.faults.pending == 0
    email = str(crm[0]["emails"][0]).strip().lower()
    async with started(client, tmp_path) as (gateway, listed):
        assert listed
        assert await _finds(gateway, email)

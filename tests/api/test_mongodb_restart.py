"""A start over MongoDB source collections resolves them only when a load changed them since
the store was resolved from them: a restart, a second worker or replica, a load of the same
folder again list none of their lines; a load that changed a line, even one stopped
half-way, has the next start resolve them (emulated; real with ``MEMBERGRAPH_TEST_MONGODB_URL``
through the suites that run both)."""

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
from membergraph.identity.normalize import IdentifierKind
from membergraph.mongo_load import load_folder
from membergraph.resolvers.context import Gateway
from membergraph.settings import Settings
from tests.support.mongo import EmulatedClient

pytestmark = pytest.mark.mongodb

URL = "mongodb://mongo.example:27017/restart?replicaSet=rs0"
BOUND = 30.0  # seconds; a start held at a read of its sources never gets there
NEW_EMAIL = "nora.newcomer@example.org"
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


async def test_a_load_that_changed_lines_has_the_next_start_resolve_them(
    folder: Path, tmp_path: Path
) -> None:
    client = EmulatedClient()
    await load_folder(folder, URL, "US", client)
    async with started(client, tmp_path) as (first, _):
        assert not await _finds(first, NEW_EMAIL)
    await load_folder(_with_newcomer(folder, tmp_path), URL, "US", client)
    async with started(client, tmp_path) as (later, listed):
        assert listed
        assert await _finds(later, NEW_EMAIL)
    async with started(client, tmp_path) as (_, listed):
        assert not listed  # resolved once


async def test_a_load_stopped_half_way_has_the_next_start_resolve_what_it_wrote(
    folder: Path, tmp_path: Path
) -> None:
    client = EmulatedClient()
    await load_folder(folder, URL, "US", client)
    async with started(client, tmp_path):
        pass
    # The later export's load stops after her contact, at her purchase (the third write:
    # the load's version, her contact, her purchase)
    client.faults.fail_write(3, OperationFailure("stopped here (injected)", 1))
    with pytest.raises(ConnectorError, match="transactions: append failed"):
        await load_folder(_with_newcomer(folder, tmp_path), URL, "US", client)
    assert client.faults.pending == 0
    async with started(client, tmp_path) as (gateway, listed):
        assert listed
        assert await _finds(gateway, NEW_EMAIL)

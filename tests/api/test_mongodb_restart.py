"""Loads into MongoDB source collections and the starts after them. No start lists or
resolves the collections: a first load is copied in bulk and resolved by the load itself; a
load into collections that hold lines is a push, resolved and announced on the change feed
as it goes, so a running gateway sees it. A store behind its collections (a load stopped
before it resolved, lines another tool wrote) or behind the match rules is served as it is
and said to be, until ``membergraph reresolve`` brings it up (emulated; real with
``MEMBERGRAPH_TEST_MONGODB_URL`` through the suites that run both)."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from unittest import mock

import orjson
import pytest
from pydantic import BaseModel
from pymongo.errors import OperationFailure
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.connectors.base import ConnectorError
from membergraph.connectors.mongodb import MongoSource
from membergraph.demo import write_demo_data
from membergraph.gateway import open_gateway
from membergraph.gateway_parts import Gateway
from membergraph.identity.feed import ChangeKind
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.service import IdentityService
from membergraph.identity.store import StoreError
from membergraph.mongo_load import load_folder
from membergraph.resolve_cli import bring_up
from membergraph.settings import Settings
from tests.conftest import gql
from tests.support.mongo import EmulatedClient, load

pytestmark = pytest.mark.mongodb

URL = "mongodb://mongo.example:27017/restart?replicaSet=rs0"
BOUND = 30.0  # seconds
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
async def started(
    client: EmulatedClient, tmp_path: Path, rules: Path | None = None
) -> AsyncIterator[tuple[Gateway, bool]]:
    """A gateway's start over the collections (under ``rules``, if given); yields it and
    whether it listed a collection's lines (``MongoSource.scan``, as a start once did)."""
    settings = Settings(store=URL, sources=URL, cache_dir=tmp_path / "cache", rules=rules)
    listed: list[object] = []
    scan = MongoSource.scan

    def listing(self: MongoSource) -> AsyncIterator[BaseModel]:
        listed.append(self.source)
        return scan(self)

    with mock.patch.object(MongoSource, "scan", listing):
        gateway, sources, _ = await asyncio.wait_for(open_gateway(settings, client), BOUND)
    try:
        yield gateway, bool(listed)
    finally:
        await gateway.identity.store.aclose()
        await sources.aclose()


async def _finds(gateway: Gateway, email: str) -> bool:
    return bool(await gateway.identity.store.find_members(IdentifierKind.EMAIL, email))


@pytest.fixture
def resolutions(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each whole-store resolution from now on: the records it was handed, counted."""
    calls: list[int] = []
    resolve_all = IdentityService.resolve_all

    async def counted(self: IdentityService, records: Any, *args: Any, **kwargs: Any) -> Any:
        calls.append(len(records))
        return await resolve_all(self, records, *args, **kwargs)

    monkeypatch.setattr(IdentityService, "resolve_all", counted)
    return calls


async def test_a_start_after_a_first_load_resolves_nothing_and_serves_its_members(
    folder: Path, tmp_path: Path, resolutions: list[int]
) -> None:
    client = EmulatedClient()
    # Given a first `membergraph load --to mongodb://` (the identity store: that database)
    await _load(folder, client, tmp_path)
    # it resolved the lines it copied itself, once, and measured every member
    assert len(resolutions) == 1 and resolutions[0] > 0
    email = str(orjson.loads((folder / "crm.jsonl").read_bytes().splitlines()[0])["emails"][0])
    # When a gateway starts over it, and again (a restart, a second replica)
    for _ in range(2):
        async with started(client, tmp_path) as (gateway, listed):
            # Then it lists no line, resolves nothing, and serves the loaded members
            assert not listed and len(resolutions) == 1
            assert gateway.stale_sources is None and gateway.stale_rules is None
            assert await _finds(gateway, email.strip().lower())
            assert await gateway.identity.store.metrics().position() is not None


def _settings(tmp_path: Path) -> Settings:
    return Settings(store=URL, sources=URL, cache_dir=tmp_path / "cache")


async def _load(folder: Path, client: EmulatedClient, tmp_path: Path) -> dict[str, dict[str, int]]:
    """``membergraph load --data folder --to URL`` (the store: the same database)."""
    return await load(folder, URL, client, _settings(tmp_path))


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
        assert not listed and not await _finds(running, NEW_EMAIL)
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


async def test_a_first_load_stopped_before_it_resolved_is_said_and_resolved_by_reresolve(
    folder: Path, tmp_path: Path, resolutions: list[int]
) -> None:
    client = EmulatedClient()
    # Given a first load into empty collections that stopped after the CRM's lines, at the
    # purchases' (its writes: the load's version, one a contact, then the first purchase),
    # before it resolved anything
    crm = [orjson.loads(line) for line in (folder / "crm.jsonl").read_bytes().splitlines()]
    contacts = len({line["contact_id"] for line in crm})
    client.faults.fail_write(contacts + 2, OperationFailure("stopped here (injected)", 1))
    with pytest.raises(ConnectorError, match="transactions: append failed"):
        await load_folder(folder, URL, "US", client)
    assert client.faults.pending == 0
    email = str(crm[0]["emails"][0]).strip().lower()
    # When a gateway starts over them
    async with started(client, tmp_path) as (gateway, listed):
        # Then it serves the store as it is, resolving nothing, and says why and what to run
        assert not listed and resolutions == []
        assert not await _finds(gateway, email)
        assert gateway.stale_sources is not None and "loaded since" in gateway.stale_sources
    # and `membergraph reresolve` resolves what the collections hold, once
    report = await bring_up(_settings(tmp_path), client=client)
    assert report.behind and report.records > 0 and len(resolutions) == 1
    async with started(client, tmp_path) as (gateway, listed):
        assert not listed and len(resolutions) == 1
        assert gateway.stale_sources is None
        assert await _finds(gateway, email)


def test_lines_another_tool_wrote_are_said_until_reresolve_files_and_resolves_them(
    folder: Path, tmp_path: Path
) -> None:
    client = EmulatedClient()
    asyncio.run(_load(folder, client, tmp_path))
    # Given a contact written into the CRM collection by another tool (mongoimport)
    asyncio.run(client["restart"]["crm"].insert_one({"_id": "C-NEW-1", **NEW_CONTACT}))
    settings = _settings(tmp_path)
    with TestClient(create_app(settings, mongo_client=client), base_url="http://127.0.0.1") as http:
        # Then a start serves, says so in /readyz (naming no server), and finds no one
        ready = http.get("/readyz").json()
        assert ready["status"] == "ready"
        [warning] = ready["warnings"]
        assert "another tool" in warning and "membergraph reresolve" in warning
        assert "mongo.example" not in warning
        assert gql(http, FIND, v=NEW_EMAIL)["data"]["memberByIdentifier"] is None  # type: ignore[index]
    # When `membergraph reresolve` runs
    report = asyncio.run(bring_up(settings, client=client))
    assert report.behind
    # Then she is a member with her lines, and no start says anything any more
    with TestClient(create_app(settings, mongo_client=client), base_url="http://127.0.0.1") as http:
        assert "warnings" not in http.get("/readyz").json()
        member = gql(http, FIND, v=NEW_EMAIL)["data"]["memberByIdentifier"]  # type: ignore[index]
        assert member["profile"]["firstName"] == "Nora"


async def test_a_rules_change_is_said_at_start_and_applied_by_reresolve_only(
    folder: Path, tmp_path: Path, resolutions: list[int]
) -> None:
    client = EmulatedClient()
    await _load(folder, client, tmp_path)
    loaded = await _members(client, tmp_path)
    # Given the match rules edited since (no value links more than one person)
    rules = tmp_path / "rules.toml"
    rules.write_text("hub_max_people = 1\n")
    # When a gateway starts under them
    async with started(client, tmp_path, rules) as (gateway, listed):
        # Then it resolves nothing: the members are those of the old rules, and it says so
        assert not listed and len(resolutions) == 1
        assert gateway.stale_rules is not None and "reresolve" in gateway.stale_rules
        assert await gateway.identity.store.all_assignments() == loaded
    # and `membergraph reresolve` applies them, after which no start says anything
    await bring_up(_settings(tmp_path).model_copy(update={"rules": rules}), client=client)
    assert len(resolutions) == 2
    async with started(client, tmp_path, rules) as (gateway, _):
        assert gateway.stale_rules is None
        assert await gateway.identity.store.all_assignments() != loaded


async def _members(client: EmulatedClient, tmp_path: Path) -> dict[Any, str]:
    async with started(client, tmp_path) as (gateway, _):
        return dict(await gateway.identity.store.all_assignments())


FIND = """query ($v: String!) { memberByIdentifier(kind: EMAIL, value: $v) {
  id profile { firstName } } }"""


async def test_a_folder_beside_a_mongodb_store_is_refused_naming_the_load(
    folder: Path, tmp_path: Path
) -> None:
    settings = Settings(store=URL, data=folder, cache_dir=tmp_path / "cache")
    with pytest.raises(StoreError, match="membergraph load --data .* --to 'mongodb://"):
        await open_gateway(settings, EmulatedClient())

"""A MongoDB deployment's store from an older release: refused at start, its collections'
lines keyed again and compared, brought up in place (emulated; real with
``MEMBERGRAPH_TEST_MONGODB_URL``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from membergraph.demo import write_demo_data
from membergraph.gateway import open_gateway
from membergraph.identity.reresolve import records_of, rekeyed_documents, reresolve
from membergraph.identity.rules import Rules
from membergraph.identity.service import IdentityService
from membergraph.identity.store.format import STORE_FORMAT, StoreFormatError, StoreMark
from membergraph.settings import Settings
from membergraph.source_set import mongo_sources
from tests.support.mongo import EmulatedClient, served_store

pytestmark = pytest.mark.mongodb

URL = "mongodb://mongo.example:27017/membergraph?replicaSet=rs0"


async def _scenario(data: Path, tmp_path: Path) -> None:
    client = EmulatedClient()
    store = await served_store(data, URL, client, tmp_path / "cache")  # resolved, marked
    settings = Settings(store=URL, sources=URL, cache_dir=tmp_path / "cache")
    before = await store.all_assignments()
    # Given a store whose records were written before stores were marked
    await store.db.meta.delete_many({})
    # Then a start refuses it, resolving nothing
    with pytest.raises(StoreFormatError, match="store format 0 is older"):
        await open_gateway(settings, client)
    collections = await mongo_sources(URL, "US", client)
    try:
        # The collections' lines are keyed as this release keys them: brought up in place
        assert await rekeyed_documents(collections.connectors) == 0
        identity = IdentityService(store, Rules())

        async def keyed() -> int | None:
            return await rekeyed_documents(collections.connectors)

        # Its records derived again from the collections' lines change no member
        derive = records_of(collections.connectors, "US")
        report = await reresolve(identity, URL, keyed_alike=keyed, rederive=derive)
        assert report.moved == 0 and await store.all_assignments() == before
        assert report.records == len(before) + report.unattributed and await derive()
        assert (await store.mark() or StoreMark(0, "")).format == STORE_FORMAT
        # A line filed under another record than this release's keys: counted, refused
        await store.db.meta.delete_many({})
        await client[store.database_name]["web_analytics"].update_one(
            {}, {"$set": {"_owner": "device-keyed-the-old-way"}}
        )
        assert await rekeyed_documents(collections.connectors) == 1
        with pytest.raises(StoreFormatError, match="1 of its lines are keyed to another record"):
            await reresolve(identity, URL, keyed_alike=keyed)
    finally:
        await collections.aclose()
        await store.aclose()


def test_an_older_mongodb_store_is_refused_then_brought_up_in_place(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_demo_data(data, 40, seed=5)
    asyncio.run(_scenario(data, tmp_path))


async def _refused_start_writes_nothing(data: Path, tmp_path: Path) -> None:
    client = EmulatedClient()
    store = await served_store(data, URL, client, tmp_path / "cache")
    settings = Settings(store=URL, sources=URL, cache_dir=tmp_path / "cache")
    try:
        # Given a store of an older release: a collection and an index it did not have
        await store.db.meta.replace_one({"_id": "mark"}, {"format": 3, "rules": ""})
        await store.db.erased_members.drop()
        await store.db.links.drop_index("retracted_at_1")
        collections = set(await store.db.list_collection_names())
        indexes = await store.db.links.index_information()
        # When a start refuses it
        with pytest.raises(StoreFormatError, match="store format 3 is older"):
            await open_gateway(settings, client)
        # Then it created no collection and no index
        assert set(await store.db.list_collection_names()) == collections
        assert await store.db.links.index_information() == indexes
    finally:
        await store.aclose()


def test_a_refused_start_creates_no_collection_or_index(tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_demo_data(data, 40, seed=5)
    asyncio.run(_refused_start_writes_nothing(data, tmp_path))

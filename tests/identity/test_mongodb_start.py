"""Starting on MongoDB: what a wrong server is told, two gateways starting at once, and the
indexes the health check's counts use."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError

from membergraph.identity.store import StoreError
from membergraph.identity.store.mongodb import MongoStore
from membergraph.settings import Settings
from tests.support.mongo import EmulatedClient
from tests.support.mongo_wire import standalone_server

pytestmark = pytest.mark.mongodb

URL = "mongodb://emulated/membergraph"


async def test_a_standalone_server_behind_a_replica_set_url_is_named_as_such() -> None:
    # The driver, looking for replica set rs0, ignores a standalone server and would only
    # report that no server answered; the store asks the server what it is.
    async with standalone_server() as port:
        url = f"mongodb://127.0.0.1:{port}/membergraph?replicaSet=rs0&timeoutMS=300"
        with pytest.raises(StoreError, match="standalone server.*needs a replica set"):
            async with MongoStore(url):
                pass


async def test_two_gateways_starting_at_once_both_open_the_store() -> None:
    client = EmulatedClient()
    stores = [MongoStore(URL, client=client) for _ in range(2)]
    # Both list the collections before either creates them.
    await asyncio.gather(*(store.open() for store in stores))
    assert await stores[1].ping() == {"records": 0, "members": 0, "links": 0}


async def test_the_health_checks_count_of_active_links_is_served_by_an_index() -> None:
    client = EmulatedClient()
    async with MongoStore(URL, client=client) as store:
        indexes = await store.db.links.index_information()
        leading = {list(spec["key"])[0][0] for spec in indexes.values()}
        assert "retracted_at" in leading  # ping counts {"retracted_at": None}


@pytest.mark.parametrize("name", ["mongodb_timeout_ms", "mongodb_server_selection_ms"])
def test_waiting_for_a_primary_shorter_than_an_election_is_refused(name: str) -> None:
    with pytest.raises(ValidationError, match=name):
        Settings(**{name: 5000})
    assert getattr(Settings(), name) >= 12_000


async def test_the_health_check_walks_no_collection_to_count_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = EmulatedClient()
    async with MongoStore(URL, client=client) as store:
        await store.db.records.insert_one({"_id": "crm|C1", "member_id": "m_1"})
        await store.db.members.insert_one({"_id": "m_1", "version": 1})
        kind = type(store.db.records)  # (a wrapper made anew on each access)
        counting = kind.count_documents
        counted: list[tuple[str, object]] = []

        async def count(self: object, filter: object, *args: object, **kwargs: object) -> int:
            counted.append((self.name, filter))  # type: ignore[attr-defined]
            return int(await counting(self, filter, *args, **kwargs))

        monkeypatch.setattr(kind, "count_documents", count)
        # An orchestrator's probe every few seconds reads the collections' metadata
        assert await store.ping() == {"records": 1, "members": 1, "links": 0}
        # and counts by a filter only active links, which an index serves
        assert counted == [("links", {"retracted_at": None})]

"""The erasure proof on the MongoDB layout: sources and identity store in MongoDB (emulated
here, real when ``MEMBERGRAPH_TEST_MONGODB_URL`` is set). The emulation cannot show bytes
on disk; everything a client can reach is checked."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.demo import write_demo_data
from membergraph.mongo_load import load_screened
from membergraph.settings import Settings
from tests.conftest import gql
from tests.privacy.people import LINES, TRACES, add_to_folder
from tests.privacy.test_erasure import ERASE, LOOKUPS
from tests.support.mongo import ON_REAL_SERVER, EmulatedClient, load, real_url_for

pytestmark = pytest.mark.mongodb

FIND = """query($kind: IdentifierKind!, $value: String!) {
  memberByIdentifier(kind: $kind, value: $value) { id } }"""


@pytest.fixture(params=["emulated", pytest.param("real", marks=ON_REAL_SERVER)])
def mongo(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    if request.param == "emulated":
        yield "mongodb://mongo.example:27017/membergraph?replicaSet=rs0", EmulatedClient()
        return
    name = f"membergraph_test_{uuid.uuid4().hex[:12]}"
    yield real_url_for(name), None
    from pymongo import MongoClient

    with MongoClient(real_url_for(name)) as cleanup:
        cleanup.drop_database(name)


async def _documents(url: str, client: Any) -> tuple[list[str], int]:
    """Every document of the database as text, and the transactions' revenue."""
    from pymongo import AsyncMongoClient

    from membergraph.identity.store.mongodb_client import database_of

    owned = client is None
    client = client or AsyncMongoClient(url)
    db = client[database_of(url)]
    texts, revenue = [], 0
    for name in await db.list_collection_names():
        async for doc in db[name].find({}):
            texts.append(repr(doc))
            if name == "transactions":
                revenue += int(doc["amount_cents"])
    if owned:
        await client.close()
    return texts, revenue


def test_erasure_on_mongodb(tmp_path: Path, mongo: tuple[str, Any]) -> None:
    url, client = mongo
    folder = tmp_path / "small"
    write_demo_data(folder, 40, seed=5)
    add_to_folder(folder)
    asyncio.run(load(folder, url, client))
    settings = Settings(store=url, sources=url, cache_dir=tmp_path / "cache")
    with TestClient(create_app(settings, mongo_client=client), base_url="http://127.0.0.1") as http:
        found = [gql(http, FIND, kind=k, value=v)["data"]["memberByIdentifier"] for k, v in LOOKUPS]  # type: ignore[index]
        member = found[0]["id"]  # type: ignore[index]
        assert {f["id"] for f in found} == {member}  # type: ignore[index]
        texts, revenue = asyncio.run(_documents(url, client))
        assert [t for t in texts if "Zephyrine" in t]
        export = http.get(f"/privacy/members/{member}/export").json()
        assert len(export["source_lines"]["web_analytics"]) == 3
        ready = http.get("/readyz").json()

        request = gql(http, ERASE, id=member)["data"]["eraseMember"]  # type: ignore[index]
        assert request["state"] == "DONE", request
        assert request["counts"]["kept_for_books"] == 2
        # No count finds her: one member less, her lines gone (her purchases kept, unnamed)
        after = http.get("/readyz").json()
        assert after["store"]["members"] == ready["store"]["members"] - 1
        lines = {s: after["sources"][s]["lines"] - ready["sources"][s]["lines"] for s in LINES}
        assert lines == {"crm": -1, "transactions": 0, "web_analytics": -3, "call_center": -1}
        listed = gql(http, "{ privacyRequests { id state } }")["data"]["privacyRequests"]  # type: ignore[index]
        assert listed == [{"id": request["id"], "state": "DONE"}]

        lookups = [
            gql(http, FIND, kind=k, value=v)["data"]["memberByIdentifier"] for k, v in LOOKUPS
        ]  # type: ignore[index]
        assert lookups == [None] * len(LOOKUPS)
        assert http.get(f"/privacy/members/{member}/export").status_code == 404
        for source, sent in LINES.items():
            answer = http.post(f"/ingest/{source}", json=sent).json()
            assert {line["status"] for line in answer["lines"]} == {"suppressed"}, answer

    after, revenue_after = asyncio.run(_documents(url, client))
    assert revenue_after == revenue
    assert [(trace, t) for t in after for trace in TRACES if trace in t] == []

    # An old folder holding her lines is loaded again (`membergraph load --to mongodb://`):
    # her lines are left out, and the collections hold nothing of hers.
    counts = asyncio.run(load_screened(folder, url, settings, url, client))
    assert {source: counts[source]["suppressed"] for source in LINES} == {
        source: len(lines) for source, lines in LINES.items()
    }
    again, _ = asyncio.run(_documents(url, client))
    assert [(trace, t) for t in again for trace in TRACES if trace in t] == []
    # The gateway restarts and resolves what the collections list: she is nobody.
    with TestClient(create_app(settings, mongo_client=client), base_url="http://127.0.0.1") as http:
        lookups = [
            gql(http, FIND, kind=k, value=v)["data"]["memberByIdentifier"] for k, v in LOOKUPS
        ]  # type: ignore[index]
        assert lookups == [None] * len(LOOKUPS)

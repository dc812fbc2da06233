"""The production layout: sources and identity store in MongoDB (emulated here, real when
``MEMBERGRAPH_TEST_MONGODB_URL`` is set), loaded by ``membergraph load``, served over HTTP."""

from __future__ import annotations

import asyncio
import gc
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.demo import write_demo_data
from membergraph.gateway import open_gateway
from membergraph.identity.store import StoreError
from membergraph.mongo_load import load_folder
from membergraph.settings import Settings
from tests.conftest import gql, read_jsonl
from tests.support.mongo import ON_REAL_SERVER, EmulatedClient, load, real_url_for


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A small demo set: the emulation runs the real adapter code, not at server speed."""
    folder = tmp_path / "small"
    write_demo_data(folder, 60, seed=3)
    return folder


pytestmark = pytest.mark.mongodb

URL = "mongodb://app:s3cret@mongo.example:27017/membergraph?replicaSet=rs0"


@pytest.fixture(
    params=[
        "emulated",
        pytest.param("real", marks=ON_REAL_SERVER),
    ]
)
def mongo(request: pytest.FixtureRequest) -> Iterator[tuple[str, Any]]:
    """A URL and a client for it (None: the gateway makes its own from the URL)."""
    if request.param == "emulated":
        yield URL, EmulatedClient()
        return
    name = f"membergraph_test_{uuid.uuid4().hex[:12]}"
    yield real_url_for(name), None
    from pymongo import MongoClient

    with MongoClient(real_url_for(name)) as cleanup:
        cleanup.drop_database(name)


def test_loading_twice_changes_nothing(data_dir: Path, mongo: tuple[str, Any]) -> None:
    url, client = mongo
    first = asyncio.run(load_folder(data_dir, url, "US", client))
    # A contact's older version, exported after it, is no new line: one per contact id
    lines = len({line.get("contact_id") for line in read_jsonl(data_dir / "crm.jsonl")})
    assert first["crm"]["created"] + first["crm"]["malformed"] >= lines - 1
    again = asyncio.run(load_folder(data_dir, url, "US", client))
    for name, outcome in again.items():
        assert outcome["created"] == outcome["updated"] == 0, name
        assert outcome["unchanged"] == first[name]["created"], name


def test_the_gateway_serves_and_ingests_on_mongodb(
    data_dir: Path, mongo: tuple[str, Any], tmp_path: Path
) -> None:
    url, client = mongo
    asyncio.run(load(data_dir, url, client))
    settings = Settings(store=url, sources=url, cache_dir=tmp_path / "cache")
    contact = read_jsonl(data_dir / "crm.jsonl")[0]
    email = str(contact["emails"][0]).lower()  # type: ignore[index]
    query = """query ($v: String!) { memberByIdentifier(kind: EMAIL, value: $v) {
      id records { source key } transactions { totalCount } } }"""
    with TestClient(create_app(settings, mongo_client=client), base_url="http://127.0.0.1") as http:
        member = gql(http, query, v=email)["data"]["memberByIdentifier"]  # type: ignore[index]
        assert {"source": "CRM", "key": contact["contact_id"]} in member["records"]
        ready = http.get("/readyz").json()
        assert ready["status"] == "ready" and ready["store"]["members"] > 0
        assert ready["sources"]["crm"]["lines"] >= 1
        purchase = {
            "transaction_id": "T-MONGO-1",
            "email": email,
            "channel": "online",
            "occurred_at": "2026-11-20T10:00:00Z",
            "amount_cents": 2500,
            "status": "completed",
        }
        answer = http.post("/ingest/transactions", content=orjson.dumps(purchase))
        assert answer.status_code == 200, answer.text
        after = gql(http, query, v=email)["data"]["memberByIdentifier"]  # type: ignore[index]
        assert after["id"] == member["id"]
        assert after["transactions"]["totalCount"] == member["transactions"]["totalCount"] + 1


@pytest.fixture
def emulated(data_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    """The gateway on an emulated MongoDB (store and sources) loaded with the small set."""
    client = EmulatedClient()
    asyncio.run(load(data_dir, URL, client))
    settings = Settings(store=URL, sources=URL, cache_dir=tmp_path / "cache")
    with TestClient(create_app(settings, mongo_client=client), base_url="http://127.0.0.1") as http:
        yield http


def test_a_store_failure_while_running_is_a_coded_error_without_detail(
    emulated: TestClient,
) -> None:
    http = emulated
    store = http.app.state.gateway.identity.store  # type: ignore[attr-defined]

    async def broken(*args: object) -> None:
        raise StoreError(f"MongoDB {URL}: read failed: no server answered")

    store.resolve_member_id = broken
    body = gql(http, '{ member(id: "m_x") { id } }')
    [error] = body["errors"]  # type: ignore[misc]
    assert error["extensions"]["code"] == "STORE_UNAVAILABLE"
    assert "s3cret" not in orjson.dumps(body).decode() and "mongo.example" not in error["message"]

    async def down() -> None:
        raise StoreError(f"MongoDB {URL}: read failed: no server answered")

    store.ping = down
    ready = http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
    assert "mongo.example" not in ready.text and "s3cret" not in ready.text


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_start_up_names_the_server_without_its_password(tmp_path: Path) -> None:
    url = "mongodb://app:s3cret@127.0.0.1:1/membergraph?timeoutMS=200"
    settings = Settings(store=url, cache_dir=tmp_path / "cache")
    with pytest.raises(StoreError) as failure:
        asyncio.run(open_gateway(settings))
    message = str(failure.value)
    del failure  # its traceback holds PyMongo's failed socket: let it go now, not mid-session
    assert "127.0.0.1:1" in message and "no server answered" in message
    assert "s3cret" not in message and "app:***@" in message
    gc.collect()  # PyMongo's monitor socket to the closed port is reclaimed here, not later


def test_a_standalone_server_is_refused_with_what_to_do(tmp_path: Path) -> None:
    client = EmulatedClient(replica_set=False)
    settings = Settings(store=URL, cache_dir=tmp_path / "cache")
    with pytest.raises(StoreError, match="replica set"):
        asyncio.run(open_gateway(settings, client))


def test_a_source_write_failure_answers_503_and_changes_no_member(
    emulated: TestClient,
) -> None:
    from pymongo.errors import AutoReconnect

    http = emulated
    gateway = http.app.state.gateway  # type: ignore[attr-defined]
    before = http.get("/readyz").json()["store"]

    async def down(*args: object, **kwargs: object) -> None:
        raise AutoReconnect("connection reset")

    gateway.sources["crm"].collection.bulk_write = down
    contact = {"contact_id": "C-NEW", "first_name": "Nia", "emails": ["nia@example.org"]}
    answer = http.post("/ingest/crm", content=orjson.dumps(contact))
    assert answer.status_code == 503
    assert (
        "source crm" in answer.json()["error"] and "send the lines again" in answer.json()["error"]
    )
    assert http.get("/readyz").json()["store"] == before


def test_a_line_mongodb_cannot_hold_is_refused_saying_why_and_the_rest_taken(
    emulated: TestClient,
) -> None:
    deep: dict[str, Any] = {"leaf": 1}
    for _ in range(120):
        deep = {"level": deep}
    event = {"anonymous_id": "anon-deep", "type": "track", "occurred_at": "2026-11-20T10:00:00Z"}
    lines = [
        {**event, "event_id": "E-BIG", "properties": {"count": 2**63}},
        {**event, "event_id": "E-DEEP", "properties": deep},
        {**event, "event_id": "E-OK", "properties": {"count": 2**63 - 1, "nested": {"a": [1]}}},
    ]
    answer = emulated.post("/ingest/web_analytics", json=lines)
    assert answer.status_code == 207, answer.text
    big, nested, fine = answer.json()["lines"]
    assert big["status"] == "rejected" and "beyond the 64 bits" in big["error"]
    assert nested["status"] == "rejected" and "nested deeper than the 100" in nested["error"]
    assert fine["status"] == "created"
    again = emulated.post("/ingest/web_analytics", json=lines[:2])
    assert again.status_code == 422  # refused again, not "send again" (503) forever


@pytest.mark.parametrize("field", ["_owner", "_id", "_rev", "_pending", "$where"])
def test_a_line_naming_a_field_the_collection_keeps_is_refused(
    emulated: TestClient, field: str
) -> None:
    # Adversarial pass: a purchase with its own card and "_owner": another member's card was
    # filed under (and credited to) that other member; "_id" answered 503 for ever, "$x" 500.
    gateway = emulated.app.state.gateway  # type: ignore[attr-defined]
    collection = gateway.sources["transactions"].collection
    victim = "loyalty:LD47560763"
    before = emulated.portal.call(lambda: collection.count_documents({"_owner": victim}))  # type: ignore[union-attr]
    purchase = {
        "transaction_id": "T-FORGED",
        "loyalty_id": "LD-2018-0286",
        "channel": "store",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 99_999,
        "points_earned": 5_000,
    }
    fine = {**purchase, "transaction_id": "T-PLAIN"}
    answer = emulated.post("/ingest/transactions", json=[{**purchase, field: victim}, fine])
    assert answer.status_code == 207, answer.text
    forged, taken = answer.json()["lines"]
    assert forged["status"] == "rejected" and repr(field) in forged["error"]
    assert taken["status"] == "created"
    after = emulated.portal.call(lambda: collection.count_documents({"_owner": victim}))  # type: ignore[union-attr]
    assert after == before
    assert emulated.portal.call(lambda: collection.find_one({"_id": "T-FORGED"})) is None  # type: ignore[union-attr]

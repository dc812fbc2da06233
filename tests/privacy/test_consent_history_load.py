"""A contact's consent history is the same whichever store a folder is loaded into: the
versions a load outranks (an older version in the folder, one older than the version held)
still say what she chose then, on SQLite (``serve --data``, ``membergraph load``) and on
MongoDB (``membergraph load --to mongodb://``) alike."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.gateway import open_gateway
from membergraph.mongo_load import load_screened
from membergraph.settings import Settings
from tests.conftest import gql
from tests.support.mongo import EmulatedClient

CONTACT = {
    "contact_id": "C-HIST",
    "first_name": "Hester",
    "emails": ["hester.hist@example.org"],
    "consents": {"email": True, "sms": True},
}
# Granted on the 1st, withdrawn on the 5th, granted again on the 9th: each a choice.
V1 = {**CONTACT, "updated_at": "2026-10-01T00:00:00Z"}
V2 = {**CONTACT, "consents": {"email": False, "sms": True}, "updated_at": "2026-10-05T00:00:00Z"}
V3 = {**CONTACT, "updated_at": "2026-10-09T00:00:00Z"}

QUERY = """{ memberByIdentifier(kind: CRM_ID, value: "C-HIST") {
  id consents { channel granted at history { granted at line } } } }"""
WANTED = [
    (True, "2026-10-01T00:00:00+00:00"),
    (False, "2026-10-05T00:00:00+00:00"),
    (True, "2026-10-09T00:00:00+00:00"),
]


def _folders(tmp_path: Path) -> tuple[Path, Path]:
    """A folder holding her first and last versions (the first outranked in the file), and
    a later folder holding the middle one (older than the version then held: stale)."""
    first, later = tmp_path / "first", tmp_path / "later"
    for folder, versions in ((first, [V1, V3]), (later, [V2])):
        folder.mkdir(parents=True)
        (folder / "crm.jsonl").write_bytes(b"".join(orjson.dumps(v) + b"\n" for v in versions))
    return first, later


def _history(http: TestClient) -> tuple[list[tuple[object, object]], dict[str, Any]]:
    member = gql(http, QUERY)["data"]["memberByIdentifier"]  # type: ignore[index]
    email = next(c for c in member["consents"] if c["channel"] == "EMAIL")
    export = http.get(f"/privacy/members/{member['id']}/export").json()
    return [(h["granted"], h["at"]) for h in email["history"]], export


def _on_sqlite(tmp_path: Path) -> tuple[list[tuple[object, object]], dict[str, Any]]:
    first, later = _folders(tmp_path)
    store = f"sqlite:///{tmp_path / 'one.db'}"
    for folder in (first, later):  # as `membergraph load --to` the store, once each
        settings = Settings(data=folder, store=store, cache_dir=tmp_path / "c")

        async def load(settings: Settings = settings) -> None:
            gateway, sources, _ = await open_gateway(settings)
            await gateway.identity.store.aclose()
            await sources.aclose()

        asyncio.run(load())
    served = Settings(data=later, store=store, cache_dir=tmp_path / "c")
    with TestClient(create_app(served), base_url="http://127.0.0.1") as http:
        return _history(http)


def _on_mongodb(tmp_path: Path) -> tuple[list[tuple[object, object]], dict[str, Any]]:
    first, later = _folders(tmp_path)
    client, url = EmulatedClient(), "mongodb://mongo.example:27017/hist?replicaSet=rs0"
    settings = Settings(store=url, sources=url, cache_dir=tmp_path / "c")
    for folder in (first, later):  # what `membergraph load --to mongodb://` runs
        asyncio.run(load_screened(folder, url, settings, url, client))
    with TestClient(create_app(settings, mongo_client=client), base_url="http://127.0.0.1") as http:
        return _history(http)


@pytest.mark.mongodb
def test_a_load_into_either_store_keeps_the_outranked_versions_choices(tmp_path: Path) -> None:
    sqlite_history, sqlite_export = _on_sqlite(tmp_path / "sqlite")
    mongo_history, mongo_export = _on_mongodb(tmp_path / "mongodb")
    assert sqlite_history == WANTED
    assert mongo_history == WANTED

    def consents(export: dict[str, Any]) -> list[Any]:
        return sorted(orjson.dumps(c, option=orjson.OPT_SORT_KEYS) for c in export["consents"])

    assert consents(mongo_export) == consents(sqlite_export)

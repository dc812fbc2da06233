"""A MongoDB deployment's format-3 store, its collections' lines keyed anew in place by
``reresolve``; interrupted at any write, a run again ends where an uninterrupted run ends
(emulated; real with ``MEMBERGRAPH_TEST_MONGODB_URL``)."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from pymongo.errors import OperationFailure

from membergraph.connectors.base import SourceUnavailable
from membergraph.identity.service import IdentityService
from membergraph.identity.steward import link_records
from membergraph.identity.store.format import STORE_FORMAT, StoreError, StoreMark
from membergraph.identity.store.mongodb import MongoStore
from tests.support.lines import online_purchase
from tests.support.mongo import EmulatedClient, reresolve_store, served_store

pytestmark = pytest.mark.mongodb

URL = "mongodb://mongo.example:27017/membergraph?replicaSet=rs0"
ANN = ("crm", "C-ANN")
TAGGED = ("transactions", "online:ann+shop@mail.org")
HIDDEN = "ann+shop@mail.org\u200b"
OLD_KEY = ("transactions", f"online:{HIDDEN}")
BO, BO_TAGGED = ("crm", "C-BO"), ("transactions", "online:bo+deals@shop.net")


def _folder(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    contacts = [("C-ANN", "Ann", "ann@mail.org"), ("C-BO", "Bo", "bo@shop.net")]
    lines = {
        "crm": [
            {"contact_id": c, "first_name": f, "last_name": "Lee", "emails": [e], "phones": []}
            for c, f, e in contacts
        ],
        "transactions": [
            online_purchase("T-P1", "ann+shop@mail.org"),
            online_purchase("T-P2", HIDDEN),
            online_purchase("T-P3", "Ann+Shop @mail.org"),
            online_purchase("T-B1", "bo+deals@shop.net"),
        ],
        "web_analytics": [],
        "call_center": [],
    }
    for name, rows in lines.items():
        (data / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return data


def _format_3_key(value: str) -> str:
    local, _, domain = value.rpartition("@")
    if domain in ("gmail.com", "googlemail.com"):
        return f"{local.split('+', 1)[0].replace('.', '')}@gmail.com"
    return value


async def _as_format_3(store: MongoStore, client: EmulatedClient) -> None:
    """The documents format 3 wrote for these lines (see tests/test_rekey.py)."""
    async for doc in store.db.records.find({}):
        idents = [
            {**i, "key": _format_3_key(i["value"])} if i["kind"] == "EMAIL" else i
            for i in doc["identifiers"]
        ]
        keys = sorted({f"{i['kind']}:{i['key']}" for i in idents})
        await store.db.records.update_one(
            {"_id": doc["_id"]}, {"$set": {"identifiers": idents, "match_keys": keys}}
        )
    tagged = await store.db.records.find_one({"_id": "/".join(TAGGED)})
    hidden = {"kind": "EMAIL", "key": HIDDEN, "value": HIDDEN, "via": "online"}
    await store.db.records.insert_one(
        {**tagged, "_id": "/".join(OLD_KEY), "key": OLD_KEY[1], "identifiers": [hidden],
         "match_keys": [f"EMAIL:{HIDDEN}"]}
    )  # fmt: skip
    lines = client[store.database_name]["transactions"]
    await lines.update_one({"_id": "T-P2"}, {"$set": {"_owner": OLD_KEY[1]}})
    await lines.update_one({"_id": "T-P3"}, {"$set": {"_owner": ""}})


async def _older_store(tmp_path: Path) -> EmulatedClient:
    client = EmulatedClient()
    store = await served_store(_folder(tmp_path), URL, client, tmp_path / "cache")
    await _as_format_3(store, client)
    service = IdentityService(store)
    await service.resolve_all({})  # as format 3 resolved it: by its matching keys
    await link_records(service, ANN, OLD_KEY, "she showed her receipt", "steward-1")
    await link_records(service, TAGGED, OLD_KEY, "one shopper", "steward-2")
    await store.set_mark(StoreMark(3, "old rules"))
    await store.aclose()
    return client


async def _outcome(client: EmulatedClient) -> dict[str, Any]:
    """What a user sees: who is one member, each line's record, the stewards' decisions,
    the identity history's re-keying."""
    async with MongoStore(URL, client=client) as store:
        members: dict[str, set[tuple[str, str]]] = {}
        for ref, member in (await store.all_assignments()).items():
            members.setdefault(member, set()).add(ref)
        db = store.db
        owners = {
            (name, d["_id"]): d["_owner"]
            for name in ("crm", "transactions")
            async for d in client[store.database_name][name].find({})
        }
        links = {
            (d["a_ref"], d["b_ref"], d["actor"], d["retracted_at"] is None)
            async for d in db.links.find({"rule": "manual"})
        }
        events = [d["evidence"] async for d in db.events.find({"kind": "rekeyed"})]
        decided = {
            (r[0], r[1]) async for d in db.events.find({"kind": "steward"}) for r in d["records"]
        }
        return {
            "members": {frozenset(m) for m in members.values()},
            "owners": owners,
            "links": links,
            "events": events,
            "decided": decided,
            "format": (await store.mark() or StoreMark(0, "")).format,
        }


async def test_an_older_mongodb_stores_lines_are_keyed_anew_in_place(tmp_path: Path) -> None:
    # Given a format-3 MongoDB store whose source collections hold the lines
    client = await _older_store(tmp_path)
    # When reresolve runs
    await reresolve_store(URL, client)
    # Then each line is under the record this release keys it to, the steward's link
    # follows its record, the one between two records now one is retracted, said so
    done = await _outcome(client)
    assert done["format"] == STORE_FORMAT
    assert done["owners"][("transactions", "T-P2")] == TAGGED[1]
    assert done["owners"][("transactions", "T-P3")] == TAGGED[1]
    assert ("crm/C-ANN", "/".join(TAGGED), "steward-1", True) in done["links"]
    assert not any(active and "\u200b" in a + b for a, b, _, active in done["links"])
    [event] = done["events"]
    assert event["records"] == [[*OLD_KEY, TAGGED[1]]] and "one record now" in event["decisions"][0]
    # And the members are as this release resolves these lines: Ann with her tagged
    # orders, Bo with his
    assert any({ANN, TAGGED} <= m for m in done["members"])
    assert any({BO, BO_TAGGED} <= m for m in done["members"])
    assert not any(OLD_KEY in m for m in done["members"])
    # And the stewards' history names the records where they are now (undo finds them)
    assert TAGGED in done["decided"] and OLD_KEY not in done["decided"]


async def test_a_rekeying_interrupted_at_any_write_is_finished_by_the_next_run(
    tmp_path: Path,
) -> None:
    whole = await _outcome(await _reresolve_fresh(tmp_path / "whole"))
    fail_at = 0
    while True:
        fail_at += 1
        client = await _older_store(tmp_path / f"at{fail_at}")
        # Not a transient error, which would be retried: the process stops there
        client.faults.fail_write(fail_at, OperationFailure("stopped here (injected)", 1))
        with contextlib.suppress(StoreError, SourceUnavailable):
            await reresolve_store(URL, client)
        if client.faults.pending:  # fewer writes than that: the run was never interrupted
            client.faults.clear()
            break
        await reresolve_store(URL, client)
        assert await _outcome(client) == whole, f"after a failure at write {fail_at}"
    assert fail_at > 5  # the run had that many writes


async def _reresolve_fresh(folder: Path) -> EmulatedClient:
    client = await _older_store(folder)
    await reresolve_store(URL, client)
    return client

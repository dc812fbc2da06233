"""One mailbox, two spellings of its domain: a format-5 store kept ``jöhn@xn--exmple-cua.com``
(what a browser's e-mail input sends) and ``jöhn@exämple.com`` (what the CRM holds) as two
identifiers, two people; ``membergraph reresolve`` keys them as one, in place, on SQLite and
MongoDB (emulated), and a lookup by either spelling finds the one member."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.service import IdentityService
from membergraph.identity.store.format import STORE_FORMAT, StoreMark
from membergraph.identity.store.mongodb import MongoStore
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.settings import Settings
from tests.conftest import gql
from tests.support.lines import online_purchase
from tests.support.mongo import EmulatedClient, reresolve_store, served_store

PUNYCODE, UNICODE = "jöhn@xn--exmple-cua.com", "jöhn@exämple.com"
WIDE, NARROW = "ann@ｘ.com", "ann@x.com"
JOHN, ANN = ("crm", "C-JO"), ("crm", "C-AN")
OLD_ORDER, ORDER = ("transactions", f"online:{PUNYCODE}"), ("transactions", f"online:{UNICODE}")
ANN_ORDER = ("transactions", f"online:{NARROW}")
LOOKUP = """query($v: String!) { memberByIdentifier(kind: EMAIL, value: $v) {
  id profile { emails { value } } records { source key } } }"""


def folder(tmp_path: Path) -> Path:
    """John's contact in Unicode and his order as his browser sent it; Ann's contact typed
    full-width by an input method, her order in ASCII."""
    data = tmp_path / "data"
    data.mkdir()
    lines = {
        "crm": [
            {"contact_id": "C-JO", "first_name": "Jöhn", "last_name": "Smed", "emails": [UNICODE]},
            {"contact_id": "C-AN", "first_name": "Ann", "last_name": "Lee", "emails": [WIDE]},
        ],
        "transactions": [online_purchase("T-J1", PUNYCODE), online_purchase("T-A1", NARROW)],
        "web_analytics": [],
        "call_center": [],
    }
    for name, rows in lines.items():
        (data / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return data


def _as_format_5(db: sqlite3.Connection) -> None:
    """The rows format 5 wrote for these lines: each domain as typed."""
    db.execute("UPDATE records SET key = ? WHERE source = ? AND key = ?", (OLD_ORDER[1], *ORDER))
    db.execute(
        "UPDATE identifiers SET key = ?, value = ?, rkey = ? WHERE rkey = ?",
        (PUNYCODE, PUNYCODE, OLD_ORDER[1], ORDER[1]),
    )
    db.execute("UPDATE identifiers SET key = ?, value = ? WHERE rkey = 'C-AN'", (WIDE, WIDE))
    db.execute("UPDATE source_lines SET owner = ? WHERE line_id = 'T-J1'", (OLD_ORDER[1],))


async def _resolved_as_format_5(path: Path) -> dict[tuple[str, str], str]:
    async with SqliteStore(path) as store:
        await IdentityService(store).resolve_all({})
        await store.set_mark(StoreMark(5, "old rules"))
        return await store.all_assignments()


@pytest.mark.sqlite
def test_reresolve_makes_one_member_of_a_domains_two_spellings(tmp_path: Path) -> None:
    # Given a format-5 store that kept each domain as typed: John and his order two members,
    # Ann and hers too
    path = tmp_path / "store.db"
    url = f"sqlite:///{path}"
    loaded = CliRunner().invoke(app, ["load", "--data", str(folder(tmp_path)), "--to", url])
    assert loaded.exit_code == 0, loaded.output
    with sqlite3.connect(path) as db:
        _as_format_5(db)
    before = asyncio.run(_resolved_as_format_5(path))
    assert before[JOHN] != before[OLD_ORDER] and before[ANN] != before[ANN_ORDER]
    # When reresolve brings it up
    listed = tmp_path / "changes.jsonl"
    done = CliRunner().invoke(app, ["reresolve", "--store", url, "--changes", str(listed)])
    assert done.exit_code == 0, done.output
    assert f"store format 5 -> {STORE_FORMAT}" in done.output
    # (every change it made in the file, as many as the report counts)
    changes = [orjson.loads(line) for line in listed.read_bytes().splitlines()]
    merges = sum(1 for c in changes if c["kind"] == "merged")
    assert merges == 2 and f"{merges} merge(s)" in done.output
    assert "1 line(s) were keyed to another record: 1 record(s) were re-keyed" in done.output
    # Then John's order is under the record his contact's spelling keys, one member with
    # him, and Ann's contact is hers
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT source, key, member_id FROM records").fetchall()
        owner = db.execute("SELECT owner FROM source_lines WHERE line_id = 'T-J1'").fetchone()
        values = {v for (v,) in db.execute("SELECT value FROM identifiers WHERE kind = 'EMAIL'")}
    member = {(source, key): m for source, key, m in rows}
    assert OLD_ORDER not in member and member[ORDER] == member[JOHN]
    assert member[ANN] == member[ANN_ORDER] and owner == (ORDER[1],)
    assert values == {UNICODE, NARROW}
    # And a lookup by any spelling finds the one member, shown as the customer reads it
    settings = Settings(store=url, cache_dir=tmp_path / "cache")
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        found = [gql(client, LOOKUP, v=v)["data"]["memberByIdentifier"] for v in (
            PUNYCODE, UNICODE, "JÖHN@XN--EXMPLE-CUA.COM", "jöhn@ｅｘäｍｐｌｅ.ｃｏｍ"
        )]  # fmt: skip
        assert all(f == found[0] for f in found), found
        assert found[0]["profile"]["emails"] == [{"value": UNICODE}]  # type: ignore[index]
        ann = gql(client, LOOKUP, v="ANN@Ｘ.COM")["data"]["memberByIdentifier"]
        assert {"source": "TRANSACTIONS", "key": ANN_ORDER[1]} in ann["records"]  # type: ignore[index]


URL = "mongodb://mongo.example:27017/membergraph?replicaSet=rs0"


async def _mongo_as_format_5(store: MongoStore, client: EmulatedClient) -> None:
    """The documents format 5 wrote for these lines: each domain as typed."""
    order = await store.db.records.find_one({"_id": "/".join(ORDER)})
    typed = {"kind": "EMAIL", "key": PUNYCODE, "value": PUNYCODE, "via": "online"}
    await store.db.records.delete_one({"_id": "/".join(ORDER)})
    await store.db.records.insert_one(
        {**order, "_id": "/".join(OLD_ORDER), "key": OLD_ORDER[1], "identifiers": [typed],
         "match_keys": [f"EMAIL:{PUNYCODE}"]}
    )  # fmt: skip
    wide = {"kind": "EMAIL", "key": WIDE, "value": WIDE, "via": "crm"}
    await store.db.records.update_one(
        {"_id": "/".join(ANN)}, {"$set": {"identifiers": [wide], "match_keys": [f"EMAIL:{WIDE}"]}}
    )
    lines = client[store.database_name]["transactions"]
    await lines.update_one({"_id": "T-J1"}, {"$set": {"_owner": OLD_ORDER[1]}})


@pytest.mark.mongodb
async def test_reresolve_makes_one_member_of_a_domains_two_spellings_on_mongodb(
    tmp_path: Path,
) -> None:
    # Given a format-5 MongoDB store that kept each domain as typed
    client = EmulatedClient()
    store = await served_store(folder(tmp_path), URL, client, tmp_path / "cache")
    await _mongo_as_format_5(store, client)
    await IdentityService(store).resolve_all({})
    await store.set_mark(StoreMark(5, "old rules"))
    before = await store.all_assignments()
    assert before[JOHN] != before[OLD_ORDER] and before[ANN] != before[ANN_ORDER]
    await store.aclose()
    # When reresolve brings it up
    await reresolve_store(URL, client)
    async with MongoStore(URL, client=client) as store:
        # Then John and his order are one member, under his contact's spelling; so are Ann
        # and hers; and either spelling finds him
        member = await store.all_assignments()
        assert OLD_ORDER not in member and member[ORDER] == member[JOHN]
        assert member[ANN] == member[ANN_ORDER]
        assert (await store.mark() or StoreMark(0, "")).format == STORE_FORMAT
        service = IdentityService(store)
        for spelling in (PUNYCODE, UNICODE, "JÖHN@XN--EXMPLE-CUA.COM"):
            found = await service.find_member_parts(IdentifierKind.EMAIL, spelling)
            assert found and found.member == member[JOHN], spelling
    lines = client["membergraph"]["transactions"]
    assert (await lines.find_one({"_id": "T-J1"}))["_owner"] == ORDER[1]

"""An erased member's ID is never given to anyone again (a tombstone).

A new member's ID is derived from its smallest record's key, and an erasure deletes the
member with its records: without a tombstone, the next person whose record gets that key (a
CRM reusing a contact id, a call-center tool numbering calls again, her own line sent again
after an erasure that did not suppress it) would get her ID, and every system that kept
"member X erased" (a suppression list, the feed's ``ERASED`` entry, a cache) would take the
new person for her. Checked through the API on both adapters, across a restart; through
``membergraph resolve`` over the store, and its first-load path into a store every record of
which was erased; on a store made before the tombstones, and one where an earlier release
erased someone.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from membergraph.app import create_app
from membergraph.cli import app
from membergraph.identity.ids import new_member_id
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.service import IdentityService
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.privacy import privacy_store_for
from membergraph.privacy.port import Erasure
from membergraph.settings import Settings
from tests.conftest import gql, read_jsonl
from tests.identity.builders import crm
from tests.support.mongo import EmulatedClient, load

# The erased person's contact, and later a new person the CRM gave the same contact id (her
# erasure did not suppress her identifiers: `suppress: false`, or lifted since).
HERS = {
    "contact_id": "C-TOMB-1",
    "first_name": "Wenceslas",
    "last_name": "Marrowby",
    "emails": ["w.marrowby@quaymail.org"],
    "phones": ["(415) 555-0199"],
    "updated_at": "2026-11-01T09:00:00Z",
}
NEW = {
    "contact_id": "C-TOMB-1",
    "first_name": "Ottilie",
    "last_name": "Brandvold",
    "emails": ["ottilie.b@fjordpost.no"],
    "phones": ["(415) 555-0142"],
    "updated_at": "2026-11-20T09:00:00Z",
}
# Her call (a member of its own: no account the agent typed), and later another caller's
# call under the same interaction id (a call-center tool that numbers calls again): her
# erasure suppressed her phone, which the new call does not carry.
HER_CALL = {
    "interaction_id": "I-TOMB-1",
    "caller_phone": "(415) 555-0188",
    "agent_id": "agent-3",
    "started_at": "2026-11-01T10:00:00Z",
    "duration_s": 60,
    "reason": "billing",
}
NEW_CALL = {**HER_CALL, "caller_phone": "(415) 555-0166", "started_at": "2026-11-21T10:00:00Z"}


@dataclass(frozen=True)
class Case:
    source: str
    hers: dict[str, Any]
    new: dict[str, Any]
    suppress: bool
    key: tuple[str, str]  # the record key both lines make
    finds_her: tuple[str, str]  # an identifier of hers
    finds_new: tuple[tuple[str, str], ...]  # the new person's identifiers


CASES = [
    pytest.param(
        Case(
            "crm",
            HERS,
            NEW,
            False,
            ("crm", "C-TOMB-1"),
            ("EMAIL", "w.marrowby@quaymail.org"),
            (
                ("CRM_ID", "C-TOMB-1"),
                ("EMAIL", "ottilie.b@fjordpost.no"),
                ("PHONE", "(415) 555-0142"),
            ),
        ),
        id="crm-contact-id-again",
    ),
    pytest.param(
        Case(
            "call_center",
            HER_CALL,
            NEW_CALL,
            True,
            ("call_center", "I-TOMB-1"),
            ("PHONE", "(415) 555-0188"),
            (("PHONE", "(415) 555-0166"),),
        ),
        id="call-id-again-suppressed",
    ),
]
FIND = """query($kind: IdentifierKind!, $value: String!) {
  memberByIdentifier(kind: $kind, value: $value) { id records { source key } } }"""
MEMBER = """query($id: ID!) { member(id: $id) { id profile { firstName } } }"""
ERASE = """mutation($id: ID!, $s: Boolean!) {
  eraseMember(id: $id, reason: "ticket DPO-13", suppress: $s) {
  state counts } }"""
AT = datetime(2026, 11, 2, tzinfo=UTC)
CHANGES = """{ changes(first: 500) { edges { node { kind memberIds } } } }"""


@contextmanager
def _sqlite(folder: Path, tmp: Path) -> Iterator[tuple[Settings, dict[str, Any]]]:
    yield Settings(data=folder, store=f"sqlite:///{tmp / 'store.db'}", cache_dir=tmp / "c"), {}


@contextmanager
def _mongodb(folder: Path, tmp: Path) -> Iterator[tuple[Settings, dict[str, Any]]]:
    url, client = "mongodb://mongo.example:27017/membergraph?replicaSet=rs0", EmulatedClient()
    asyncio.run(load(folder, url, client))
    yield Settings(store=url, sources=url, cache_dir=tmp / "c"), {"mongo_client": client}


def _found(client: TestClient, kind: str, value: str) -> Any:
    return gql(client, FIND, kind=kind, value=value)["data"]["memberByIdentifier"]  # type: ignore[index]


def _folder(tmp_path: Path, lines: list[dict[str, Any]]) -> Path:
    folder = tmp_path / "data"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "crm.jsonl").write_bytes(b"".join(orjson.dumps(line) + b"\n" for line in lines))
    return folder


def _erase_hers(client: TestClient, case: Case) -> str:
    """Ingest her line, erase her member; her member's ID (the one her key derives)."""
    pushed = client.post(f"/ingest/{case.source}", json=[case.hers]).json()["lines"][0]
    assert pushed["status"] == "created", pushed
    her = _found(client, *case.finds_her)["id"]
    assert her == new_member_id(case.key)  # (the case: a new record on that key derives it)
    erased = gql(client, ERASE, id=her, s=case.suppress)["data"]["eraseMember"]  # type: ignore[index]
    assert erased["state"] == "DONE", erased
    assert gql(client, MEMBER, id=her)["data"]["member"] is None  # type: ignore[index]
    return str(her)


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(_sqlite, id="sqlite", marks=pytest.mark.sqlite),
        pytest.param(_mongodb, id="mongodb-emulated", marks=pytest.mark.mongodb),
    ],
)
@pytest.mark.parametrize("case", CASES)
def test_a_new_person_on_her_record_key_gets_another_id(
    tmp_path: Path, layout: Any, case: Case
) -> None:
    folder = _folder(tmp_path, _others())
    with layout(folder, tmp_path) as (settings, extra):
        # Given a member erased, and the gateway restarted
        with TestClient(create_app(settings, **extra), base_url="http://127.0.0.1") as client:
            her = _erase_hers(client, case)
        with TestClient(create_app(settings, **extra), base_url="http://127.0.0.1") as client:
            # When the source sends a new person's line under the key her record had
            answer = client.post(f"/ingest/{case.source}", json=[case.new]).json()["lines"][0]
            assert answer["status"] == "created", answer
            # Then the new person is a member with another ID, found by each identifier
            found = [_found(client, kind, value) for kind, value in case.finds_new]
            new = found[0]["id"]
            assert new != her
            assert [f["id"] for f in found] == [new] * len(found)
            assert {"source": case.source.upper(), "key": case.key[1]} in found[0]["records"]
            # And her ID names no one: not the new person
            assert gql(client, MEMBER, id=her)["data"]["member"] is None  # type: ignore[index]
            assert client.get(f"/privacy/members/{her}/export").status_code == 404
            # And the feed names her ID only as erased, the new person only by the new ID
            edges = gql(client, CHANGES)["data"]["changes"]["edges"]  # type: ignore[index]
            naming_her = [e["node"]["kind"] for e in edges if her in e["node"]["memberIds"]]
            assert naming_her == ["ERASED"]
            # And the new person's export lists no privacy request (hers named her ID)
            export = client.get(f"/privacy/members/{new}/export").json()
            assert export["privacy_requests"] == []
            assert her not in orjson.dumps(export).decode()


def _forget_tombstones(settings: Settings, extra: dict[str, Any]) -> None:
    """Make the store as an earlier release left it: erasures done, no tombstone."""
    earlier = ["tombstone_key", "tombstones_from_requests"]
    if "mongo_client" not in extra:
        with sqlite3.connect(settings.store.removeprefix("sqlite:///")) as db:
            db.execute("DROP TABLE erased_members")
            db.execute("DELETE FROM meta WHERE key IN (?, ?)", earlier)
        return

    async def forget() -> None:
        db = extra["mongo_client"]["membergraph"]
        await db.erased_members.delete_many({})
        await db.meta.delete_many({"_id": {"$in": earlier}})

    asyncio.run(forget())


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(_sqlite, id="sqlite", marks=pytest.mark.sqlite),
        pytest.param(_mongodb, id="mongodb-emulated", marks=pytest.mark.mongodb),
    ],
)
def test_erasures_an_earlier_release_did_are_tombstoned_as_it_opens(
    tmp_path: Path, layout: Any
) -> None:
    case = CASES[0].values[0]
    with layout(_folder(tmp_path, _others()), tmp_path) as (settings, extra):
        # Given a store where an earlier release erased her (no tombstone, her request kept)
        with TestClient(create_app(settings, **extra), base_url="http://127.0.0.1") as client:
            her = _erase_hers(client, case)
        _forget_tombstones(settings, extra)
        # When this release serves it, and a new person comes on her key
        with TestClient(create_app(settings, **extra), base_url="http://127.0.0.1") as client:
            answer = client.post("/ingest/crm", json=[NEW]).json()["lines"][0]
            assert answer["status"] == "created", answer
            # Then the new person has another ID, and hers names no one
            new = _found(client, "EMAIL", "ottilie.b@fjordpost.no")["id"]
            assert new != her
            assert gql(client, MEMBER, id=her)["data"]["member"] is None  # type: ignore[index]


def _others() -> list[dict[str, Any]]:
    """Two other people, so the store is not empty."""
    return [
        {"contact_id": "C-OTH-1", "first_name": "Ilse", "emails": ["ilse@brookmail.org"]},
        {"contact_id": "C-OTH-2", "first_name": "Joar", "emails": ["joar@brookmail.org"]},
    ]


def _resolve(folder: Path, store: Path, out: Path) -> dict[str, Any]:
    """``membergraph resolve`` over the store; the new contact's answer."""
    result = CliRunner().invoke(
        app,
        ["resolve", "--data", str(folder), "--store", f"sqlite:///{store}", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    [answer] = [a for a in read_jsonl(out) if a["id"] == "C-TOMB-1"]
    return answer


@pytest.mark.sqlite
@pytest.mark.parametrize(
    "people",
    [
        pytest.param(2, id="beside-others"),
        # 20,000 contacts: the first load's bulk path, into a store whose every record was
        # erased (no member is live, yet IDs were used).
        pytest.param(20_000, id="first-load-after-erasing-all"),
    ],
)
def test_membergraph_resolve_gives_her_id_to_no_one(tmp_path: Path, people: int) -> None:
    others = _others() if people == 2 else []
    folder = _folder(tmp_path, others)
    settings = Settings(data=folder, store=f"sqlite:///{tmp_path / 'store.db'}", cache_dir=tmp_path)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        her = _erase_hers(client, CASES[0].values[0])
        if not others:
            assert client.get("/readyz").json()["store"]["records"] == 0
    # When a folder holding the new person under her contact id is resolved into the store
    many = others or [
        {"contact_id": f"C-{n:06d}", "first_name": "Al", "emails": [f"al{n}@x{n}.org"]}
        for n in range(people)
    ]
    lines = _folder(tmp_path / "again", [*many, NEW])
    answer = _resolve(lines, tmp_path / "store.db", tmp_path / "out.jsonl")
    # Then the new person's member is not her ID, and her ID names no one
    assert answer["member_id"] not in (None, her)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        assert gql(client, MEMBER, id=her)["data"]["member"] is None  # type: ignore[index]
        assert _found(client, "EMAIL", "ottilie.b@fjordpost.no")["id"] == answer["member_id"]


@pytest.mark.sqlite
async def test_a_store_made_before_tombstones_opens_and_keeps_them(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    async with SqliteStore(path) as store:
        await IdentityService(store).ingest([crm("C-TOMB-1", emails=["w@quaymail.org"])])
    # Given a store written before erasures kept tombstones (no table for them)
    with sqlite3.connect(path) as db:
        tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for name in {"erased_members"} & set(tables):
            db.execute(f"DROP TABLE {name}")
    # When it is opened, and a member erased
    async with SqliteStore(path) as store:
        her = (await store.find_members(IdentifierKind.CRM_ID, "C-TOMB-1"))[0]
        privacy = privacy_store_for(store)
        await privacy.open()
        refs = tuple((await store.member_records([her]))[0])
        await privacy.erase_identity(Erasure((her,), refs, (), ("C-TOMB-1",)), AT)
    # Then, opened again, no new record on her key gets her ID
    async with SqliteStore(path) as store:
        service = IdentityService(store)
        await service.ingest([crm("C-TOMB-1", emails=["o@fjordpost.no"])])
        [new] = await store.find_members(IdentifierKind.CRM_ID, "C-TOMB-1")
        assert new != her and await store.resolve_member_id(her) is None
    # And the tombstone holds no erased ID in clear (a keyed hash, and when)
    with sqlite3.connect(path) as db:
        [row] = db.execute("SELECT * FROM erased_members").fetchall()
    assert her not in repr(row) and len(row) == 2

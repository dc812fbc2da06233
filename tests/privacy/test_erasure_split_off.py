"""Erasure finds the person by her identifiers wherever her records sit now: her own call and
web visitor split off her member by a steward, the visitor then linked to another person's
contact, go with her; the other person keeps his contact and member. Her erased member's ID
never comes back (an undo of the steward's link has nothing left to undo)."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.demo import write_demo_data
from membergraph.settings import Settings
from tests.conftest import gql, read_jsonl
from tests.privacy.people import add_to_folder
from tests.privacy.test_erasure import FIND
from tests.privacy.test_erasure_nobodys_lines import TYPED_IN_THE_CARD_FIELD
from tests.support.mongo import EmulatedClient, load

# Her call, whose notes name her e-mail (the agent wrote it down).
CALL = {
    "interaction_id": "I-ZQ-ADV",
    "caller_phone": "(415) 555-0177",
    "agent_id": "agent-7",
    "started_at": "2026-11-02T10:00:00Z",
    "duration_s": 120,
    "reason": "account",
    "notes": "Zephyrine Quillfeather called, email zephyrine.quill@quillmail.org",
}
VISITOR = {"source": "WEB_ANALYTICS", "key": "anon-zq-5150"}
HER_CALL = {"source": "CALL_CENTER", "key": "I-ZQ-ADV"}
# What identifies her, as lines and the store write it.
TRACES = ["14155550177", "quill@quillmail", "C-ZQ-77", "anon-zq-5150", "I-ZQ-ADV", "Zephyrine"]
LOOKUPS = [
    ("PHONE", "4155550177"),
    ("EMAIL", "zephyrine.quill@quillmail.org"),
    ("CRM_ID", "C-ZQ-77"),
    ("ANONYMOUS_ID", "anon-zq-5150"),
]
SPLIT = """mutation($m: ID!, $r: [RecordRefInput!]!) {
  splitMember(memberId: $m, records: $r, reason: "not hers?") { id } }"""
LINK = """mutation($a: RecordRefInput!, $b: RecordRefInput!) {
  linkRecords(a: $a, b: $b, reason: "same person") { id records { source key } } }"""
HISTORY = """query($id: ID!) { member(id: $id) { identityHistory { id kind } } }"""
ERASE = """mutation($id: ID!) { eraseMember(id: $id, reason: "ticket DPO-77") {
  state counts } }"""
UNDO = """mutation($e: ID!) { undo(eventId: $e, reason: "oops") { id } }"""


@contextmanager
def _sqlite(folder: Path, tmp: Path) -> Iterator[tuple[Settings, dict[str, Any], Any]]:
    settings = Settings(data=folder, store=f"sqlite:///{tmp / 'store.db'}", cache_dir=tmp / "c")
    yield settings, {}, lambda: _bytes([tmp / "store.db", tmp / "store.db-wal"])


@contextmanager
def _mongodb(folder: Path, tmp: Path) -> Iterator[tuple[Settings, dict[str, Any], Any]]:
    url, client = "mongodb://mongo.example:27017/membergraph?replicaSet=rs0", EmulatedClient()
    asyncio.run(load(folder, url, client))
    settings = Settings(store=url, sources=url, cache_dir=tmp / "c")
    yield settings, {"mongo_client": client}, lambda: asyncio.run(_documents(client))


def _bytes(paths: list[Path]) -> bytes:
    return b"".join(p.read_bytes() for p in paths if p.exists())


async def _documents(client: Any) -> bytes:
    db = client["membergraph"]
    texts = [
        repr(doc) for name in await db.list_collection_names() async for doc in db[name].find()
    ]
    return "\n".join(texts).encode()


def _member(client: TestClient, kind: str, value: str) -> Any:
    return gql(client, FIND, kind=kind, value=value)["data"]["memberByIdentifier"]  # type: ignore[index]


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(_sqlite, id="sqlite", marks=pytest.mark.sqlite),
        pytest.param(_mongodb, id="mongodb-emulated", marks=pytest.mark.mongodb),
    ],
)
def test_her_split_off_call_and_visitor_go_with_her(tmp_path: Path, layout: Any) -> None:
    folder = tmp_path / "data"
    write_demo_data(folder, 40, seed=5)
    add_to_folder(folder)
    other = str(read_jsonl(folder / "crm.jsonl")[0]["contact_id"])
    with layout(folder, tmp_path) as (settings, extra, stored):
        with TestClient(create_app(settings, **extra), base_url="http://127.0.0.1") as client:
            # Given her member holding her contact, card, visitor and the call naming her
            assert client.post("/ingest/call_center", json=[CALL]).status_code == 200
            her = _member(client, "CRM_ID", "C-ZQ-77")
            assert {"source": "CALL_CENTER", "key": "I-ZQ-ADV"} in her["records"]
            # When a steward splits her visitor and call off, links the visitor to another
            # person's contact, and her member is erased
            split = gql(client, SPLIT, m=her["id"], r=[VISITOR, HER_CALL])
            assert "errors" not in split, split
            linked = gql(client, LINK, a=VISITOR, b={"source": "CRM", "key": other})
            assert "errors" not in linked, linked
            his = linked["data"]["linkRecords"][0]["id"]  # type: ignore[index]
            history = gql(client, HISTORY, id=his)["data"]["member"]["identityHistory"]  # type: ignore[index]
            link_event = max(int(e["id"]) for e in history if e["kind"] == "steward")
            # (her export still shows them: her records another member holds)
            export = client.get(f"/privacy/members/{her['id']}/export").json()
            elsewhere = export["lines_outside_records"]["records_elsewhere"]
            assert [c["interaction_id"] for c in elsewhere["call_center"]] == ["I-ZQ-ADV"]
            assert "E-ZQ-PAGE" in {e["event_id"] for e in elsewhere["web_analytics"]}
            erased = gql(client, ERASE, id=her["id"])["data"]["eraseMember"]  # type: ignore[index]
            assert erased["state"] == "DONE", erased
            # Then none of her identifiers finds anyone, and the other person keeps his
            # contact (without her visitor) in his member
            assert [_member(client, k, v) for k, v in LOOKUPS] == [None] * len(LOOKUPS)
            theirs = _member(client, "CRM_ID", other)
            assert theirs is not None and VISITOR not in theirs["records"]
            assert {"source": "CRM", "key": other} in theirs["records"]
            # And undoing the steward's link brings nothing of hers back
            undone = gql(client, UNDO, e=str(link_event))
            assert undone["errors"][0]["extensions"]["code"] == "NOT_FOUND", undone  # type: ignore[index]
            assert gql(client, HISTORY, id=her["id"])["data"]["member"] is None  # type: ignore[index]
            assert client.get(f"/privacy/members/{her['id']}/export").status_code == 404
        # And no byte of the store holds her, after a restart neither
        assert [t for t in TRACES if t.encode() in stored()] == []
        with TestClient(create_app(settings, **extra), base_url="http://127.0.0.1") as client:
            assert [_member(client, k, v) for k, v in LOOKUPS] == [None] * len(LOOKUPS)
            assert _member(client, "CRM_ID", other) is not None
    if layout is _sqlite:
        with sqlite3.connect(tmp_path / "store.db") as db:
            bodies = db.execute("SELECT body FROM source_lines").fetchall()
        assert not [b for (b,) in bodies if b"C-ZQ-77" in b or b"I-ZQ-ADV" in b]
        assert orjson.dumps(CALL) not in (folder / "call_center.jsonl").read_bytes()


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(_sqlite, id="sqlite", marks=pytest.mark.sqlite),
        pytest.param(_mongodb, id="mongodb-emulated", marks=pytest.mark.mongodb),
    ],
)
def test_a_device_she_shares_loses_her_lines_and_keeps_the_others(
    tmp_path: Path, layout: Any
) -> None:
    folder = tmp_path / "data"
    write_demo_data(folder, 40, seed=5)
    add_to_folder(folder)
    other = str(read_jsonl(folder / "crm.jsonl")[0]["contact_id"])
    theirs = {
        "event_id": "E-SHARED-OTHER",
        "anonymous_id": "anon-zq-5150",
        "user_id": other,
        "type": "identify",
        "name": "Logged In",
        "occurred_at": "2026-10-06T09:00:00Z",
    }
    # An anonymous page on that device noting her address (found by a tester): hers
    noted = {
        "event_id": "E-SHARED-NOTE",
        "anonymous_id": "anon-zq-5150",
        "type": "page",
        "name": "Home",
        "occurred_at": "2026-10-06T09:05:00Z",
        "properties": {"note": "Zephyrine.Quill@quillmail.org visited"},
    }
    # The device's lines: its own (no one logged in) and each login's (``<device>|login:<id>``)
    lines = "SELECT line_id FROM source_lines WHERE source = 'web_analytics' AND owner LIKE ?"
    with layout(folder, tmp_path) as (settings, extra, stored):
        with TestClient(create_app(settings, **extra), base_url="http://127.0.0.1") as client:
            # Given her visitor, on which another person logged in too (a shared device),
            # and a cash sale whose card field a till typed her e-mail into (nobody's line)
            her = _member(client, "CRM_ID", "C-ZQ-77")
            sent = client.post("/ingest/web_analytics", json=[theirs, noted])
            assert sent.status_code == 200, sent.text
            till = client.post("/ingest/transactions", json=[TYPED_IN_THE_CARD_FIELD]).json()
            assert till["lines"][0]["status"] == "unattributed", till
            # Her export shows what her erasure will take beyond her records, nothing else
            export = client.get(f"/privacy/members/{her['id']}/export").json()
            outside = export["lines_outside_records"]
            assert [e["event_id"] for e in outside["shared_devices"]["web_analytics"]] == [
                "E-SHARED-NOTE"
            ]
            nobodys = outside["kept_for_no_one"]["transactions"]
            assert [t["transaction_id"] for t in nobodys] == ["T-ZQ-TILL"]
            assert outside["records_elsewhere"] == {}
            # When she is erased
            erased = gql(client, ERASE, id=her["id"])["data"]["eraseMember"]  # type: ignore[index]
            assert erased["state"] == "DONE", erased
            # Then her CRM id and e-mail find nothing, and the other person is untouched
            assert _member(client, "CRM_ID", "C-ZQ-77") is None
            assert _member(client, "EMAIL", "zephyrine.quill@quillmail.org") is None
            assert _member(client, "CRM_ID", other) is not None
        # And her login is gone from the device's lines, the other person's login stays
        held = stored()
        assert b"C-ZQ-77" not in held and b"E-ZQ-LOGIN" not in held
        assert b"E-SHARED-NOTE" not in held and b"quillmail" not in held.lower()
        assert b"T-ZQ-TILL" not in held  # kept for the books under another id
        assert b"E-SHARED-OTHER" in held
    if layout is _sqlite:
        with sqlite3.connect(tmp_path / "store.db") as db:
            kept = {row[0] for row in db.execute(lines, ("anon-zq-5150%",))}
        assert "E-SHARED-OTHER" in kept and "E-ZQ-LOGIN" not in kept
        assert b"E-ZQ-LOGIN" not in (folder / "web_analytics.jsonl").read_bytes()


@pytest.mark.parametrize(
    "layout",
    [
        pytest.param(_sqlite, id="sqlite", marks=pytest.mark.sqlite),
        pytest.param(_mongodb, id="mongodb-emulated", marks=pytest.mark.mongodb),
    ],
)
def test_her_opens_through_a_mail_proxy_go_and_other_readers_stay(
    tmp_path: Path, layout: Any
) -> None:
    folder = tmp_path / "data"
    write_demo_data(folder, 40, seed=5)
    add_to_folder(folder)
    other = next(c for c in read_jsonl(folder / "crm.jsonl") if c.get("emails"))
    # A mail privacy proxy's device opens her mail and another reader's, each open naming
    # its recipient by e-mail alone
    opens = [
        {
            "event_id": eid,
            "anonymous_id": "a-mail-proxy-1",
            "email": email,
            "type": "track",
            "name": "Email Opened",
            "occurred_at": "2026-10-06T09:00:00Z",
        }
        for eid, email in (
            ("E-PROXY-HERS", "Zephyrine.Quill@quillmail.org"),
            ("E-PROXY-OTHER", other["emails"][0]),
        )
    ]
    with layout(folder, tmp_path) as (settings, extra, stored):
        with TestClient(create_app(settings, **extra), base_url="http://127.0.0.1") as client:
            her = _member(client, "CRM_ID", "C-ZQ-77")
            sent = client.post("/ingest/web_analytics", json=opens)
            assert sent.status_code == 200, sent.text
            # Given each open is with its reader, and the proxy's id identifies no one
            assert _member(client, "CRM_ID", other["contact_id"])["id"] != her["id"]
            assert _member(client, "ANONYMOUS_ID", "a-mail-proxy-1") is None
            # When she is erased
            erased = gql(client, ERASE, id=her["id"])["data"]["eraseMember"]  # type: ignore[index]
            assert erased["state"] == "DONE", erased
            assert _member(client, "CRM_ID", other["contact_id"]) is not None
        # Then her open is gone, the other reader's stays
        held = stored()
        assert b"E-PROXY-HERS" not in held and b"quillmail" not in held.lower()
        assert b"E-PROXY-OTHER" in held

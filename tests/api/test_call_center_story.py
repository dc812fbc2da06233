"""The call-center story, end to end over real HTTP and WebSocket (uvicorn on a free port).

Two members; an agent links a call to the wrong account and crosses them; purchases and web
events arrive while they are merged; a supervisor undoes the merge; each member gets back
exactly its records, facts and ID, and a subscriber hears both changes as they happen.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import websockets

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.support.http import free_port, serving
from tests.support.sockets import served

ANN = {
    "contact_id": "C-ANN",
    "first_name": "Ann",
    "last_name": "Lee",
    "emails": ["ann.lee@example.org"],
    "phones": ["+1 415 555 0111"],
    "loyalty_id": "LD11110001",
    "birth_date": "1980-01-01",
}
BOB = {
    "contact_id": "C-BOB",
    "first_name": "Bob",
    "last_name": "Kim",
    "emails": ["bob.kim@example.org"],
    "phones": ["+1 415 555 0222"],
    "loyalty_id": "LD22220002",
    "birth_date": "1975-05-05",
}
CALL = {
    "interaction_id": "I-ANN-1",
    "caller_phone": "4155550111",
    "account_ref": {"kind": "crm_id", "value": "C-ANN"},
    "agent_id": "agent-9",
    "started_at": "2026-11-01T09:00:00Z",
    "reason": "missing points",
}


def _tx(tid: str, card: str) -> dict[str, Any]:
    return {
        "transaction_id": tid,
        "loyalty_id": card,
        "channel": "store",
        "occurred_at": "2026-11-02T10:00:00Z",
        "amount_cents": 1000,
        "points_earned": 10,
        "status": "completed",
    }


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_bytes(orjson.dumps(ANN) + b"\n" + orjson.dumps(BOB) + b"\n")
    (data / "transactions.jsonl").write_bytes(orjson.dumps(_tx("T-A0", "LD11110001")) + b"\n")
    (data / "call_center.jsonl").write_bytes(orjson.dumps(CALL) + b"\n")
    port = free_port()
    settings = Settings(data=data, store=f"sqlite:///{tmp_path / 'id.db'}", port=port)
    with serving(create_app(settings), port) as address:
        yield address


MEMBER = """query ($kind: IdentifierKind!, $value: String!) { memberByIdentifier(kind: $kind, value: $value) {
  id records { source key } transactions(first: 50) { totalCount edges { node { transactionId } } }
  webActivity { eventId } identityHistory { id kind actor reason evidence } } }"""


async def _gql(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"x-membergraph-actor": "agent-9"},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]  # type: ignore[no-any-return]


async def _member(client: httpx.AsyncClient, crm_id: str) -> dict[str, Any]:
    return (await _gql(client, MEMBER, kind="CRM_ID", value=crm_id))["memberByIdentifier"]  # type: ignore[no-any-return]


async def _ingest(client: httpx.AsyncClient, source: str, *lines: dict[str, Any]) -> None:
    response = await client.post(f"/ingest/{source}", json=list(lines))
    assert response.status_code == 200, response.text


async def test_a_wrong_link_is_undone_exactly_and_subscribers_hear_it(server: str) -> None:
    async with (
        httpx.AsyncClient(base_url=f"http://{server}") as client,
        websockets.connect(f"ws://{server}/graphql", subprotocols=["graphql-transport-ws"]) as ws,
    ):
        ann, bob = await _member(client, "C-ANN"), await _member(client, "C-BOB")
        assert ann["id"] != bob["id"]
        await served(ws)
        await ws.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {
                        "query": f'subscription {{ memberChanged(id: "{bob["id"]}") {{ kind memberIds actor reason }} }}'
                    },
                }
            )
        )
        await asyncio.sleep(0.2)

        # The agent crosses Ann's call with Bob's account.
        linked = await _gql(
            client,
            """mutation { linkRecords(a: {source: CALL_CENTER, key: "I-ANN-1"},
            b: {source: CRM, key: "C-BOB"}, reason: "caller gave this account") { id } }""",
        )
        [merged] = linked["linkRecords"]
        event = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert event["payload"]["data"]["memberChanged"] == {
            "kind": "MERGED",
            "memberIds": sorted([ann["id"], bob["id"]], key=lambda m: m != merged["id"]),
            "actor": "agent-9",
            "reason": "caller gave this account",
        }

        # While merged: both buy, Bob browses, Ann calls again.
        await _ingest(
            client, "transactions", _tx("T-A1", "ld-1111-0001"), _tx("T-B1", "LD22220002")
        )
        await _ingest(
            client,
            "web_analytics",
            {
                "event_id": "E-B1",
                "anonymous_id": "a-bob",
                "user_id": "C-BOB",
                "type": "identify",
                "occurred_at": "2026-11-03T10:00:00Z",
            },
        )
        together = await _member(client, "C-ANN")
        assert together["id"] == merged["id"] and together["transactions"]["totalCount"] == 3

        # The supervisor undoes the merge from the member's history.
        merge_event = next(e for e in together["identityHistory"] if e["kind"] == "merged")
        undone = await _gql(
            client,
            f'mutation {{ undoMerge(eventId: "{merge_event["id"]}", reason: "wrong account") {{ id }} }}',
        )
        assert sorted(m["id"] for m in undone["undoMerge"]) == sorted([ann["id"], bob["id"]])
        # Bob's subscriber heard the member he was part of while merged (his purchase
        # among its changes, whichever ID survived), then the split.
        heard: list[str] = []
        while not heard or heard[-1] != "SPLIT":
            event = json.loads(await asyncio.wait_for(ws.recv(), 10))
            heard.append(event["payload"]["data"]["memberChanged"]["kind"])
        assert "PURCHASE_RECORDED" in heard, heard

        ann_after, bob_after = await _member(client, "C-ANN"), await _member(client, "C-BOB")
        assert (ann_after["id"], bob_after["id"]) == (ann["id"], bob["id"])
        assert {r["key"] for r in ann_after["records"]} == {
            "C-ANN",
            "loyalty:LD11110001",
            "I-ANN-1",
        }
        assert {r["key"] for r in bob_after["records"]} == {
            "C-BOB",
            "loyalty:LD22220002",
            "a-bob|login:C-BOB",
        }
        assert {e["node"]["transactionId"] for e in ann_after["transactions"]["edges"]} == {
            "T-A0",
            "T-A1",
        }
        assert {e["node"]["transactionId"] for e in bob_after["transactions"]["edges"]} == {"T-B1"}
        assert [e["eventId"] for e in bob_after["webActivity"]] == ["E-B1"] and ann_after[
            "webActivity"
        ] == []
        # The merged-away ID names its own member again, and the history says why.
        by_old_id = await _gql(
            client, "query ($id: ID!) { member(id: $id) { id redirectedFrom } }", id=bob["id"]
        )
        assert by_old_id["member"] == {"id": bob["id"], "redirectedFrom": None}
        assert any(
            e["kind"] == "unmerged" and e["reason"] == "wrong account"
            for e in ann_after["identityHistory"] + bob_after["identityHistory"]
        )

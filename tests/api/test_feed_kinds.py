"""The change kinds issue 18 names that a subscriber could not tell apart (gaps13): a tier
change (nothing was pushed), a new member (read as LINKED, like a record joining someone)
and a steward's undo (read as the SPLIT or MERGED it made, like any steward change)."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.api.test_feed_api import CONTACT, LINK, OTHER, SALE, _head, _member, _since
from tests.conftest import gql
from tests.support.sockets import subscribed

EMAIL = "fea.dent@mail-example.net"  # CONTACT's: her card is LD-5151-0001
TIER = '{ m: memberByIdentifier(kind: EMAIL, value: "fea.dent@mail-example.net") { loyalty { tier } } }'
# A scored read catches the member's figures up with the feed first (read-your-writes for
# analysts): after it, whatever the figures announce is on the feed.
SCORED = '{ m: memberByIdentifier(kind: EMAIL, value: "fea.dent@mail-example.net") { segments } }'


def _sale(line_id: str, cents: int) -> dict[str, Any]:
    return {**SALE, "transaction_id": line_id, "amount_cents": cents, "points_earned": 0}


def _identity(entries: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """(kind, memberIds) of the identity entries (no source line) among ``entries``."""
    return [(e["kind"], e["memberIds"]) for e in entries if not e["source"]]


def test_a_purchase_that_moves_the_tier_is_pushed_and_an_address_change_is_not(
    client: TestClient,
) -> None:
    # Given a member who spent 400.00 (BRONZE: SILVER is reached at 500.00)
    client.post("/ingest/crm", json=[CONTACT])
    client.post("/ingest/transactions", json=[_sale("T-TIER-1", 40_000)])
    assert gql(client, TIER)["data"]["m"]["loyalty"]["tier"] == "BRONZE"  # type: ignore[index]
    member = _member(client, EMAIL)
    gql(client, SCORED)
    head = _head(client)
    # When the till sends a purchase of 200.00, a subscriber of hers listening
    subscription = (
        f'subscription {{ memberChanged(id: "{member}", after: "{head}") '
        "{ cursor kind memberIds lineId } }"
    )
    heard: list[dict[str, Any]] = []
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        subscribed(ws, subscription)
        answer = client.post("/ingest/transactions", json=[_sale("T-TIER-2", 20_000)]).json()
        assert answer["lines"][0]["status"] == "created"
        while not heard or heard[-1]["kind"] != "TIER_CHANGED":
            heard.append(ws.receive_json()["payload"]["data"]["memberChanged"])
    # Then she hears the purchase, then that her tier moved (no source line: read the tier)
    assert [(h["kind"], h["lineId"]) for h in heard] == [
        ("PURCHASE_RECORDED", "T-TIER-2"),
        ("TIER_CHANGED", None),
    ]
    assert heard[-1]["memberIds"] == [member]
    assert gql(client, TIER)["data"]["m"]["loyalty"]["tier"] == "SILVER"  # type: ignore[index]
    # and `changes` says the same, once
    assert [e["kind"] for e in _since(client, head)] == ["PURCHASE_RECORDED", "TIER_CHANGED"]
    # When the CRM then moves her, changing her address only
    head = _head(client)
    moved = {**CONTACT, "address": {"line1": "2 New St"}, "updated_at": "2026-11-05T00:00:00Z"}
    assert client.post("/ingest/crm", json=[moved]).json()["lines"][0]["status"] == "updated"
    gql(client, SCORED)
    # Then it is a profile change, and nothing says her tier changed
    assert [e["kind"] for e in _since(client, head)] == ["PROFILE_UPDATED"]


def test_a_new_person_is_a_member_created_and_a_record_joining_her_is_linked(
    client: TestClient,
) -> None:
    # When a new contact arrives
    head = _head(client)
    client.post("/ingest/crm", json=[CONTACT])
    member = _member(client, EMAIL)
    # Then the feed says a member was created (not that records joined one)
    assert _identity(_since(client, head)) == [("MEMBER_CREATED", [member])]
    # When her first purchase brings her loyalty account's record to her
    head = _head(client)
    client.post("/ingest/transactions", json=[SALE])
    # Then that is a record joining a live member
    assert _identity(_since(client, head)) == [("LINKED", [member])]


def test_a_stewards_undo_is_said_beside_the_split_it_makes(client: TestClient) -> None:
    # Given two members a steward merged
    client.post("/ingest/crm", json=[CONTACT, OTHER])
    fea, bo = _member(client, EMAIL), _member(client, "bo.lind@mail-example.net")
    [survivor] = [m["id"] for m in gql(client, LINK)["data"]["linkRecords"]]  # type: ignore[index]
    history = gql(client, f'{{ member(id: "{survivor}") {{ identityHistory {{ id kind }} }} }}')
    [event] = [
        e["id"] for e in history["data"]["member"]["identityHistory"] if e["kind"] == "steward"
    ]  # type: ignore[index]
    # When the steward undoes the merge
    head = _head(client)
    undone = gql(client, f'mutation {{ undo(eventId: "{event}", reason: "wrong") {{ id }} }}')
    assert "errors" not in undone, undone
    # Then subscribers hear the split, and that it was an undo, naming both members
    assert _identity(_since(client, head)) == [
        ("SPLIT", sorted([fea, bo])),
        ("UNDONE", sorted([fea, bo])),
    ]


def test_a_purchase_or_call_redeeming_an_offer_is_announced_as_both_kinds(
    client: TestClient,
) -> None:
    # Given a member
    client.post("/ingest/crm", json=[CONTACT])
    head = _head(client)
    # When she uses an offer at the till, on a call, and a refunded line carries a code
    offered = {**_sale("T-OFFER", 900), "offer_code": "BONUS-X"}
    refunded = {**_sale("T-REFUND", -900), "offer_code": "BONUS-X", "status": "refunded"}
    call = {
        "interaction_id": "I-OFFER",
        "caller_phone": "+15125550100",
        "account_ref": {"kind": "email", "value": EMAIL},
        "agent_id": "A1",
        "started_at": "2026-11-21T14:00:00Z",
        "duration_s": 60,
        "reason": "redeem",
        "offer_code": "BONUS-X",
    }
    client.post("/ingest/transactions", json=[offered, refunded])
    client.post("/ingest/call_center", json=[call])
    # Then a consumer of purchases or calls hears them, and one of offers hears both uses;
    # the refunded line redeems nothing (as her offers ledger reads it)
    facts = [(e["kind"], e["lineId"]) for e in _since(client, head) if e["source"]]
    assert facts == [
        ("PURCHASE_RECORDED", "T-OFFER"),
        ("OFFER_REDEEMED", "T-OFFER"),
        ("PURCHASE_RECORDED", "T-REFUND"),
        ("CALL", "I-OFFER"),
        ("OFFER_REDEEMED", "I-OFFER"),
    ]

"""The change feed over GraphQL: every fact kind, `changes` paging, `memberChanged(after:)`."""

from __future__ import annotations

import asyncio
import json
from functools import partial
from types import SimpleNamespace
from typing import Any

import httpx
import websockets
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.identity.feed import FeedEntry
from membergraph.settings import Settings
from tests.conftest import gql
from tests.support.http import serving
from tests.support.sockets import subscribed, subscribed_over

CONTACT = {
    "contact_id": "C-FEED",
    "first_name": "Fea",
    "last_name": "Dent",
    "emails": ["fea.dent@mail-example.net"],
    "loyalty_id": "LD-5151-0001",
    "birth_date": "1991-01-01",
    "consents": {"email": True, "sms": True},
    "updated_at": "2026-11-01T00:00:00Z",
}
SALE = {
    "transaction_id": "T-FEED-1",
    "loyalty_id": "LD51510001",
    "channel": "store",
    "occurred_at": "2026-11-20T10:00:00Z",
    "amount_cents": 1500,
    "points_earned": 15,
}
OFFER = {
    "event_id": "E-FEED-1",
    "anonymous_id": "a-feed",
    "user_id": "C-FEED",
    "type": "track",
    "name": "Offer Redeemed",
    "occurred_at": "2026-11-20T11:00:00Z",
}
CHANGES = """query ($after: String, $first: Int!) { changes(after: $after, first: $first) {
  edges { cursor node { kind memberIds source lineId } } pageInfo { hasNextPage endCursor } } }"""


def _head(client: TestClient) -> str | None:
    """The newest cursor now (None: an empty feed)."""
    after: str | None = None
    while True:
        page = gql(client, CHANGES, after=after, first=1000)["data"]["changes"]  # type: ignore[index]
        if page["edges"]:
            after = page["pageInfo"]["endCursor"]
        if not page["pageInfo"]["hasNextPage"]:
            return after


def _since(client: TestClient, after: str | None) -> list[dict[str, object]]:
    page = gql(client, CHANGES, after=after, first=1000)["data"]["changes"]  # type: ignore[index]
    return [edge["node"] for edge in page["edges"]]


def test_each_fact_a_member_cares_about_is_one_entry_of_its_kind(client: TestClient) -> None:
    before = _head(client)
    client.post("/ingest/crm", json=[CONTACT])
    client.post("/ingest/transactions", json=[SALE])
    client.post("/ingest/web_analytics", json=[OFFER])
    client.post("/ingest/transactions", json=[{**SALE, "status": "refunded"}])
    unsubscribed = {**CONTACT, "consents": {"email": False, "sms": True}}
    client.post("/ingest/crm", json=[{**unsubscribed, "updated_at": "2026-11-02T00:00:00Z"}])
    client.post("/ingest/transactions", json=[SALE])  # the till's late copy: stale, no entry
    facts = [(e["kind"], e["lineId"]) for e in _since(client, before) if e["source"]]
    assert facts == [
        ("PROFILE_UPDATED", "C-FEED"),
        ("PURCHASE_RECORDED", "T-FEED-1"),
        ("WEB_EVENT", "E-FEED-1"),
        ("OFFER_REDEEMED", "E-FEED-1"),
        ("PURCHASE_STATUS_CHANGED", "T-FEED-1"),
        ("CONSENT_CHANGED", "C-FEED"),
    ]
    member = _member(client, "fea.dent@mail-example.net")
    assert all(member in e["memberIds"] for e in _since(client, before) if e["source"])  # type: ignore[operator]


def test_a_crm_line_changing_a_profile_field_and_a_consent_announces_both(
    client: TestClient,
) -> None:
    # Given a contact on the feed
    client.post("/ingest/crm", json=[CONTACT])
    member = _member(client, "fea.dent@mail-example.net")
    before = _head(client)
    # When one CRM line moves her and withdraws her e-mail consent, then one only renames her
    moved = {
        **CONTACT,
        "address": {"line1": "2 New St", "city": "Austin"},
        "consents": {"email": False, "sms": True},
        "updated_at": "2026-11-02T00:00:00Z",
    }
    renamed = {**moved, "last_name": "Dentz", "updated_at": "2026-11-03T00:00:00Z"}
    for line in (moved, renamed):
        assert client.post("/ingest/crm", json=[line]).json()["lines"][0]["status"] == "updated"
    # Then the first is announced as a profile change and as a consent change, the second
    # as a profile change only: a subscriber that acts on either kind hears of it
    facts = [(e["kind"], e["lineId"]) for e in _since(client, before) if e["source"]]
    assert facts == [
        ("PROFILE_UPDATED", "C-FEED"),
        ("CONSENT_CHANGED", "C-FEED"),
        ("PROFILE_UPDATED", "C-FEED"),
    ]
    assert all(member in e["memberIds"] for e in _since(client, before))  # type: ignore[operator]


def test_an_opt_out_on_the_site_is_announced_as_a_consent_change(client: TestClient) -> None:
    # Given a contact who consented to e-mail, logged in on the site
    client.post("/ingest/crm", json=[CONTACT])
    before = _head(client)
    # When the site says she unsubscribed, and she then reads a page
    opt_out = {**OFFER, "event_id": "E-FEED-OUT", "name": "Unsubscribed", "properties": {}}
    page = {**OFFER, "event_id": "E-FEED-PAGE", "type": "page", "name": None}
    assert client.post("/ingest/web_analytics", json=[opt_out, page]).status_code == 200
    # Then a subscriber acting on consents hears of the opt-out (one acting on web events
    # too), and not of the page read; and her e-mail consent reads withdrawn
    facts = [(e["kind"], e["lineId"]) for e in _since(client, before) if e["source"]]
    assert facts == [
        ("WEB_EVENT", "E-FEED-OUT"),
        ("CONSENT_CHANGED", "E-FEED-OUT"),
        ("WEB_EVENT", "E-FEED-PAGE"),
    ]
    member = gql(
        client,
        '{ memberByIdentifier(kind: EMAIL, value: "fea.dent@mail-example.net")'
        " { consents { channel granted } } }",
    )["data"]["memberByIdentifier"]
    assert {"channel": "EMAIL", "granted": False} in member["consents"]  # type: ignore[index]


def test_changes_pages_on_without_repeating_or_skipping(client: TestClient) -> None:
    before = _head(client)
    client.post("/ingest/crm", json=[CONTACT])
    client.post("/ingest/transactions", json=[SALE, {**SALE, "transaction_id": "T-FEED-2"}])
    everything = _since(client, before)
    paged, after = [], before
    while True:
        page = gql(client, CHANGES, after=after, first=1)["data"]["changes"]  # type: ignore[index]
        paged += [edge["node"] for edge in page["edges"]]
        after = page["pageInfo"]["endCursor"] or after
        if not page["pageInfo"]["hasNextPage"]:
            break
    assert paged == everything and len(everything) >= 3


def test_a_subscriber_that_resumes_after_its_cursor_gets_what_it_missed(
    client: TestClient,
) -> None:
    client.post("/ingest/crm", json=[CONTACT])
    member = _member(client, "fea.dent@mail-example.net")
    last_seen = _head(client)
    # While the subscriber is away: a purchase and an offer.
    client.post("/ingest/transactions", json=[SALE])
    client.post("/ingest/web_analytics", json=[OFFER])
    query = (
        f'subscription {{ memberChanged(id: "{member}", after: "{last_seen}") '
        "{ cursor kind lineId } }"
    )
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        subscribed(ws, query)
        missed: list[dict[str, str]] = []
        while not any(m["kind"] == "OFFER_REDEEMED" for m in missed):
            missed.append(ws.receive_json()["payload"]["data"]["memberChanged"])
    # The card's record joining the member is an identity entry (LINKED) between them.
    assert [(m["kind"], m["lineId"]) for m in missed if m["lineId"]] == [
        ("PURCHASE_RECORDED", "T-FEED-1"),
        ("WEB_EVENT", "E-FEED-1"),
        ("OFFER_REDEEMED", "E-FEED-1"),
    ]
    cursors = [int(m["cursor"]) for m in missed]
    assert cursors == sorted(set(cursors)) and cursors[0] > int(last_seen)  # type: ignore[arg-type]


def test_a_cursor_beyond_the_feeds_end_is_refused_not_waited_on(client: TestClient) -> None:
    # Adversarial pass: with the feed ending at 412, `after: "912"` was taken and the client
    # heard nothing of the next changes, untold (a cursor from another store, or a backup).
    client.post("/ingest/crm", json=[CONTACT])
    head = int(_head(client) or 0)
    ahead = str(head + 500)
    page = client.post(
        "/graphql", json={"query": CHANGES, "variables": {"after": ahead, "first": 10}}
    ).json()
    assert page["data"] is None or page["data"]["changes"] is None
    [error] = page["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert f"ends at {head}" in error["message"]
    subscription = f'subscription {{ memberChanged(after: "{ahead}") {{ cursor kind }} }}'
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        subscribed(ws, subscription)
        refused = ws.receive_json()
    assert refused["type"] in ("error", "next"), refused
    errors = refused["payload"] if refused["type"] == "error" else refused["payload"]["errors"]
    assert errors[0]["extensions"]["code"] == "BAD_USER_INPUT"
    # and the feed's own end is a cursor a client may hold: taken, nothing missed
    assert _since(client, str(head)) == []


OTHER = {
    "contact_id": "C-FEED-2",
    "first_name": "Bo",
    "last_name": "Lind",
    "emails": ["bo.lind@mail-example.net"],
    "loyalty_id": "LD-5151-0002",
    "birth_date": "1980-02-02",
    "updated_at": "2026-11-01T00:00:00Z",
}
LINK = """mutation { linkRecords(a: {source: CRM, key: "C-FEED"}, b: {source: CRM, key: "C-FEED-2"},
  reason: "same person, two accounts") { id } }"""


def _member(client: TestClient, email: str) -> str:
    query = "query ($v: String!) { memberByIdentifier(kind: EMAIL, value: $v) { id } }"
    return gql(client, query, v=email)["data"]["memberByIdentifier"]["id"]  # type: ignore[index,no-any-return]


def _hear(client: TestClient, member: str, after: str | None, until: str) -> list[tuple[str, ...]]:
    """(kind, lineId) of each change a subscriber of ``member`` hears, up to the line ``until``."""
    resume = f', after: "{after}"' if after else ""
    query = f'subscription {{ memberChanged(id: "{member}"{resume}) {{ kind lineId memberIds }} }}'
    heard: list[tuple[str, ...]] = []
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        subscribed(ws, query)
        if after is None:  # a live subscriber: the change comes once it listens
            client.post("/ingest/transactions", json=[{**SALE, "transaction_id": until}])
        while not heard or heard[-1][1] != until:
            change = ws.receive_json()["payload"]["data"]["memberChanged"]
            heard.append((change["kind"], change["lineId"]))
    return heard


def test_a_subscriber_of_a_member_merged_away_hears_the_survivor(client: TestClient) -> None:
    # Adversarial pass (adv7): `memberChanged(id: B)` heard B's MERGED entry, then nothing
    # of the person again, though `member(id: B)` answers the survivor.
    # Given two members, each a contact with a card
    client.post("/ingest/crm", json=[CONTACT, OTHER])
    ids = {
        _member(client, "fea.dent@mail-example.net"),
        _member(client, "bo.lind@mail-example.net"),
    }
    before = _head(client)
    # When a steward merges them
    [survivor] = [m["id"] for m in gql(client, LINK)["data"]["linkRecords"]]  # type: ignore[index]
    [merged_away] = ids - {survivor}
    # Then a subscriber resuming with the merged-away ID hears the merge and the
    # survivor's purchase after it
    client.post("/ingest/transactions", json=[{**SALE, "transaction_id": "T-AFTER"}])
    heard = _hear(client, merged_away, before, "T-AFTER")
    assert heard[0][0] == "MERGED"
    assert ("PURCHASE_RECORDED", "T-AFTER") in heard
    # And one subscribing with it now hears the survivor's next purchase
    assert _hear(client, merged_away, None, "T-LIVE")[-1] == ("PURCHASE_RECORDED", "T-LIVE")


def test_an_entry_a_newer_release_wrote_is_other_and_the_feed_goes_on(
    client: TestClient,
) -> None:
    # Given a newer release over the same store (a rolling upgrade) writing a kind this
    # release does not name, between two purchases of a member
    client.post("/ingest/crm", json=[CONTACT])
    member = _member(client, "fea.dent@mail-example.net")
    before = _head(client)
    store = client.app.state.gateway.identity.store  # type: ignore[attr-defined]
    newer = FeedEntry(SimpleNamespace(value="points_expired"), (member,))  # type: ignore[arg-type]
    client.post("/ingest/transactions", json=[SALE])
    assert client.portal is not None
    client.portal.call(store.append_feed, [newer])
    client.post("/ingest/transactions", json=[{**SALE, "transaction_id": "T-FEED-2"}])
    # When `changes` is read, and a subscriber resumes from before them
    kinds = [(n["kind"], n["lineId"]) for n in _since(client, before) if member in n["memberIds"]]
    query = f'subscription {{ memberChanged(id: "{member}", after: "{before}") {{ kind lineId }} }}'
    heard: list[dict[str, str]] = []
    with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        subscribed(ws, query)
        while not any(m["lineId"] == "T-FEED-2" for m in heard):
            heard.append(ws.receive_json()["payload"]["data"]["memberChanged"])
    # Then both read it as OTHER, in its place, and go on to the purchase after it
    expected = [
        ("PURCHASE_RECORDED", "T-FEED-1"),
        ("OTHER", None),
        ("PURCHASE_RECORDED", "T-FEED-2"),
    ]
    assert [k for k in kinds if k[0] in ("PURCHASE_RECORDED", "OTHER")] == expected
    assert [
        (m["kind"], m["lineId"]) for m in heard if m["kind"] in ("PURCHASE_RECORDED", "OTHER")
    ] == expected


async def _told(address: str, member: str, after: str | None) -> list[dict[str, Any]]:
    """Every message a subscription to ``member`` is sent, until it completes (a socket
    silent for 30 s fails the test rather than hang it)."""
    resume = f', after: "{after}"' if after else ""
    query = f'subscription {{ memberChanged(id: "{member}"{resume}) {{ kind }} }}'
    told: list[dict[str, Any]] = []
    async with websockets.connect(
        f"ws://{address}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
    ) as ws:
        await subscribed_over(ws, query)
        while not told or told[-1]["type"] != "complete":
            told.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
    return told


async def test_a_subscription_to_an_id_naming_no_member_says_not_found_and_completes(
    settings: Settings,
) -> None:
    # user27 r3: acknowledged, then silent for ever, where member(id:) answers null at once.
    async with httpx.AsyncClient() as http:
        with serving(create_app(settings)) as address:
            await _not_found_story(http, address)


async def _ask(http: httpx.AsyncClient, address: str, query: str) -> Any:
    """The data of ``query`` asked over real HTTP."""
    answer = await http.post(f"http://{address}/graphql", json={"query": query})
    return answer.json()["data"]


async def _not_found_story(http: httpx.AsyncClient, address: str) -> None:
    ask = partial(_ask, http, address)
    # Given a member, and a mistyped ID
    await http.post(f"http://{address}/ingest/crm", json=[CONTACT])
    fea = (
        await ask(
            '{ m: memberByIdentifier(kind: EMAIL, value: "fea.dent@mail-example.net") { id } }'
        )
    )["m"]["id"]
    before = (await ask("{ viewer { feedCursor } }"))["viewer"]["feedCursor"]
    typo = fea[:-1] + ("x" if fea[-1] != "x" else "y")
    # Then a subscription to the typo is told NOT_FOUND, then completes
    [error, done] = await _told(address, typo, None)
    assert error["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert typo in error["payload"]["errors"][0]["message"] and done["type"] == "complete"
    # When she is erased
    erased = await ask(f'mutation {{ eraseMember(id: "{fea}", reason: "DPO-1") {{ state }} }}')
    assert erased["eraseMember"]["state"] == "DONE", erased
    # Then one subscribing now is told the same; one resuming from before hears her erasure
    # first (what it missed), then the same
    [error, done] = await _told(address, fea, None)
    assert error["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    *heard, error, done = await _told(address, fea, before)
    assert "ERASED" in [h["payload"]["data"]["memberChanged"]["kind"] for h in heard]
    assert error["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_a_subscription_open_when_its_member_is_erased_hears_it_then_ends(
    settings: Settings,
) -> None:
    # user31 f9: ERASED, then open and silent for ever (a new one gets NOT_FOUND, complete).
    async with httpx.AsyncClient() as http:
        with serving(create_app(settings)) as address:
            await _erased_while_open_story(http, address)


async def _erased_while_open_story(http: httpx.AsyncClient, address: str) -> None:
    ask = partial(_ask, http, address)
    # Given a member, and a subscription to her ID, open (it hears a change of hers)
    await http.post(f"http://{address}/ingest/crm", json=[CONTACT])
    lookup = '{ m: memberByIdentifier(kind: EMAIL, value: "fea.dent@mail-example.net") { id } }'
    fea = (await ask(lookup))["m"]["id"]
    query = f'subscription {{ memberChanged(id: "{fea}") {{ kind lineId }} }}'
    async with websockets.connect(
        f"ws://{address}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
    ) as ws:
        await subscribed_over(ws, query)
        heard: list[dict[str, Any]] = []
        while not heard or heard[-1]["payload"]["data"]["memberChanged"]["lineId"] != "T-FEED-1":
            if not heard:
                await http.post(f"http://{address}/ingest/transactions", json=[SALE])
            heard.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
        # When she is erased
        erased = await ask(f'mutation {{ eraseMember(id: "{fea}", reason: "DPO-2") {{ state }} }}')
        assert erased["eraseMember"]["state"] == "DONE", erased
        # Then the open subscription hears ERASED, then NOT_FOUND, then completes, as one
        # resuming from before her erasure does
        told: list[dict[str, Any]] = []
        while not told or told[-1]["type"] != "complete":
            told.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
    *news, error, done = told
    assert [n["payload"]["data"]["memberChanged"]["kind"] for n in news][-1:] == ["ERASED"]
    assert error["payload"]["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert fea in error["payload"]["errors"][0]["message"] and done["type"] == "complete"

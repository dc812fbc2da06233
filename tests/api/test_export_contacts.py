"""A member's contact e-mail and phone: one rule for ``profile``, the export and the
channels a member is reachable on; a placeholder is never one of them."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.auth import DEMO_CALLER
from membergraph.export import member_pages
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.store.metrics_port import MemberQuery
from membergraph.settings import Settings
from tests.conftest import gql
from tests.support.export import whole_export
from tests.support.mongo import EmulatedClient, load

URL = "mongodb://app:s3cret@mongo.example:27017/membergraph?replicaSet=rs0"


@pytest.fixture(params=["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def client(request: pytest.FixtureRequest, data_dir: Path, tmp_path: Path) -> Iterator[TestClient]:
    """The gateway over the demo set, on the embedded store or an emulated MongoDB (store
    and sources: its metrics keep the reachable channels the keeper measured)."""
    settings = Settings(data=data_dir, store=f"sqlite:///{tmp_path / 'id.db'}", cache_dir=tmp_path)
    mongo = None
    if request.param == "mongodb":
        mongo = EmulatedClient()
        asyncio.run(load(data_dir, URL, mongo))
        settings = Settings(store=URL, sources=URL, cache_dir=tmp_path / "cache")
    with TestClient(create_app(settings, mongo_client=mongo), base_url="http://127.0.0.1") as http:
        yield http


MEMBERS = """query ($after: String) { members(first: 100, after: $after) {
  pageInfo { hasNextPage endCursor }
  edges { node { id reachableChannels profile { email { value } phone { value } } } } } }"""


def _export(client: TestClient, **params: str) -> dict[str, dict[str, str]]:
    response = client.get("/export/members.csv", params=params)
    assert response.status_code == 200, response.text
    return {r["member_id"]: r for r in whole_export(response.text)}


def _profiles(client: TestClient) -> dict[str, dict[str, object]]:
    found: dict[str, dict[str, object]] = {}
    after = None
    while True:
        page = gql(client, MEMBERS, after=after)["data"]["members"]  # type: ignore[index]
        for edge in page["edges"]:
            found[edge["node"]["id"]] = edge["node"]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def _value(point: object) -> str:
    return point["value"] if isinstance(point, dict) else ""


def test_the_export_gives_every_member_the_profiles_email_and_phone(client: TestClient) -> None:
    # Adversarial pass: the export took the first e-mail in sort order, the profile the most
    # recently seen one, so they disagreed for 149 of 1,649 demo members (405 phones).
    exported, profiles = _export(client), _profiles(client)
    assert exported.keys() == profiles.keys()
    emails = [(exported[m]["email"], _value(p["profile"]["email"])) for m, p in profiles.items()]  # type: ignore[index]
    phones = [(exported[m]["phone"], _value(p["profile"]["phone"])) for m, p in profiles.items()]  # type: ignore[index]
    assert sum(1 for a, b in emails if b) > 50 and sum(1 for a, b in phones if b) > 50
    assert [e for e in emails if e[0] != e[1]] == []
    assert [p for p in phones if p[0] != p[1]] == []


CONTACT = {
    "contact_id": "C-PLACEHOLDER-1",
    "first_name": "Ruth",
    "last_name": "Placeholder",
    "emails": ["none@none.com", "NA@na.com"],
    "phones": ["+1 (555) 555-5555"],
    "consents": {"email": True, "sms": True, "phone": True},
    "updated_at": "2026-11-20T10:00:00Z",
}


def test_a_placeholder_is_no_contact_reaches_no_channel_and_is_not_exported(
    client: TestClient,
) -> None:
    # Given a CRM contact who gave only placeholders (none@none.com, the 555-5555 line)
    pushed = client.post("/ingest/crm", json=[CONTACT])
    assert pushed.status_code == 200, pushed.text
    answer = gql(
        client,
        """{ memberByIdentifier(kind: CRM_ID, value: "C-PLACEHOLDER-1") { id
          reachableChannels identifiers { kind value }
          profile { email { value } phone { value } emails { value } phones { value } } } }""",
    )
    member = answer["data"]["memberByIdentifier"]  # type: ignore[index]
    # then they are still known identifiers, but none is the member's contact point
    assert {"kind": "EMAIL", "value": "none@none.com"} in member["identifiers"]
    assert (member["profile"]["email"], member["profile"]["phone"]) == (None, None)
    assert {"value": "none@none.com"} in member["profile"]["emails"]  # listed, as a source gave it
    assert "EMAIL" not in member["reachableChannels"]
    assert "SMS" not in member["reachableChannels"]
    # and the export neither shows them nor counts the member reachable by e-mail or SMS
    row = _export(client)[member["id"]]
    assert (row["email"], row["phone"]) == ("", "")
    assert "EMAIL" not in row["reachable"].split() and "SMS" not in row["reachable"].split()
    reachable = _export(client, reachable="EMAIL")
    assert member["id"] not in reachable
    assert not [r for r in reachable.values() if r["email"] in ("", "none@none.com")]


def _till_purchase(n: int, card: str, email: str) -> dict[str, object]:
    return {
        "transaction_id": f"T-STORE-MAIL-{n}",
        "loyalty_id": card,
        "email": email,
        "store_id": "S-77",
        "channel": "store",
        "occurred_at": f"2026-11-0{n + 1}T10:00:00Z",
        "amount_cents": 1200,
        "currency": "USD",
        "points_earned": 12,
        "points_redeemed": 0,
        "status": "completed",
        "items": [],
    }


def _contact(client: TestClient, card: str) -> tuple[str, dict[str, object]]:
    answer = gql(
        client,
        """query ($card: String!) { memberByIdentifier(kind: LOYALTY_ID, value: $card) { id
          reachableChannels profile { email { value } emails { value } } } }""",
        card=card,
    )
    member = answer["data"]["memberByIdentifier"]  # type: ignore[index]
    return member["id"], member


@pytest.mark.parametrize(("people", "placeholder"), [(2, False), (3, True)], ids=["two", "three"])
def test_a_store_address_the_data_reveals_is_no_ones_contact(
    client: TestClient, people: int, placeholder: bool
) -> None:
    # Given the store's own address typed at the till for several different cards (more
    # people than the rules' till_max_people make it a placeholder only the data reveals)
    email = "frontdesk@acme-outlet.com"
    cards = [f"LD7700000{n}" for n in range(people)]
    contacts = [
        {
            "contact_id": f"C-STORE-MAIL-{n}",
            "first_name": "Guest",
            "last_name": f"Number{n}",
            "loyalty_id": card,
            "consents": {"email": True},
            "updated_at": "2026-11-01T09:00:00Z",
        }
        for n, card in enumerate(cards)
    ]
    assert client.post("/ingest/crm", json=contacts).status_code == 200
    lines = [_till_purchase(n, card, email) for n, card in enumerate(cards)]
    pushed = client.post("/ingest/transactions", json=lines)
    assert pushed.status_code == 200, pushed.text
    exported = _export(client)
    for card in cards:
        member_id, member = _contact(client, card)
        profile = member["profile"]  # type: ignore[index]
        # then it stays listed, but is the contact e-mail of none of them, in the profile
        # and in the export alike, and reaches none of them by e-mail
        assert {"value": email} in profile["emails"]
        expected = None if placeholder else {"value": email}
        assert profile["email"] == expected
        assert exported[member_id]["email"] == ("" if placeholder else email)
        assert ("EMAIL" in member["reachableChannels"]) is not placeholder
        assert ("EMAIL" in exported[member_id]["reachable"].split()) is not placeholder
    # (two people may share an address, a couple: the data says nothing yet)


def test_an_export_weighs_a_value_many_members_share_once(client: TestClient) -> None:
    # Given the store's address typed at the till for three cards: a value weighed for
    # every member holding it (its carriers' records read and compared), more of them the
    # more people the store holds
    email = "frontdesk@acme-outlet.com"
    cards = [f"LD7700000{n}" for n in range(3)]
    lines = [_till_purchase(n, card, email) for n, card in enumerate(cards)]
    assert client.post("/ingest/transactions", json=lines).status_code == 200
    gateway = client.app.state.gateway  # type: ignore[attr-defined]
    store = gateway.identity.store
    asked: Counter[tuple[IdentifierKind, str]] = Counter()
    carriers = store.carriers

    async def counted(values: Any, *args: Any) -> Any:
        values = list(values)
        asked.update(values)
        return await carriers(values, *args)

    async def export(page_size: int) -> list[list[object]]:
        pages = member_pages(gateway, MemberQuery(), DEMO_CALLER, "test", page_size)
        return [row async for rows in pages for row in rows]

    client.portal.call(gateway.scores.catch_up)  # type: ignore[union-attr]  # (measured)
    whole = client.portal.call(export, 1000)  # type: ignore[union-attr]
    store.carriers = counted
    # When the export is read a member a page, each of them a page of its own
    by_member = client.portal.call(export, 1)  # type: ignore[union-attr]
    # Then its rows are the export's, and the shared e-mail was weighed once, not per page
    assert by_member == whole
    assert asked[(IdentifierKind.EMAIL, email)] == 1

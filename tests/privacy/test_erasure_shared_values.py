"""An erasure suppresses her values, not the values another live member's records carry
too: Finn's family e-mail (he gives it on his own contact) and the visitor id of the iPad
Gus logs in on stay his, so his reachability, his consents and his later lines are as they
were; the request counts the values it left to others (docs/privacy.md, "Erasure")."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.conftest import gql
from tests.privacy.household import FINN, IPAD, write_household
from tests.support.mongo import EmulatedClient, load

REACH = """{ finn: memberByIdentifier(kind: CRM_ID, value: "C-101") { reachableChannels }
  gus: memberByIdentifier(kind: CRM_ID, value: "C-102") { reachableChannels } }"""
ERASE = """mutation($id: ID!) { eraseMember(id: $id, reason: "ticket DPO-2") { state counts } }"""


@pytest.fixture(params=["sqlite", pytest.param("mongodb-emulated", marks=pytest.mark.mongodb)])
def household(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    folder = write_household(tmp_path / "data")
    cache = tmp_path / "cache"
    if request.param == "sqlite":
        settings = Settings(data=folder, store=f"sqlite:///{tmp_path / 's.db'}", cache_dir=cache)
        client = None
    else:
        url, client = "mongodb://mongo.example:27017/membergraph?replicaSet=rs0", EmulatedClient()
        asyncio.run(load(folder, url, client))
        settings = Settings(store=url, sources=url, cache_dir=cache)
    app = create_app(settings, mongo_client=client)
    with TestClient(app, base_url="http://127.0.0.1") as http:
        yield http


def _erin(client: TestClient) -> str:
    found = gql(client, '{ memberByIdentifier(kind: CRM_ID, value: "C-100") { id } }')
    return str(found["data"]["memberByIdentifier"]["id"])  # type: ignore[index]


def _push(client: TestClient, source: str, line: dict[str, object]) -> str:
    sent = client.post(f"/ingest/{source}", json=[line])
    assert sent.status_code == 200, sent.text
    return str(sent.json()["lines"][0]["status"])


def test_erasure_leaves_values_other_members_carry_unsuppressed(household: TestClient) -> None:
    client = household
    # Given Finn and Gus reachable by e-mail (Gus opted in on his own laptop)
    before = gql(client, REACH)["data"]
    assert before == {
        "finn": {"reachableChannels": ["EMAIL"]},
        "gus": {"reachableChannels": ["EMAIL"]},
    }
    # When Erin is erased
    erased = gql(client, ERASE, id=_erin(client))["data"]["eraseMember"]  # type: ignore[index]
    assert erased["state"] == "DONE", erased
    # Then the family e-mail and the iPad's visitor id were left to them, counted, not named
    counts = erased["counts"]
    assert counts["left_to_others"] == 2, counts
    assert "zedfamily" not in str(erased) and IPAD not in str(erased)
    # And both stay reachable as before
    assert gql(client, REACH)["data"] == before
    # And Finn's newer version of his own contact (a move) is taken
    moved = {**FINN, "address": {"line1": "7 New Street", "postal_code": "94110"}}
    assert _push(client, "crm", {**moved, "updated_at": "2026-11-01T10:00:00Z"}) == "updated"
    # And so is Gus's next visit on the iPad
    visit = {"event_id": "W-9", "anonymous_id": IPAD, "user_id": "C-102", "type": "page",
             "occurred_at": "2026-11-03T11:00:00Z"}  # fmt: skip
    assert _push(client, "web_analytics", visit) == "created"
    # While her own values stay suppressed
    hers = {"event_id": "W-10", "anonymous_id": "A-erin-phone", "type": "page",
            "email": "erin.zedlander@mail-example.org", "occurred_at": "2026-11-04T11:00:00Z"}  # fmt: skip
    assert _push(client, "web_analytics", hers) == "suppressed"
    assert _push(client, "crm", {"contact_id": "C-100", "first_name": "Erin",
                                 "updated_at": "2026-11-05T10:00:00Z"}) == "suppressed"  # fmt: skip

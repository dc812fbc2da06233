"""A shared device (a web visitor logged in as two members) over GraphQL: each login's
events are its member's; the device's anonymous events are nobody's until a steward gives
them to one member with ``linkRecords`` and a reason; ``dryRun`` shows it first, ``undo``
takes it back. (A purchase keyed by a placeholder is many people's: it is never
given to anyone, ``tests/identity/test_nobodys.py``.)

Ann and Bob, each with a contact and a card, and a family computer both logged in on.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.api.test_steward_guardrails import ANN, BOB, _data, _tx
from tests.conftest import gql

DEVICE = {"source": "WEB_ANALYTICS", "key": "a-family"}


def _event(eid: str, user: str | None, kind: str = "page") -> dict[str, Any]:
    return {
        "event_id": eid,
        "anonymous_id": "a-family",
        "user_id": user,
        "type": kind,
        "name": "Logged In" if user else "Page Viewed",
        "occurred_at": "2026-11-02T10:00:00Z",
        "properties": {"path": "/offers"},
    }


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in (ANN, BOB)))
    txs = [_tx("T-A1", "LD11110001", 120), _tx("T-B1", "LD22220002", 7)]
    # A guest purchase whose only identifier is a placeholder: nobody's, for good.
    txs.append({**_tx("T-G1", "", 0), "loyalty_id": None, "email": "na@na.com"})
    (data / "transactions.jsonl").write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in txs))
    web = [
        _event("E1", "C-ANN", "identify"),
        _event("E2", "C-BOB", "identify"),
        _event("E3", None),
        _event("E4", None),
    ]
    (data / "web_analytics.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in web))
    settings = Settings(
        data=data, store=f"sqlite:///{tmp_path / 'id.db'}", cache_dir=tmp_path / "cache"
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as test_client:
        yield test_client


FIELDS = "id records { source key } webActivity(first: 10) { name }"
WORLD = f"""{{
  ann: memberByIdentifier(kind: CRM_ID, value: "C-ANN") {{ {FIELDS} }}
  bob: memberByIdentifier(kind: CRM_ID, value: "C-BOB") {{ {FIELDS} }}
  device: memberByIdentifier(kind: ANONYMOUS_ID, value: "a-family") {{ id }}
}}"""
LINK = f"""mutation ($a: RecordRefInput!, $b: RecordRefInput!, $dry: Boolean!) {{
  linkRecords(a: $a, b: $b, reason: "Ann's laptop: Bob logged in once", dryRun: $dry)
  {{ {FIELDS} }} }}"""
HISTORY = """{ m: memberByIdentifier(kind: CRM_ID, value: "C-ANN") {
  identityHistory { id kind rule reason } } }"""


def _world(client: TestClient) -> dict[str, Any]:
    return _data(gql(client, WORLD))  # type: ignore[no-any-return]


def _has_device(member: dict[str, Any]) -> bool:
    return DEVICE in member["records"]


def test_a_steward_gives_a_shared_device_to_one_member_and_takes_it_back(
    client: TestClient,
) -> None:
    # Given a family computer logged in as Ann and as Bob: each login's event is its
    # member's, the device's two anonymous page views nobody's, and the device names no one
    before = _world(client)
    assert before["device"] is None
    assert not _has_device(before["ann"]) and not _has_device(before["bob"])
    assert {"source": "WEB_ANALYTICS", "key": "a-family|login:C-ANN"} in before["ann"]["records"]
    assert before["ann"]["webActivity"] == [{"name": "Logged In"}]
    assert before["bob"]["webActivity"] == [{"name": "Logged In"}]
    ann_contact = {"source": "CRM", "key": "C-ANN"}

    # When a steward tries giving it to Ann first (a dry run)
    preview = _data(gql(client, LINK, a=DEVICE, b=ann_contact, dry=True))["linkRecords"]
    # Then the answer is Ann's member with the device's events, and nothing changed
    [ann_after] = preview
    assert ann_after["id"] == before["ann"]["id"] and _has_device(ann_after)
    assert _world(client) == before

    # When the steward does it
    [linked] = _data(gql(client, LINK, a=DEVICE, b=ann_contact, dry=False))["linkRecords"]
    # Then the device's page views are Ann's: her records, her browsing (her login's event
    # and the two page views); Bob is as he was, his login's event his
    world = _world(client)
    assert linked["id"] == before["ann"]["id"]
    assert _has_device(world["ann"]) and len(world["ann"]["webActivity"]) == 3
    assert world["bob"] == before["bob"]
    # and her history holds the steward's change with the reason given
    history = _data(gql(client, HISTORY))["m"]["identityHistory"]
    [change] = [e for e in history if e["kind"] == "steward"]
    assert change["rule"] == "link" and change["reason"].startswith("Ann's laptop")

    # When the change is undone
    _data(
        gql(
            client,
            f'mutation {{ undo(eventId: "{change["id"]}", reason: "Bob uses it") {{ id }} }}',
        )
    )
    # Then the device is nobody's again and both members are as before
    assert _world(client) == before


def test_a_shared_device_given_to_the_other_login_goes_there(client: TestClient) -> None:
    # When the steward names Bob's card rather than Ann's contact (order of a and b is free)
    bob_card = {"source": "TRANSACTIONS", "key": "loyalty:LD22220002"}
    _data(gql(client, LINK, a=bob_card, b=DEVICE, dry=False))
    # Then Bob's member holds it, not Ann's
    world = _world(client)
    assert _has_device(world["bob"]) and not _has_device(world["ann"])


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param("loyalty:ld-2222-0002", id="card-as-printed"),
        pytest.param(" LOYALTY: ld 2222 0002 ", id="card-spaced-upper-prefix"),
    ],
)
def test_a_card_typed_as_a_steward_types_it_names_its_record(
    client: TestClient, typed: str
) -> None:
    # When the steward types Bob's card as it is printed, not as the store keys it
    bob_card = {"source": "TRANSACTIONS", "key": typed}
    _data(gql(client, LINK, a=bob_card, b=DEVICE, dry=False))
    # Then it is Bob's card record: Bob's member holds the device
    world = _world(client)
    assert _has_device(world["bob"]) and not _has_device(world["ann"])


def test_a_typed_card_that_is_no_record_is_named_in_a_coded_error(client: TestClient) -> None:
    answer = gql(
        client,
        LINK,
        a={"source": "TRANSACTIONS", "key": "loyalty:ld-9999-0009"},
        b=DEVICE,
        dry=True,
    )
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert "transactions:loyalty:LD99990009" in error["message"]


@pytest.mark.parametrize(
    ("other", "says"),
    [
        pytest.param(
            # A guest purchase whose only identifier is a placeholder makes no record at all.
            {"source": "TRANSACTIONS", "key": "online:na@na.com"},
            "unknown record(s)",
            id="with-a-placeholder-purchase",
        ),
        pytest.param(DEVICE, "cannot be linked to itself", id="with-itself"),
    ],
)
def test_a_shared_device_is_never_given_to_nobody(
    client: TestClient, other: dict[str, str], says: str
) -> None:
    # When a steward links the device to a record that is in no member either
    before = _world(client)
    answer = gql(client, LINK, a=DEVICE, b=other, dry=False)
    # Then it is refused with a code and a reason, and nothing changed
    [error] = answer["errors"]
    assert error["extensions"]["code"] in ("NOT_FOUND", "BAD_USER_INPUT")
    assert says in error["message"]
    assert _world(client) == before

"""A steward's rejection is never lifted unsaid: a link of two other records of the two
members is refused ``WOULD_LIFT_REJECTION`` unless the steward says ``liftRejection``.

Two contacts of one name and birth date, each logged in on a web visitor of her own, rejected
as two people; then one contact's new version gives the other's e-mail, so only the
rejection keeps the rules from joining them as duplicates. A link of the two visitors would
lift it and let the rules join the contacts (a steward's "two people", dropped unsaid).
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
from tests.api.test_steward_guardrails import _data
from tests.conftest import gql

ANN = {
    "contact_id": "C-ANN",
    "first_name": "Ann",
    "last_name": "Lee",
    "emails": ["ann.lee@example.org"],
    "birth_date": "1980-01-01",
    "updated_at": "2026-01-01T00:00:00Z",
}
NAMESAKE = {**ANN, "contact_id": "C-ANN2", "emails": ["ann.l@example.net"]}
VISITS = [
    {
        "event_id": f"W-{contact}",
        "anonymous_id": f"anon-{contact}",
        "user_id": contact,
        "type": "page",
        "name": "Home",
        "occurred_at": "2026-11-02T10:00:00Z",
        "properties": {},
    }
    for contact in ("C-ANN", "C-ANN2")
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in (ANN, NAMESAKE)))
    (data / "web_analytics.jsonl").write_bytes(b"".join(orjson.dumps(v) + b"\n" for v in VISITS))
    settings = Settings(
        data=data, store=f"sqlite:///{tmp_path / 'id.db'}", cache_dir=tmp_path / "cache"
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as test_client:
        # Given the two rejected as two people, then the namesake's new e-mail (Ann's)
        _data(gql(test_client, REJECT))
        line = {**NAMESAKE, "emails": ANN["emails"], "updated_at": "2026-02-01T00:00:00Z"}
        assert test_client.post("/ingest/crm", json=[line]).status_code == 200
        assert _apart(test_client)
        yield test_client


REJECT = """mutation { rejectSuggestion(a: {source: CRM, key: "C-ANN"},
  b: {source: CRM, key: "C-ANN2"}, reason: "two people") { id } }"""
WORLD = """{
  a: memberByIdentifier(kind: CRM_ID, value: "C-ANN") { id records { source key } }
  b: memberByIdentifier(kind: CRM_ID, value: "C-ANN2") { id records { source key } }
  changes(first: 100) { edges { node { cursor } } } }"""
LINK = """mutation ($a: RecordRefInput!, $b: RecordRefInput!, $lift: Boolean!, $dry: Boolean!) {
  linkRecords(a: $a, b: $b, reason: "one person", liftRejection: $lift, dryRun: $dry) { id } }"""
HISTORY = """{ m: memberByIdentifier(kind: CRM_ID, value: "C-ANN") {
  identityHistory { id kind rule evidence } } }"""


def _world(client: TestClient) -> dict[str, Any]:
    return _data(gql(client, WORLD))  # type: ignore[no-any-return]


def _apart(client: TestClient) -> bool:
    world = _world(client)
    return bool(world["a"]["id"] != world["b"]["id"])


def _steward(client: TestClient, rule: str) -> dict[str, Any]:
    history = _data(gql(client, HISTORY))["m"]["identityHistory"]
    *_, event = [e for e in history if e["kind"] == "steward" and e["rule"] == rule]
    return event  # type: ignore[no-any-return]


def _link_visitors(client: TestClient, lift: bool = False, dry: bool = False) -> dict[str, Any]:
    """Link the two contacts' web visitors: records of the two members, not the contacts."""
    world = _world(client)
    a, b = (
        next(
            {"source": r["source"], "key": r["key"]}
            for r in world[side]["records"]
            if r["source"] == "WEB_ANALYTICS"
        )
        for side in ("a", "b")
    )
    return gql(client, LINK, a=a, b=b, lift=lift, dry=dry)


@pytest.mark.parametrize("dry", [pytest.param(False, id="real"), pytest.param(True, id="dry")])
def test_a_link_of_other_records_is_refused_naming_the_rejection(
    client: TestClient, dry: bool
) -> None:
    rejection = _steward(client, "reject")
    before = _world(client)
    # When a steward links their visitors without saying liftRejection
    [error] = _link_visitors(client, dry=dry)["errors"]
    # Then it is refused with a code naming both members, the contacts and the rejection
    assert error["extensions"]["code"] == "WOULD_LIFT_REJECTION"
    assert error["extensions"]["members"] == sorted([before["a"]["id"], before["b"]["id"]])
    assert error["extensions"]["records"] == ["crm:C-ANN", "crm:C-ANN2"]
    assert error["extensions"]["events"] == [rejection["id"]]
    assert f"event {rejection['id']}" in error["message"]
    # and nothing changed
    assert _world(client) == before


def test_lift_rejection_joins_them_and_its_undo_puts_the_rejection_back(
    client: TestClient,
) -> None:
    # When the steward links the visitors saying liftRejection
    _data(_link_visitors(client, lift=True))
    # Then the two are one member, and the link's event lists the lifted rejection
    assert not _apart(client)
    link = _steward(client, "link")
    assert [["crm", "C-ANN"], ["crm", "C-ANN2"]] in link["evidence"]["cannot_lifted"]
    # and undoing the link parts them, the rejection standing again
    _data(gql(client, f'mutation {{ undo(eventId: "{link["id"]}", reason: "no") {{ id }} }}'))
    assert _apart(client)
    [error] = _link_visitors(client)["errors"]
    assert error["extensions"]["code"] == "WOULD_LIFT_REJECTION"


def test_an_undone_rejection_no_longer_holds_a_link_back(client: TestClient) -> None:
    # Given the rejection undone
    rejection = _steward(client, "reject")
    _data(gql(client, f'mutation {{ undo(eventId: "{rejection["id"]}", reason: "no") {{ id }} }}'))
    # When the visitors are linked, Then the two are one member
    _data(_link_visitors(client))
    assert not _apart(client)


def test_a_link_of_the_two_rejected_contacts_lifts_it(client: TestClient) -> None:
    # When the steward links the two contacts themselves (named: nothing is lifted unsaid)
    link = """mutation { linkRecords(a: {source: CRM, key: "C-ANN"},
      b: {source: CRM, key: "C-ANN2"}, reason: "one person after all") { id } }"""
    _data(gql(client, link))
    # Then they are one member
    assert not _apart(client)

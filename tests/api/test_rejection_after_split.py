"""A steward's rejection of two contacts a split keeps apart already is a decision of its own,
as a rejection of two contacts kept apart by nothing is.

Ann and her namesake (``test_steward_rejection_api``), each logged in on a web visitor of her
own: a steward links the two contacts, then splits the namesake off, which keeps the two
apart by a cannot-link. Then a steward rejects the pair as two people. That rejection takes
the split's cannot-link over: it is a ``steward`` event (rule ``reject``) on both members'
histories, a later link of their visitors is refused ``WOULD_LIFT_REJECTION`` naming it, and
its undo takes back exactly the rejection, leaving the split's cannot-link as it was (the
split is undone after it, not before). A dry run answers as the act. On SQLite and on the
MongoDB adapter (emulated).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from tests.api.test_steward_guardrails import _data
from tests.api.test_steward_rejection_api import ANN, NAMESAKE, VISITS
from tests.conftest import gql
from tests.support.gateways import app_client

PAIR = '{source: CRM, key: "C-ANN"}, b: {source: CRM, key: "C-ANN2"}'
CHANGE = """id change { membersNow recordsJoining { source key } recordsLeaving { source key }
  pointsNow pointsAfter }"""
REJECT = f"""mutation ($dry: Boolean!) {{ rejectSuggestion(a: {PAIR}, reason: "two people",
  dryRun: $dry) {{ {CHANGE} }} }}"""
UNDO = f"""mutation ($e: ID!, $dry: Boolean!) {{ undo(eventId: $e, reason: "take it back",
  dryRun: $dry) {{ {CHANGE} }} }}"""
HISTORY = """query ($contact: String!) { m: memberByIdentifier(kind: CRM_ID, value: $contact) {
  id records { source key }
  identityHistory { id kind rule actor evidence undoable undoneBy records { source key } } } }"""
LINK = """mutation ($a: RecordRefInput!, $b: RecordRefInput!, $lift: Boolean!, $dry: Boolean!) {
  linkRecords(a: $a, b: $b, reason: "one person", liftRejection: $lift, dryRun: $dry) { id } }"""
TOLD = ("steward", "suggestion_rejected")
ANN_PAIR = [["crm", "C-ANN"], ["crm", "C-ANN2"]]


@pytest.fixture(params=["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in (ANN, NAMESAKE)))
    (data / "web_analytics.jsonl").write_bytes(b"".join(orjson.dumps(v) + b"\n" for v in VISITS))
    with app_client(request.param, data, tmp_path) as test_client:
        # Given the two contacts linked by a steward, then the namesake split off
        link = f'mutation {{ linkRecords(a: {PAIR}, reason: "same") {{ id }} }}'
        [member] = _data(gql(test_client, link))["linkRecords"]
        split = """mutation ($m: ID!) { splitMember(memberId: $m,
          records: [{source: CRM, key: "C-ANN2"}], reason: "two people") { id } }"""
        _data(gql(test_client, split, m=member["id"]))
        assert _member(test_client, "C-ANN")["id"] != _member(test_client, "C-ANN2")["id"]
        yield test_client


def _member(client: TestClient, contact: str) -> dict[str, Any]:
    return _data(gql(client, HISTORY, contact=contact))["m"]  # type: ignore[no-any-return]


def _told(client: TestClient, contact: str) -> list[dict[str, Any]]:
    history = _member(client, contact)["identityHistory"]
    return [e for e in history if e["kind"] in TOLD]


def _event(client: TestClient, rule: str) -> dict[str, Any]:
    *_, event = [e for e in _told(client, "C-ANN") if e["kind"] == "steward" and e["rule"] == rule]
    return event  # type: ignore[no-any-return]


def _world(client: TestClient) -> list[dict[str, Any]]:
    return [_member(client, contact) for contact in ("C-ANN", "C-ANN2")]


def _reject(client: TestClient) -> list[dict[str, Any]]:
    """The rejection, tried first: the dry run answers as the act, and writes nothing."""
    before = _world(client)
    tried = _data(gql(client, REJECT, dry=True))["rejectSuggestion"]
    assert _world(client) == before
    made = _data(gql(client, REJECT, dry=False))["rejectSuggestion"]
    assert made == tried
    return made  # type: ignore[no-any-return]


def _undo(client: TestClient, event: str, dry: bool = False) -> dict[str, Any]:
    return gql(client, UNDO, e=event, dry=dry)


def _link_visitors(client: TestClient, lift: bool = False, dry: bool = False) -> dict[str, Any]:
    """Link the two contacts' web visitors: records of the two members, not the contacts."""
    a, b = (
        next(
            {"source": r["source"], "key": r["key"]}
            for r in member["records"]
            if r["source"] == "WEB_ANALYTICS"
        )
        for member in _world(client)
    )
    return gql(client, LINK, a=a, b=b, lift=lift, dry=dry)


def test_the_rejection_is_a_steward_event_on_both_histories_undone_exactly(
    client: TestClient,
) -> None:
    ann_id, namesake_id = (m["id"] for m in _world(client))
    split = _event(client, "split")
    # When a steward rejects the pair the split keeps apart
    members = _reject(client)
    assert sorted(m["id"] for m in members) == sorted([ann_id, namesake_id])

    # Then both histories list its decision and its steward event, which takes the split's
    # cannot-link over (it adds none) and which undo takes
    told = _told(client, "C-ANN")
    assert _told(client, "C-ANN2") == told
    decision, rejection = told[-2:]
    assert decision["kind"] == "suggestion_rejected"
    assert rejection["kind"] == "steward" and rejection["rule"] == "reject"
    assert rejection["undoable"] is True
    assert rejection["evidence"]["cannot_taken"] == [ANN_PAIR]
    assert rejection["evidence"]["cannot_added"] == []
    # and sent again while it stands, it writes nothing
    again = _world(client)
    _data(gql(client, REJECT, dry=False))
    assert _world(client) == again

    # When the split is undone first: refused (dry run and act), the rejection rests on it
    for dry in (True, False):
        [error] = _undo(client, split["id"], dry)["errors"]
        assert error["extensions"]["code"] == "LATER_CHANGES_DEPEND"
        assert f"{rejection['id']} (reject)" in error["message"]
    assert _world(client) == again

    # When the rejection is undone (its dry run answers as the act)
    tried = _data(_undo(client, rejection["id"], dry=True))["undo"]
    assert _world(client) == again
    undone = _data(_undo(client, rejection["id"]))["undo"]
    assert undone == tried
    assert sorted(m["id"] for m in undone) == sorted([ann_id, namesake_id])
    # Then both histories show it undone by the same undo, the two still apart
    by_id = {e["id"]: e for e in _told(client, "C-ANN2")}
    assert _told(client, "C-ANN") == list(by_id.values())
    undo_id = by_id[rejection["id"]]["undoneBy"]
    assert undo_id is not None and by_id[undo_id]["rule"] == "undo"
    assert by_id[undo_id]["evidence"]["cannot_released"] == [ANN_PAIR]
    assert [m["id"] for m in _world(client)] == [ann_id, namesake_id]
    # and the split's cannot-link is as the split left it: the split's undo is exact, the
    # link it dropped back, the two one member again
    _data(_undo(client, split["id"]))
    ann, namesake = _world(client)
    assert ann["id"] == namesake["id"]


@pytest.mark.parametrize("dry", [pytest.param(False, id="real"), pytest.param(True, id="dry")])
def test_a_link_of_other_records_is_refused_naming_the_rejection(
    client: TestClient, dry: bool
) -> None:
    # Given the pair the split keeps apart rejected
    _reject(client)
    before = _world(client)
    # When a steward links their visitors without saying liftRejection
    [error] = _link_visitors(client, dry=dry)["errors"]
    # Then it is refused naming the rejection, and nothing changed
    assert error["extensions"]["code"] == "WOULD_LIFT_REJECTION"
    rejection = _event(client, "reject")
    assert error["extensions"]["records"] == ["crm:C-ANN", "crm:C-ANN2"]
    assert error["extensions"]["events"] == [rejection["id"]]
    assert _world(client) == before


def test_lift_rejection_joins_them_and_its_undo_puts_the_rejection_back(
    client: TestClient,
) -> None:
    _reject(client)
    # When the steward links the visitors saying liftRejection
    _data(_link_visitors(client, lift=True))
    # Then the two are one member, and the link's event lists the cannot-link it lifted
    ann, namesake = _world(client)
    assert ann["id"] == namesake["id"]
    link = _event(client, "link")
    assert ANN_PAIR in link["evidence"]["cannot_lifted"]
    # and undoing the link parts them, the rejection standing again
    _data(_undo(client, link["id"]))
    ann, namesake = _world(client)
    assert ann["id"] != namesake["id"]
    [error] = _link_visitors(client)["errors"]
    assert error["extensions"]["code"] == "WOULD_LIFT_REJECTION"


def test_an_undone_rejection_made_again_holds_the_link_back_again(client: TestClient) -> None:
    # Given the rejection undone, then that undo undone (the rejection made again)
    _reject(client)
    rejection = _event(client, "reject")
    _data(_undo(client, rejection["id"]))
    undo = _event(client, "undo")
    assert undo["evidence"]["cannot_released"] == [ANN_PAIR]
    _data(_undo(client, undo["id"]))
    redo = _event(client, "undo")
    assert redo["evidence"]["undoes"] == int(undo["id"])
    assert redo["evidence"]["cannot_taken"] == [ANN_PAIR]
    # When the visitors are linked, Then the rejection holds the link back again
    [error] = _link_visitors(client)["errors"]
    assert error["extensions"]["code"] == "WOULD_LIFT_REJECTION"
    assert error["extensions"]["events"] == [rejection["id"]]

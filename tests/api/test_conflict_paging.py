"""A steward pages the identity conflicts while deciding them: a cursor names the last
conflict read, so the next page reads on exactly whatever was decided between pages, and a
cursor given under another order or filter is refused, saying which. Embedded store and
emulated MongoDB alike."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from tests.support.gateways import app_client

PAGE = """query ($after: String, $order: ConflictOrder! = NEWEST, $filter: ConflictFilter) {
  identityConflicts(first: 2, after: $after, orderBy: $order, filter: $filter) {
    totalCount edges { node { id } } pageInfo { endCursor hasNextPage } } }"""
DISMISS = """mutation ($id: ID!) {
  resolveConflict(eventId: $id, decision: DISMISS, reason: "checked") { id } }"""


def _people(n: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Two people, and a call from the first one's phone on which the agent typed the
    second one's account: a conflict for the stewards' queue."""
    phone = f"+1 415 555 0{n}11"
    contacts = [
        {"contact_id": f"C-{n}a", "first_name": f"Cy{'y' * n}", "phones": [phone]},
        {"contact_id": f"C-{n}b", "first_name": f"Di{'i' * n}", "phones": [f"+1 415 555 0{n}22"]},
    ]
    call = {
        "interaction_id": f"I-{n}",
        "caller_phone": phone,
        "account_ref": {"kind": "crm_id", "value": f"C-{n}b"},
        "agent_id": "agent-9",
        "started_at": f"2026-11-0{n + 1}T10:00:00Z",
        "duration_s": 120,
        "reason": "billing",
        "sentiment": 0.0,
        "resolved": True,
    }
    return contacts, call


@pytest.fixture(params=["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def started(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    data = tmp_path / "data"
    data.mkdir()
    made = [_people(n) for n in range(5)]
    contacts = [orjson.dumps(c) + b"\n" for people, _ in made for c in people]
    (data / "crm.jsonl").write_bytes(b"".join(contacts))
    (data / "call_center.jsonl").write_bytes(b"".join(orjson.dumps(c) + b"\n" for _, c in made))
    with app_client(request.param, data, tmp_path) as client:
        yield client


def _ask(client: TestClient, **variables: Any) -> dict[str, Any]:
    return client.post("/graphql", json={"query": PAGE, "variables": variables}).json()  # type: ignore[no-any-return]


def _page(client: TestClient, **variables: Any) -> dict[str, Any]:
    answer = _ask(client, **variables)
    assert "errors" not in answer, answer
    return answer["data"]["identityConflicts"]  # type: ignore[no-any-return]


def _ids(page: dict[str, Any]) -> list[str]:
    return [e["node"]["id"] for e in page["edges"]]


def _whole(client: TestClient) -> list[str]:
    """The open queue read whole, one page after another."""
    page = _page(client)
    ids = _ids(page)
    while page["pageInfo"]["hasNextPage"]:
        page = _page(client, after=page["pageInfo"]["endCursor"])
        ids += _ids(page)
    return ids


@pytest.mark.parametrize(
    ("asked", "named"),
    [
        pytest.param({"order": "OLDEST"}, "orderBy: NEWEST, not OLDEST", id="other-order"),
        pytest.param({"filter": {"state": "ALL"}}, "another filter", id="other-state"),
        pytest.param({"filter": {"kind": "CALL_MISMATCH"}}, "another filter", id="other-kind"),
    ],
)
def test_a_steward_reads_on_after_a_decision_and_no_other_list_takes_her_cursor(
    started: TestClient, asked: dict[str, Any], named: str
) -> None:
    # Given the open queue, newest first, and its first page read by a steward
    queue = _whole(started)
    first = _page(started)
    cursor = first["pageInfo"]["endCursor"]
    assert len(queue) == 5 and _ids(first) == queue[:2]
    # When she dismisses the first conflict of the page and reads on
    answer = started.post("/graphql", json={"query": DISMISS, "variables": {"id": queue[0]}})
    assert "errors" not in answer.json(), answer.json()
    second = _page(started, after=cursor)
    # Then the next page is the queue's next conflicts, none skipped
    assert _ids(second) == queue[2:4] and second["totalCount"] == 4
    # and the same filter written out (the open queue) takes the cursor as well
    assert _ids(_page(started, after=cursor, filter={"state": "OPEN"})) == queue[2:4]
    # But when her cursor is passed under another order or filter, it is refused, saying which
    [error] = _ask(started, after=cursor, **asked)["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert named in error["message"], error["message"]

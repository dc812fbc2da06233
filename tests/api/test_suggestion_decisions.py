"""A steward's decision on a suggestion is never overridden unsaid by another's (user31b,
findings 2-4)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.api.test_suggestions_api import BOB, LIST, SOPHI, SOPHIE, client_of
from tests.conftest import gql

# Sophie entered twice with one e-mail: the rules make one member of C-1 and C-4, and C-4
# scores against C-2 as C-1 does.
SOPHIE_AGAIN = {**SOPHIE, "contact_id": "C-4"}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_of(tmp_path, SOPHIE, SOPHI, BOB, SOPHIE_AGAIN) as test_client:
        yield test_client


def _data(answer: dict[str, Any]) -> Any:
    assert "errors" not in answer, answer
    return answer["data"]


def _decide(client: TestClient, name: str, a: str = "C-1", b: str = "C-2", **more: Any) -> Any:
    said = "".join(f", {k}: {str(v).lower()}" for k, v in more.items())
    query = (
        f'mutation {{ {name}(a: {{source: CRM, key: "{a}"}}, b: {{source: CRM, key: "{b}"}}, '
        f'reason: "checked"{said}) {{ id records {{ key }} }} }}'
    )
    actor = "steward-tia" if name.startswith("reject") else "steward-sam"
    response = client.post(
        "/graphql", json={"query": query}, headers={"X-Membergraph-Actor": actor}
    )
    assert response.status_code == 200, response.text
    return response.json()


def _queue(client: TestClient) -> set[frozenset[str]]:
    edges = _data(gql(client, LIST))["matchSuggestions"]["edges"]
    return {frozenset((e["node"]["a"]["key"], e["node"]["b"]["key"])) for e in edges}


def test_an_accept_of_a_pair_rejected_since_is_refused_naming_the_rejection(
    client: TestClient,
) -> None:
    # Given Sam's page lists the pair, and Tia rejects it meanwhile
    assert frozenset(("C-1", "C-2")) in _queue(client)
    _data(_decide(client, "rejectSuggestion"))
    # When Sam accepts it, dry run or not, it is refused naming Tia's rejection
    for dry in (True, False):
        [error] = _decide(client, "acceptSuggestion", dryRun=dry)["errors"]
        assert error["extensions"]["code"] == "WOULD_LIFT_REJECTION"
        assert error["extensions"]["records"] == ["crm:C-1", "crm:C-2"]
        assert len(error["extensions"]["events"]) == 1
        assert "by steward-tia" in error["message"]
        assert "liftRejection: true" in error["message"]
    # and the two stay apart
    assert (
        len({m["id"] for m in _data(_decide(client, "rejectSuggestion"))["rejectSuggestion"]}) == 2
    )
    # Then with liftRejection: true it goes on, and its event lists the rejection lifted
    [member] = _data(_decide(client, "acceptSuggestion", liftRejection=True))["acceptSuggestion"]
    assert {"C-1", "C-2"} <= {r["key"] for r in member["records"]}


def test_a_rejected_pair_of_members_never_comes_back_through_another_contact(
    client: TestClient,
) -> None:
    # Given C-1 and C-4 are one member, suggested with C-2's
    before = _queue(client)
    assert frozenset(("C-1", "C-2")) in before or frozenset(("C-4", "C-2")) in before
    # When the steward rejects C-1 and C-2
    _data(_decide(client, "rejectSuggestion"))
    # Then no pair of those two members is listed, whichever contacts it names
    assert _queue(client) == set()


def test_accept_takes_move_and_says_which_argument_lifts_a_refusal(client: TestClient) -> None:
    # (acceptSuggestion had no `move`, yet its WOULD_MOVE_RECORDS said "pass move: true")
    answer = _decide(client, "acceptSuggestion", move=True, dryRun=True)
    assert len(_data(answer)["acceptSuggestion"]) == 1

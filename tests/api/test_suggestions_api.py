"""Match suggestions over GraphQL: listed with evidence, rejected for good, accepted as a link."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.conftest import gql

HOME = {"line1": "9 Birch Rd", "city": "Springfield", "postal_code": "62701", "country": "US"}
SOPHIE = {
    "contact_id": "C-1",
    "first_name": "Sophie",
    "last_name": "Martin",
    "emails": ["sophie.m@mail.org"],
    "birth_date": "1984-04-04",
    "address": HOME,
}
# Her second contact: a typo, no e-mail or card in common, so no rule merges them.
SOPHI = {**SOPHIE, "contact_id": "C-2", "first_name": "Sophi", "emails": ["sm84@mail.org"]}
# Someone else entirely.
BOB = {"contact_id": "C-3", "first_name": "Bob", "last_name": "Kim", "birth_date": "1970-01-01"}

LIST = """{ matchSuggestions(first: 10) { totalCount edges { cursor node {
  a { source key } b { source key } memberIds score
  evidence { field level weight a b } } } } }"""


@contextmanager
def client_of(tmp_path: Path, *contacts: dict[str, Any]) -> Iterator[TestClient]:
    """A gateway over a folder of these CRM ``contacts``, with no credentials."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in contacts))
    settings = Settings(
        data=data, store=f"sqlite:///{tmp_path / 'id.db'}", cache_dir=tmp_path / "cache"
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_of(tmp_path, SOPHIE, SOPHI, BOB) as test_client:
        yield test_client


def _data(answer: dict[str, Any]) -> Any:
    assert "errors" not in answer, answer
    return answer["data"]


def _mutate(client: TestClient, name: str, reason: str = "checked") -> dict[str, Any]:
    return gql(
        client,
        f'mutation {{ {name}(a: {{source: CRM, key: "C-1"}}, b: {{source: CRM, key: "C-2"}},'
        f' reason: "{reason}") {{ id records {{ key }} }} }}',
    )


def test_a_typo_duplicate_is_suggested_with_its_evidence(client: TestClient) -> None:
    listed = _data(gql(client, LIST))["matchSuggestions"]
    assert listed["totalCount"] == 1
    node = listed["edges"][0]["node"]
    assert {node["a"]["key"], node["b"]["key"]} == {"C-1", "C-2"}
    assert len(set(node["memberIds"])) == 2 and node["score"] >= 0.5
    levels = {e["field"]: e["level"] for e in node["evidence"]}
    # (each has an e-mail the other lacks: weighed against, not enough to hide a typo)
    assert levels == {
        "first_name": "close",
        "last_name": "exact",
        "birth_date": "exact",
        "address": "exact",
        "email": "differs",
    }


def test_a_rejected_suggestion_never_comes_back(client: TestClient) -> None:
    members = _data(_mutate(client, "rejectSuggestion"))["rejectSuggestion"]
    assert len(members) == 2, "two members, as they were"
    assert _data(gql(client, LIST))["matchSuggestions"]["totalCount"] == 0
    history = _data(
        gql(
            client,
            '{ member: memberByIdentifier(kind: CRM_ID, value: "C-1") { identityHistory { kind } } }',
        )
    )
    assert "suggestion_rejected" in {e["kind"] for e in history["member"]["identityHistory"]}


def test_a_rejection_is_undone_through_its_steward_event(client: TestClient) -> None:
    # Given a rejected suggestion
    _data(_mutate(client, "rejectSuggestion"))
    history = _data(
        gql(
            client,
            '{ m: memberByIdentifier(kind: CRM_ID, value: "C-1") { identityHistory { id kind '
            "rule undoable } } }",
        )
    )["m"]["identityHistory"]
    by_kind = {e["kind"]: e for e in history}
    # Then the decision says it is not undone itself, and its change says it is
    assert by_kind["suggestion_rejected"]["undoable"] is False
    assert (by_kind["steward"]["rule"], by_kind["steward"]["undoable"]) == ("reject", True)
    assert not any(e["undoable"] for e in history if e["kind"] not in {"steward", "merged"})
    # When undo is given the decision, it says which event to undo instead
    undo = 'mutation ($e: ID!) { undo(eventId: $e, reason: "wrong") { id } }'
    [error] = gql(client, undo, e=by_kind["suggestion_rejected"]["id"])["errors"]
    assert error["extensions"]["code"] == "NOT_UNDOABLE"
    assert "`steward` event (rule reject)" in error["message"]
    # and undoing that event brings the pair back to the queue
    _data(gql(client, undo, e=by_kind["steward"]["id"]))
    assert _data(gql(client, LIST))["matchSuggestions"]["totalCount"] == 1


def test_an_accepted_suggestion_is_a_steward_link(client: TestClient) -> None:
    dry = gql(
        client,
        'mutation { acceptSuggestion(a: {source: CRM, key: "C-1"}, b: {source: CRM, '
        'key: "C-2"}, reason: "same person", dryRun: true) { id records { key } } }',
    )
    assert len(_data(dry)["acceptSuggestion"]) == 1
    assert _data(gql(client, LIST))["matchSuggestions"]["totalCount"] == 1, "dry run: nothing"
    [member] = _data(_mutate(client, "acceptSuggestion"))["acceptSuggestion"]
    assert {r["key"] for r in member["records"]} == {"C-1", "C-2"}
    assert _data(gql(client, LIST))["matchSuggestions"]["totalCount"] == 0


@pytest.mark.parametrize(
    ("mutation", "code"),
    [
        pytest.param(
            'rejectSuggestion(a: {source: CRM, key: "C-1"}, b: {source: TRANSACTIONS, '
            'key: "x"}, reason: "r")',
            "BAD_USER_INPUT",
            id="not-two-contacts",
        ),
        pytest.param(
            'rejectSuggestion(a: {source: CRM, key: "C-1"}, b: {source: CRM, key: "C-9"}, '
            'reason: "r")',
            "NOT_FOUND",
            id="unknown-contact",
        ),
    ],
)
def test_bad_suggestion_decisions_are_refused_with_a_code(
    client: TestClient, mutation: str, code: str
) -> None:
    answer = gql(client, f"mutation {{ {mutation} {{ id }} }}")
    assert answer["errors"][0]["extensions"]["code"] == code


def test_a_rejection_of_one_member_is_refused(client: TestClient) -> None:
    _data(_mutate(client, "acceptSuggestion"))
    answer = _mutate(client, "rejectSuggestion")
    assert answer["errors"][0]["extensions"]["code"] == "ALREADY_MERGED"


def test_suggestions_are_scored_once_until_a_contact_changes(client: TestClient) -> None:
    # Given the store's reads of every record counted (what scoring the contacts needs)
    store = client.app.state.gateway.identity.store  # type: ignore[attr-defined]
    reads = []
    whole = store.load_records

    async def counted(refs: Any) -> Any:
        if refs is None:
            reads.append(1)
        return await whole(refs)

    store.load_records = counted
    # When stewards list the suggestions three times
    for _ in range(3):
        assert _data(gql(client, LIST))["matchSuggestions"]["totalCount"] == 1
    # Then the contacts were scored once
    assert len(reads) == 1
    # And a CRM line taken since is in the next answer: the change feed said so
    other = {**SOPHIE, "contact_id": "C-4", "first_name": "Sofie", "emails": ["sofie@x.org"]}
    assert client.post("/ingest/crm", json=[other]).status_code == 200
    listed = _data(gql(client, LIST))["matchSuggestions"]
    keys = {frozenset((e["node"]["a"]["key"], e["node"]["b"]["key"])) for e in listed["edges"]}
    assert any("C-4" in pair for pair in keys), keys
    assert len(reads) == 2


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param(
            '{ matchSuggestions(after: "zz") { totalCount } }',
            "`endCursor` of `matchSuggestions`",
            id="suggestions",
        ),
        pytest.param(
            '{ changes(after: "zz") { edges { cursor } } }',
            "`changes`' `endCursor`",
            id="change-feed",
        ),
    ],
)
def test_a_foreign_cursor_is_refused_saying_which_cursor_to_pass(
    client: TestClient, query: str, expected: str
) -> None:
    # Adversarial pass: matchSuggestions(after: "zz") said "not a feed cursor".
    [error] = gql(client, query)["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "'zz'" in error["message"] and expected in error["message"]
    assert "feed cursor" not in error["message"]


def test_a_suggestion_says_since_when_it_waits_so_a_queue_sorts_by_age(
    client: TestClient,
) -> None:
    # Given the loaded pair, waiting since the start
    before = datetime.now(UTC)
    # When another typo'd pair arrives later
    other = {**SOPHIE, "contact_id": "C-4", "first_name": "Marianne", "last_name": "Dupont",
             "emails": ["md@mail.org"], "birth_date": "1979-09-19"}  # fmt: skip
    typo = {**other, "contact_id": "C-5", "first_name": "Mariane", "emails": ["mdu@mail.org"]}
    assert client.post("/ingest/crm", json=[other, typo]).status_code == 200
    query = "{ matchSuggestions(first: 10) { edges { node { a { key } b { key } since } } } }"
    edges = _data(gql(client, query))["matchSuggestions"]["edges"]
    since = {
        frozenset((e["node"]["a"]["key"], e["node"]["b"]["key"])): datetime.fromisoformat(
            e["node"]["since"]
        )
        for e in edges
    }
    # Then each pair says since when it waits: the newer pair since its arrival
    assert since[frozenset(("C-1", "C-2"))] < before <= since[frozenset(("C-4", "C-5"))]


HISTORIES = """{ one: memberByIdentifier(kind: CRM_ID, value: "C-1") { identityHistory { id kind } }
  two: memberByIdentifier(kind: CRM_ID, value: "C-2") { identityHistory { id kind } }
  changes(first: 100) { edges { node { cursor } } } }"""


def test_a_rejection_sent_again_answers_the_members_and_writes_nothing(
    client: TestClient,
) -> None:
    # Given a rejected suggestion (the steward's client timed out before the answer)
    first = _data(_mutate(client, "rejectSuggestion"))["rejectSuggestion"]
    written = _data(gql(client, HISTORIES))

    # When the client sends it again
    again = _data(_mutate(client, "rejectSuggestion"))["rejectSuggestion"]

    # Then it answers the same members, and no event or change is written: the pair is
    # rejected once, by one decision
    assert again == first
    assert _data(gql(client, HISTORIES)) == written

    # and once that rejection is undone, a rejection is a new decision again
    history = _data(gql(client, HISTORIES))["one"]["identityHistory"]
    [change] = [e["id"] for e in history if e["kind"] == "steward"]
    undo = 'mutation ($e: ID!) { undo(eventId: $e, reason: "wrong") { id } }'
    _data(gql(client, undo, e=change))
    _data(_mutate(client, "rejectSuggestion"))
    assert _data(gql(client, LIST))["matchSuggestions"]["totalCount"] == 0
    kinds = [e["kind"] for e in _data(gql(client, HISTORIES))["one"]["identityHistory"]]
    assert kinds.count("suggestion_rejected") == 2


def test_each_min_score_filters_the_pairs_scored_once(client: TestClient) -> None:
    # Given the store's reads of every record counted (what scoring the contacts needs)
    store = client.app.state.gateway.identity.store  # type: ignore[attr-defined]
    reads = []
    whole = store.load_records

    async def counted(refs: Any) -> Any:
        if refs is None:
            reads.append(1)
        return await whole(refs)

    store.load_records = counted
    query = "query ($m: Float) { matchSuggestions(minScore: $m) { totalCount } }"
    # When a steward asks with one least score after another
    totals = [
        _data(gql(client, query, m=m))["matchSuggestions"]["totalCount"]
        for m in (None, 1.0, 0.0, 0.5, None)
    ]
    # Then the contacts were scored once, and each answer filtered them
    assert len(reads) == 1
    assert totals[0] == totals[-1] >= 1 and totals[1] <= totals[0] <= totals[2]

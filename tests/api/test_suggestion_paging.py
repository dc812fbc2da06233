"""A steward pages the match suggestions while deciding them: a cursor names the last pair
read, so the next page reads on exactly, whatever was accepted, rejected or added between
pages; a cursor of another order or least score is refused. Embedded store and emulated
MongoDB alike."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.identity.rules import Rules
from tests.support.gateways import app_client

LEAST = Rules().suggestions.min_score  # the rules' least score: the default list's
PEOPLE = [
    ("Sophie", "Martin", "1984-04-04", "9 Birch Rd"),
    ("Marianne", "Dupont", "1979-09-19", "4 Elm St"),
    ("Oliver", "Grant", "1966-06-16", "12 Oak Ave"),
    ("Priya", "Raman", "1991-01-21", "7 Pine Ct"),
    ("Tomas", "Novak", "1972-12-02", "33 Lake Dr"),
    ("Ingrid", "Larsen", "1988-08-08", "5 Moss Ln"),
]
PAGE = """query ($after: String, $order: SuggestionOrder! = BEST, $min: Float) {
  matchSuggestions(first: 2, after: $after, orderBy: $order, minScore: $min) {
    totalCount edges { cursor node { a { key } b { key } } }
    pageInfo { endCursor hasNextPage hasPreviousPage } } }"""
Pair = tuple[str, str]


def _pair_of(n: int) -> list[dict[str, object]]:
    """One person's two contacts, a typo apart: a suggestion, never a rule's merge."""
    first, last, birth, line1 = PEOPLE[n]
    home = {"line1": line1, "city": "Springfield", "postal_code": "62701", "country": "US"}
    base = {"first_name": first, "last_name": last, "birth_date": birth, "address": home}
    return [
        {**base, "contact_id": f"C-{n}a", "emails": [f"p{n}a@mail.org"]},
        {**base, "contact_id": f"C-{n}b", "first_name": first[:-1], "emails": [f"p{n}b@mail.org"]},
    ]


Start = Callable[[], contextlib.AbstractContextManager[TestClient]]


@pytest.fixture(params=["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
def started(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[TestClient]:
    data = tmp_path / "data"
    data.mkdir()
    lines = [orjson.dumps(c) + b"\n" for n in range(5) for c in _pair_of(n)]
    (data / "crm.jsonl").write_bytes(b"".join(lines))
    with app_client(request.param, data, tmp_path) as client:
        yield client


def _page(client: TestClient, **variables: Any) -> dict[str, Any]:
    answer = client.post("/graphql", json={"query": PAGE, "variables": variables}).json()
    assert "errors" not in answer, answer
    return answer["data"]["matchSuggestions"]  # type: ignore[no-any-return]


def _pairs(page: dict[str, Any]) -> list[Pair]:
    return [(e["node"]["a"]["key"], e["node"]["b"]["key"]) for e in page["edges"]]


def _whole(client: TestClient, **variables: Any) -> list[Pair]:
    """The queue read whole, one page after another."""
    pairs: list[Pair] = []
    page = _page(client, **variables)
    pairs += _pairs(page)
    while page["pageInfo"]["hasNextPage"]:
        page = _page(client, after=page["pageInfo"]["endCursor"], **variables)
        pairs += _pairs(page)
    return pairs


def _decide(client: TestClient, mutation: str, pair: Pair) -> None:
    a, b = pair
    query = (
        f'mutation {{ {mutation}(a: {{source: CRM, key: "{a}"}}, b: {{source: CRM, key: "{b}"}},'
        ' reason: "checked") { id } }'
    )
    answer = client.post("/graphql", json={"query": query}).json()
    assert "errors" not in answer, answer


@pytest.mark.parametrize("order", ["BEST", "WORST", "OLDEST", "NEWEST"])
def test_decisions_on_a_page_never_hide_the_next_pages_pairs(
    started: TestClient, order: str
) -> None:
    # Given the whole queue, and its first page read by a steward
    queue = _whole(started, order=order)
    assert len(queue) == 5 and len(set(queue)) == 5
    first = _page(started, order=order)
    assert _pairs(first) == queue[:2]
    # When she rejects one pair of the page and accepts the other, then reads on
    _decide(started, "rejectSuggestion", queue[0])
    _decide(started, "acceptSuggestion", queue[1])
    second = _page(started, order=order, after=first["pageInfo"]["endCursor"])
    # Then the next page is the queue's next two pairs, none skipped, and the rest follows
    assert _pairs(second) == queue[2:4]
    assert second["totalCount"] == 3
    third = _page(started, order=order, after=second["pageInfo"]["endCursor"])
    assert _pairs(third) == queue[4:] and not third["pageInfo"]["hasNextPage"]


def test_a_pair_arriving_between_pages_is_read_once_and_pushes_none_out(
    started: TestClient,
) -> None:
    # Given the first page of the queue, newest first (where a new pair lands)
    first = _page(started, order="NEWEST")
    seen = _pairs(first)
    # When a new person's two contacts arrive, then the steward reads on to the end
    assert started.post("/ingest/crm", json=_pair_of(5)).status_code == 200
    after, rest = first["pageInfo"]["endCursor"], []
    while after is not None:
        page = _page(started, after=after, order="NEWEST")
        rest += _pairs(page)
        after = page["pageInfo"]["endCursor"] if page["pageInfo"]["hasNextPage"] else None
    # Then every pair listed before is read exactly once, and none twice
    read = seen + rest
    assert len(read) == len(set(read))
    assert set(_whole(started)) - {("C-5a", "C-5b")} <= set(read)
    assert ("C-5a", "C-5b") not in read  # it came ahead of the place read to


@pytest.mark.parametrize(
    ("asked", "named"),
    [
        pytest.param({"order": "WORST"}, "orderBy: BEST, not WORST", id="other-order"),
        pytest.param({"min": 0.05}, f"minScore {LEAST:g}, not 0.05", id="other-min-score"),
    ],
)
def test_a_cursor_of_another_order_or_least_score_is_refused_saying_why(
    started: TestClient, asked: dict[str, Any], named: str
) -> None:
    # Given a cursor read best first at the rules' least score
    cursor = _page(started)["pageInfo"]["endCursor"]
    # When it is passed with another order or least score
    answer = started.post(
        "/graphql", json={"query": PAGE, "variables": {"after": cursor, **asked}}
    ).json()
    # Then it is refused, naming the list it belongs to
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert named in error["message"], error["message"]


def test_a_place_in_the_list_is_no_cursor(started: TestClient) -> None:
    # Given the digits an earlier release gave as a cursor (a place in the list)
    answer = started.post("/graphql", json={"query": PAGE, "variables": {"after": "1"}}).json()
    # Then they are refused, saying what to pass back
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "`endCursor` of `matchSuggestions`" in error["message"]

"""Query cost: a request that would resolve too much is refused before anything runs, with
its cost and the budget; one under it runs and says what it cost."""

from __future__ import annotations

import logging

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings

GRAPHQL_RESPONSE = "application/graphql-response+json"
HEAVY = (
    "m{i}: members(first: 100) {{ edges {{ node {{ id "
    "transactions(first: 100) {{ edges {{ node {{ amountCents }} }} }} "
    "activity(first: 100) {{ edges {{ node {{ at }} }} }} }} }} }}"
)
PAGE = "query Page($n: Int!) { members(first: $n) { edges { node { id profile { firstName } } } } }"


def _calls(client: TestClient) -> int:
    return sum(conn.calls for conn in client.app.state.gateway.sources.values())  # type: ignore[attr-defined]


def test_thirty_heavy_aliases_are_refused_before_any_source_is_read(client: TestClient) -> None:
    query = "{" + " ".join(HEAVY.format(i=i) for i in range(30)) + "}"
    before = _calls(client)
    response = client.post("/graphql", json={"query": query}, headers={"accept": GRAPHQL_RESPONSE})
    assert response.status_code == 400
    body = response.json()
    assert "data" not in body
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["budget"] == 50_000
    assert error["extensions"]["cost"] > 1_000_000
    assert f"{error['extensions']['cost']:,}" in error["message"]
    assert _calls(client) == before


def test_the_log_line_of_a_refused_query_keeps_its_figures(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    # The log masks what may be a phone number; a cost of seven digits is none
    query = "{" + " ".join(HEAVY.format(i=i) for i in range(30)) + "}"
    with caplog.at_level(logging.INFO):
        error = client.post("/graphql", json={"query": query}).json()["errors"][0]
    said = [r.getMessage() for r in caplog.records if "QUERY_TOO_COSTLY" in r.getMessage()]
    assert said, "the refusal is logged"
    assert f"{error['extensions']['cost']:,}" in said[0]
    assert "50,000" in said[0]
    assert "***" not in said[0]


def test_a_query_under_the_budget_runs_and_reports_its_cost(client: TestClient) -> None:
    small = client.post("/graphql", json={"query": PAGE, "variables": {"n": 2}}).json()
    large = client.post("/graphql", json={"query": PAGE, "variables": {"n": 50}}).json()
    assert len(small["data"]["members"]["edges"]) == 2
    assert small["extensions"]["cost"]["budget"] == 50_000
    # The page size comes from the variable: 25 times the items, 25 times the cost.
    assert large["extensions"]["cost"]["requested"] == 25 * small["extensions"]["cost"]["requested"]


def test_the_budget_is_a_setting(settings: Settings) -> None:
    tight = settings.model_copy(update={"max_query_cost": 100})
    with TestClient(create_app(tight), base_url="http://127.0.0.1") as client:
        ok = client.post("/graphql", json={"query": PAGE, "variables": {"n": 10}}).json()
        assert ok["data"]["members"]["edges"]
        refused = client.post("/graphql", json={"query": PAGE, "variables": {"n": 100}}).json()
        assert refused["data"] is None
        assert refused["errors"][0]["extensions"] == {
            "code": "QUERY_TOO_COSTLY",
            "cost": refused["errors"][0]["extensions"]["cost"],
            "budget": 100,
        }


def _fragment_bomb(levels: int) -> str:
    """800 bytes at 19 levels that stand for 2^levels fields once the spreads are expanded."""
    spreads = " ".join(
        f"fragment F{i} on Query {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"query {{ ...F0 }} {spreads} fragment F{levels} on Query {{ viewer {{ __typename }} }}"


def test_fragments_that_expand_past_the_limit_are_refused_before_validation(
    client: TestClient,
) -> None:
    # Each level doubles what the depth, alias and cost rules walk: 19 levels held the
    # event loop for 5 s, /healthz included. Counted once per fragment, it costs nothing.
    response = client.post("/graphql", json={"query": _fragment_bomb(16)})
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_LARGE", "fields": 2**17, "limit": 10_000}
    assert "fragments" in error["message"]
    # 40 levels (2^41 fields) is refused the same way: the count is linear in the document.
    deep = client.post("/graphql", json={"query": _fragment_bomb(40)}).json()
    assert deep["errors"][0]["extensions"]["fields"] == 2**41


def test_a_fragment_spread_by_many_aliases_is_served(client: TestClient) -> None:
    aliases = " ".join(f"m{i}: members(first: 1) {{ ...Row }}" for i in range(30))
    query = f"{{ {aliases} }} fragment Row on MemberConnection {{ edges {{ node {{ id }} }} }}"
    answer = client.post("/graphql", json={"query": query}).json()
    assert "errors" not in answer, answer
    assert len(answer["data"]) == 30


def test_spreads_of_unknown_or_cyclic_fragments_are_named_by_validation(
    client: TestClient,
) -> None:
    cyclic = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }"
    unknown = "query { ...Nowhere }"
    for query in (cyclic, unknown):
        (error,) = client.post("/graphql", json={"query": query}).json()["errors"]
        assert error["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


LISTS = '{ member(id: "m_aaaaaaaaaaaaaaaa") { %s { edges { node { at } } } } }'


@pytest.mark.parametrize(
    ("asked", "alike"),
    [
        pytest.param("activity(last: 100)", "activity(first: 100)", id="last-as-first"),
        pytest.param("activity", "activity(first: 20)", id="activity-default-page"),
        pytest.param(
            "transactions { edges { node { amountCents } } }",
            "transactions(first: 10) { edges { node { amountCents } } }",
            id="transactions-default-page",
        ),
    ],
)
def test_a_page_read_backward_or_by_default_costs_its_items(
    client: TestClient, asked: str, alike: str
) -> None:
    # user32's fix: `transactions` and `activity` take `last` (so `first` has no default in
    # the schema): a page read backward, or the default page, costs what its items do.
    def cost(field: str) -> int:
        if "{" not in field:
            field += " { edges { node { at } } }"
        query = LISTS.replace("%s { edges { node { at } } }", field)
        return int(
            client.post("/graphql", json={"query": query}).json()["extensions"]["cost"]["requested"]
        )

    assert cost(asked) == cost(alike)
    # The member costs 1, its page 3 an item (edge, node, the item's facts).
    assert cost("activity(last: 100)") - 1 == 5 * (cost("activity(last: 20)") - 1)

"""The analyst's ``members`` list, read page after page as a client reads it."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient

from tests.conftest import gql

RANKED = """query ($filter: MemberFilter, $order: MemberOrder, $after: String) {
  members(first: 37, after: $after, filter: $filter, orderBy: $order) {
    totalCount pageInfo { hasNextPage endCursor } edges { node { id } } } }"""


def ranked(client: TestClient, **variables: Any) -> tuple[list[str], int]:
    """Every member ``members`` lists for the filter and order, page after page, and the
    total it said."""
    seen: list[str] = []
    after = None
    while True:
        answer = gql(client, RANKED, after=after, **variables)
        assert "errors" not in answer, answer
        page = answer["data"]["members"]  # type: ignore[index]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            return seen, page["totalCount"]
        after = page["pageInfo"]["endCursor"]

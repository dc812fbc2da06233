"""The README's queries answer data on the demo: the first query a new user copies finds a
member (the demo always holds Jane Doe, `membergraph/demo/showcase.py`). The README is read
with the pages of docs/ after it (`tests/support/docs.py`): its first query is the README's."""

from __future__ import annotations

import re

from starlette.testclient import TestClient

from tests.conftest import gql
from tests.support import docs

README = docs.text()


def _queries() -> list[str]:
    blocks = re.findall(r"```graphql\n(.*?)```", README, flags=re.S)
    return [b for b in blocks if not b.lstrip().startswith(("mutation", "subscription"))]


def test_the_readme_example_finds_jane_doe_with_her_facts(client: TestClient) -> None:
    example = _queries()[0]
    answer = gql(client, example)
    assert "errors" not in answer, answer
    member = answer["data"]["memberByIdentifier"]  # type: ignore[index]
    assert member["profile"]["firstName"] == "Jane"
    assert member["transactions"]["totalCount"] == 3
    assert member["loyalty"]["pointsBalance"] > 0
    assert {r["source"] for r in member["records"]} == {
        "CRM",
        "TRANSACTIONS",
        "WEB_ANALYTICS",
        "CALL_CENTER",
    }


def test_every_readme_query_answers_data_on_the_demo(client: TestClient) -> None:
    # Each field a README query asks answers something on the demo: a new user who copies
    # an analyst's query sees what it gives, not an empty list
    for query in _queries():
        answer = gql(client, query)
        assert "errors" not in answer, (query, answer)
        empty = [name for name, value in answer["data"].items() if not _holds(value)]  # type: ignore[union-attr]
        assert empty == [], (query, answer)


def _holds(value: object) -> bool:
    """Whether a field's answer holds data: a connection members or conflicts, a list rows."""
    if isinstance(value, dict) and "totalCount" in value:
        return bool(value["totalCount"]) and bool(value.get("edges", [None]))
    return bool(value)


def _lookups() -> list[tuple[str, str, str]]:
    """The README's lookups in prose: ``PHONE "(415) 555-0199"` finds `+14155550199``."""
    found = re.findall(r'`([A-Z_]+) "([^"`]+)"` finds `([^`]+)`', README)
    return [(kind, value, normalized) for kind, value, normalized in found]


def test_the_readme_lookups_find_jane_by_each_spelling(client: TestClient) -> None:
    # Adversarial pass: `PHONE "(415) 555-0134"` and `LOYALTY_ID "ld-4242-4242"` answered
    # null on the demo, whose Jane Doe has other values (membergraph/demo/showcase.py).
    lookups = _lookups()
    assert {kind for kind, _, _ in lookups} >= {"PHONE", "LOYALTY_ID"}
    for kind, value, normalized in lookups:
        answer = gql(
            client,
            "query ($k: IdentifierKind!, $v: String!) { memberByIdentifier(kind: $k, value: $v)"
            " { profile { firstName lastName } identifiers { kind value } } }",
            k=kind,
            v=value,
        )
        member = answer["data"]["memberByIdentifier"]  # type: ignore[index]
        assert member is not None, (kind, value)
        assert member["profile"] == {"firstName": "Jane", "lastName": "Doe"}
        assert {"kind": kind, "value": normalized} in member["identifiers"]


def test_the_readme_suppression_example_is_taken(client: TestClient) -> None:
    # Adversarial pass (adv6): the README's example suppressed ann@example.com, a reserved
    # domain the identity rules' blocklist names: refused as a placeholder "typed for many
    # people" (it was neither typed nor anyone's).
    examples = re.findall(r"`(mutation \{ suppress\(kind: \w+, value: \"[^\"]+\"\) \})`", README)
    assert examples
    for example in examples:
        answer = gql(client, example)
        assert answer.get("errors") is None, (example, answer)
        assert answer["data"]["suppress"] is True  # type: ignore[index]


def test_a_blocklisted_value_is_refused_saying_the_blocklist_names_it(
    client: TestClient,
) -> None:
    answer = gql(client, 'mutation { suppress(kind: EMAIL, value: "ann@example.com") }')
    [error] = answer["errors"]  # type: ignore[misc]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "blocklist" in error["message"] and "typed for many people" not in error["message"]

"""One failing root field answers null with its error; the rest of the answer comes back.

Every root field that can fail (a refusal, a bad argument, a store or a source failing) is
nullable, so an error in one nulls that field, not ``data``: a mutation's saved change is
still answered, a lookup beside a bad page still reads its member.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.demo.showcase import EMAIL
from membergraph.settings import Settings
from tests.conftest import read_jsonl

SPEC = {"accept": "application/graphql-response+json"}
LOOKUP = f'jane: memberByIdentifier(kind: EMAIL, value: "{EMAIL}") {{ id }}'


def _post(client: TestClient, query: str, **headers: str) -> dict[str, object]:
    response = client.post("/graphql", json={"query": query}, headers={**SPEC, **headers})
    # Some data came back: 200 under GraphQL over HTTP, whatever the errors beside it.
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _only_error(answer: dict[str, object], path: str, code: str) -> None:
    errors = answer["errors"]
    assert isinstance(errors, list) and len(errors) == 1, answer
    assert errors[0]["path"] == [path] and errors[0]["extensions"]["code"] == code, answer


def test_a_failing_mutation_leaves_the_saved_ones_answered(
    client: TestClient, data_dir: Path
) -> None:
    # Given two CRM contacts of two members
    members: dict[str, str] = {}
    for contact in read_jsonl(data_dir / "crm.jsonl"):
        key = str(contact["contact_id"])
        found = _post(client, f'{{ m: memberByIdentifier(kind: CRM_ID, value: "{key}") {{ id }} }}')
        member = found["data"]["m"]["id"]  # type: ignore[index]
        if member not in members.values():
            members[key] = member
        if len(members) == 2:
            break
    first, second = members
    # When one document links them and then undoes an event id that is none
    answer = _post(
        client,
        f'mutation {{ a: linkRecords(a: {{source: CRM, key: "{first}"}}, '
        f'b: {{source: CRM, key: "{second}"}}, reason: "two in one") {{ id records {{ key }} }} '
        'b: undo(eventId: "abc", reason: "typo") { id } }',
    )
    # Then the link is answered, the undo alone is null with its error
    data = answer["data"]
    assert isinstance(data, dict) and data["b"] is None, answer
    (linked,) = data["a"]
    assert {first, second} <= {r["key"] for r in linked["records"]}
    _only_error(answer, "b", "BAD_USER_INPUT")


def test_a_bad_cursor_leaves_the_lookup_beside_it_answered(client: TestClient) -> None:
    answer = _post(client, f'{{ {LOOKUP} members(first: 2, after: "garbage") {{ totalCount }} }}')
    data = answer["data"]
    assert isinstance(data, dict) and data["members"] is None, answer
    assert str(data["jane"]["id"]).startswith("m_")
    _only_error(answer, "members", "BAD_USER_INPUT")


@pytest.fixture
def personalization(settings: Settings) -> Iterator[TestClient]:
    keys = {"pers-key-0123456789abcdefgh": {"name": "perso", "scopes": ["profile:read"]}}
    keyed = settings.model_copy(update={"api_keys": Settings(api_keys=keys).api_keys})
    with TestClient(create_app(keyed), base_url="http://127.0.0.1") as test_client:
        yield test_client


def test_a_field_out_of_scope_leaves_the_fields_in_scope_answered(
    personalization: TestClient,
) -> None:
    # Given a profile:read key asking its lookup and segmentCounts (analytics:read)
    answer = _post(
        personalization,
        f"{{ {LOOKUP} segmentCounts {{ segment members }} }}",
        authorization="Bearer pers-key-0123456789abcdefgh",
    )
    # Then the lookup is answered and segmentCounts alone is refused
    data = answer["data"]
    assert isinstance(data, dict) and data["segmentCounts"] is None, answer
    assert str(data["jane"]["id"]).startswith("m_")
    _only_error(answer, "segmentCounts", "FORBIDDEN")

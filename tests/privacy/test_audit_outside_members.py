"""Personal data shown outside a member (a match suggestion's evidence, an identity
conflict's evidence) is audited against the members it concerns, as a member's fields are."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import ApiKey, Settings
from tests.api.test_suggestions_api import BOB, SOPHI, SOPHIE

KEYS = {
    "steward-pii-key-0000001": ["profile:read", "analytics:read", "identity:write", "pii:read"],
    "steward-key-00000000001": ["profile:read", "analytics:read", "identity:write"],
    "dpo-key-000000000000001": ["profile:read", "privacy:admin"],
}
AUDIT = """query($id: ID!) { piiAccessLog(memberId: $id) { actor fields requestId } }"""
SUGGESTIONS = """{ matchSuggestions { edges { node { memberIds evidence { field a b } } } } }"""
CONFLICTS = """query($m: ID!) { identityConflicts(filter: {memberId: $m}) {
  edges { node { evidence records { key } } } } }"""


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[TestClient]:
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_bytes(
        b"".join(orjson.dumps(c) + b"\n" for c in (SOPHIE, SOPHI, BOB))
    )
    # A shared device: one visitor logged in as two contacts, a conflict the rules leave
    # for its events that name no one (a page view), weighed with every person the device
    # names (one event gave Sophie's e-mail: a sign-up form).
    events = [
        {
            "event_id": f"E-{n}",
            "anonymous_id": "anon-shared",
            "user_id": contact,
            "type": "identify",
            "email": email,
            "occurred_at": f"2026-10-0{n}T00:00:00Z",
        }
        for n, (contact, email) in enumerate(
            [
                ("C-1", "sophie.m@mail.org"),
                ("C-3", "bob@kim.org"),
                (None, "sophie.m@mail.org"),
                (None, None),
            ],
            1,
        )
    ]
    (data / "web_analytics.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    settings = Settings(
        data=data,
        store=f"sqlite:///{tmp_path / 'id.db'}",
        cache_dir=tmp_path / "cache",
        api_keys={k: ApiKey(name=k[:11], scopes=s) for k, s in KEYS.items()},
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


def _as(client: TestClient, key: str, query: str, request: str = "r", **variables: Any) -> Any:
    answer = client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"x-api-key": key, "x-request-id": request},
    ).json()
    assert "errors" not in answer, answer
    return answer["data"]


def _log(client: TestClient, member: str) -> list[dict[str, Any]]:
    return _as(client, "dpo-key-000000000000001", AUDIT, id=member)["piiAccessLog"]  # type: ignore[no-any-return]


def test_suggestion_evidence_read_unmasked_is_audited_for_both_members(keyed: TestClient) -> None:
    # When a steward without pii:read, then one with it, lists the suggestions
    masked = _as(keyed, "steward-key-00000000001", SUGGESTIONS, "masked")
    [edge] = masked["matchSuggestions"]["edges"]
    members = edge["node"]["memberIds"]
    assert {e["a"] for e in edge["node"]["evidence"]} == {"***"}
    _as(keyed, "steward-pii-key-0000001", SUGGESTIONS, "unmasked")
    # Then each of the two members has one entry: the unmasked read, with the fields read
    for member in members:
        [entry] = _log(keyed, member)
        assert entry["requestId"] == "unmasked" and entry["actor"] == "steward-pii"
        assert set(entry["fields"]) == {"evidence.a", "evidence.b"}


def test_conflict_evidence_read_unmasked_is_audited_for_its_member(keyed: TestClient) -> None:
    sophie = _as(
        keyed,
        "steward-key-00000000001",
        '{ memberByIdentifier(kind: CRM_ID, value: "C-1") { id } }',
    )["memberByIdentifier"]["id"]
    masked = _as(keyed, "steward-key-00000000001", CONFLICTS, "masked", m=sophie)
    assert masked["identityConflicts"]["edges"], "the shared device is a conflict"
    assert "sophie.m@" not in str(masked)
    unmasked = _as(keyed, "steward-pii-key-0000001", CONFLICTS, "unmasked", m=sophie)
    assert "sophie.m@mail.org" in str(unmasked)
    entries = [e for e in _log(keyed, sophie) if e["requestId"] == "unmasked"]
    assert len(entries) == 1 and "evidence" in entries[0]["fields"]
    assert not [e for e in _log(keyed, sophie) if e["requestId"] == "masked"]

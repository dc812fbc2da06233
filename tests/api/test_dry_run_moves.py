"""A steward's dry run says what would move (``Member.change``), the change made says what
moved, the same, and the access log says whose personal data either showed.

The world of ``test_steward_guardrails``: Ann (150 points on her card) and Bob (7 on his),
each with a contact and a card.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import ApiKey, Settings
from tests.api.test_steward_guardrails import _data, _two_customers, two_customers
from tests.conftest import gql
from tests.privacy.test_audit_outside_members import _as


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    yield from two_customers(tmp_path)


CHANGE = """change { membersNow recordsJoining { source key } recordsLeaving { source key }
  pointsNow pointsAfter }"""
AS_IS = """query ($id: ID!) { member(id: $id) { id redirectedFrom records { source key }
  loyalty { pointsBalance } } }"""
ANN, BOB = '{source: CRM, key: "C-ANN"}', '{source: CRM, key: "C-BOB"}'
ANN_CARD = '{source: TRANSACTIONS, key: "loyalty:LD11110001"}'


def _member_of(client: TestClient, contact: str) -> str:
    query = f'{{ m: memberByIdentifier(kind: CRM_ID, value: "{contact}") {{ id }} }}'
    return str(_data(gql(client, query))["m"]["id"])


def _merge(client: TestClient) -> None:
    _data(gql(client, f'mutation {{ linkRecords(a: {ANN}, b: {BOB}, reason: "one") {{ id }} }}'))


def _link(client: TestClient) -> str:
    return f'linkRecords(a: {ANN}, b: {BOB}, reason: "same person"'


def _move(client: TestClient) -> str:
    return f'linkRecords(a: {ANN_CARD}, b: {BOB}, reason: "his card", move: true'


def _accept(client: TestClient) -> str:
    return f'acceptSuggestion(a: {ANN}, b: {BOB}, reason: "same person"'


def _split(client: TestClient) -> str:
    _merge(client)
    merged = _member_of(client, "C-ANN")
    return f'splitMember(memberId: "{merged}", records: [{BOB}], reason: "two people"'


def _reject(client: TestClient) -> str:
    return f'rejectSuggestion(a: {ANN}, b: {BOB}, reason: "two people"'


def _undo(client: TestClient) -> str:
    _merge(client)
    query = (
        '{ m: memberByIdentifier(kind: CRM_ID, value: "C-ANN") { identityHistory { id kind } } }'
    )
    history = _data(gql(client, query))["m"]["identityHistory"]
    [event] = [e["id"] for e in history if e["kind"] == "steward"]
    return f'undo(eventId: "{event}", reason: "wrong"'


def _as_is(client: TestClient, member_id: str) -> dict[str, Any] | None:
    """The member holding ``member_id`` now: None when none does (new, or merged away)."""
    found = _data(gql(client, AS_IS, id=member_id))["member"]
    return None if found is None or found["redirectedFrom"] else found


def _refs(member: dict[str, Any] | None) -> list[tuple[str, str]]:
    return sorted((r["source"], r["key"]) for r in (member or {}).get("records", []))


@pytest.mark.parametrize(
    ("field", "given"),
    [
        pytest.param("linkRecords", _link, id="link-merges"),
        pytest.param("linkRecords", _move, id="link-moves-a-card"),
        pytest.param("acceptSuggestion", _accept, id="accept"),
        pytest.param("splitMember", _split, id="split"),
        pytest.param("undo", _undo, id="undo"),
    ],
)
def test_a_dry_run_says_the_records_and_points_that_move_as_the_real_run_moves_them(
    client: TestClient, field: str, given: Callable[[TestClient], str]
) -> None:
    # Given the members as a steward finds them, and a steward change to judge
    mutation = given(client)

    # When the steward tries it with dryRun, asking what would move
    dry = _data(gql(client, f"mutation {{ {mutation}, dryRun: true) {{ id {CHANGE} }} }}"))
    previewed = {m["id"]: m["change"] for m in dry[field]}
    involved = set(previewed) | {n for c in previewed.values() for n in c["membersNow"]}
    now = {m: _as_is(client, m) for m in sorted(involved)}
    holder = {ref: m for m, member in now.items() for ref in _refs(member)}

    # And then makes it for real
    done = _data(gql(client, f"mutation {{ {mutation}) {{ id {CHANGE} }} }}"))[field]

    # Then the real change answers the same members, and says it moved what the dry run said
    assert {m["id"]: m["change"] for m in done} == previewed
    moved = 0
    for member_id, change in previewed.items():
        after = _as_is(client, member_id)
        assert after is not None, member_id
        before = now.get(member_id)
        # the records that joined and left each member are those the dry run said
        joining = sorted((r["source"], r["key"]) for r in change["recordsJoining"])
        leaving = sorted((r["source"], r["key"]) for r in change["recordsLeaving"])
        assert joining == sorted(set(_refs(after)) - set(_refs(before)))
        assert leaving == sorted(set(_refs(before)) - set(_refs(after)))
        # it is made of the members that held its records
        assert change["membersNow"] == sorted({holder[ref] for ref in _refs(after)})
        # and its balance moved from what the dry run said to what it said
        points_now = None if before is None else before["loyalty"]["pointsBalance"]
        assert change["pointsNow"] == points_now
        assert change["pointsAfter"] == after["loyalty"]["pointsBalance"]
        moved += len(joining) + len(leaving)
    assert moved > 0


ACTIONS = [
    pytest.param("linkRecords", _link, id="link-merges"),
    pytest.param("linkRecords", _move, id="link-moves-a-card"),
    pytest.param("acceptSuggestion", _accept, id="accept"),
    pytest.param("rejectSuggestion", _reject, id="reject"),
    pytest.param("splitMember", _split, id="split"),
    pytest.param("undo", _undo, id="undo"),
]


@pytest.mark.parametrize(("field", "given"), ACTIONS)
def test_the_change_made_answers_what_its_dry_run_answers_on_a_fresh_store(
    tmp_path: Path, field: str, given: Callable[[TestClient], str]
) -> None:
    # Given two fresh stores of the same customers, and the same steward change on each
    answers = {}
    for run in ("dry", "real"):
        (tmp_path / run).mkdir()
        app = create_app(_two_customers(tmp_path / run))
        with TestClient(app, base_url="http://127.0.0.1") as client:
            mutation = given(client)
            # When the steward tries it with dryRun on one, and makes it on the other
            dry = ", dryRun: true" if run == "dry" else ""
            query = f"mutation {{ {mutation}{dry}) {{ id {CHANGE} }} }}"
            answers[run] = {m["id"]: m["change"] for m in _data(gql(client, query))[field]}

    # Then both say the same change for the same members, none of it null
    assert answers["real"] == answers["dry"]
    assert all(change is not None for change in answers["real"].values())


KEYS = {
    "steward-pii-key-0000001": ["profile:read", "identity:write", "pii:read"],
    "dpo-key-000000000000001": ["profile:read", "privacy:admin"],
}
LOG = """query ($id: ID!) { piiAccessLog(memberId: $id) { fields requestId } }"""


@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[TestClient]:
    settings = _two_customers(tmp_path).model_copy(
        update={"api_keys": {k: ApiKey(name=k[:11], scopes=s) for k, s in KEYS.items()}}
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as test_client:
        yield test_client


def _logged(client: TestClient, member: str, request: str) -> list[dict[str, Any]]:
    entries = _as(client, "dpo-key-000000000000001", LOG, id=member)["piiAccessLog"]
    return [e for e in entries if e["requestId"] == request]


def _steward(client: TestClient, query: str, request: str) -> Any:
    return _as(client, "steward-pii-key-0000001", query, request)


PROFILE = "id profile { emails { value } } records { key }"


def _ann_and_bob(client: TestClient) -> tuple[str, str]:
    """Ann's and Bob's member IDs, as a steward reads them."""
    find = '{{ m: memberByIdentifier(kind: CRM_ID, value: "{}") {{ id }} }}'
    ann, bob = (_steward(client, find.format(c), c)["m"]["id"] for c in ("C-ANN", "C-BOB"))
    return ann, bob


def test_a_dry_run_link_logs_a_read_for_each_member_whose_data_it_shows(
    keyed: TestClient,
) -> None:
    # Given Ann and Bob, two members
    ann, bob = _ann_and_bob(keyed)

    # When a steward with pii:read tries linking them, reading the member it would make
    dry = _steward(
        keyed,
        f'mutation {{ linkRecords(a: {ANN}, b: {BOB}, reason: "same", dryRun: true) {{ {PROFILE} }} }}',
        "dry-link",
    )["linkRecords"]
    assert "bob.kim@example.org" in str(dry), "Bob's data is shown unmasked"

    # Then both Ann's and Bob's access logs say this request read their data: Bob stays a
    # member of his own, and his e-mail and records were shown
    for member in (ann, bob):
        [entry] = _logged(keyed, member, "dry-link")
        assert {"profile.emails.value", "records.key"} <= set(entry["fields"])


def test_a_link_made_logs_a_read_for_each_member_whose_data_it_shows(keyed: TestClient) -> None:
    # Given Ann and Bob, two members
    ann, bob = _ann_and_bob(keyed)

    # When a steward with pii:read links them, reading the member made and what moved
    done = _steward(
        keyed,
        f'mutation {{ linkRecords(a: {ANN}, b: {BOB}, reason: "same") {{ {PROFILE}'
        " change { recordsJoining { key } } } }",
        "link",
    )["linkRecords"]
    assert "bob.kim@example.org" in str(done), "Bob's data is shown unmasked"

    # Then the member made and Bob's (merged into it) each have an entry for the read
    [made] = [m["id"] for m in done]
    for member in sorted({made, ann, bob}):
        [entry] = _logged(keyed, member, "link")
        assert "profile.emails.value" in entry["fields"]


def test_a_dry_run_split_logs_the_read_under_the_member_as_it_is(keyed: TestClient) -> None:
    # Given Ann and Bob merged into one member
    _steward(keyed, f'mutation {{ linkRecords(a: {ANN}, b: {BOB}, reason: "one") {{ id }} }}', "m")
    merged = _steward(keyed, '{ m: memberByIdentifier(kind: CRM_ID, value: "C-ANN") { id } }', "q")
    merged_id = merged["m"]["id"]

    # When a steward with pii:read tries splitting Bob off
    dry = _steward(
        keyed,
        f'mutation {{ splitMember(memberId: "{merged_id}", records: [{BOB}], reason: "two",'
        f" dryRun: true) {{ {PROFILE} }} }}",
        "dry-split",
    )["splitMember"]
    [side] = [m["id"] for m in dry if m["id"] != merged_id]

    # Then the member whose data was shown (the merged one, as it is) has one entry for the
    # read; the ID of the side that does not exist yet has none
    [entry] = _logged(keyed, merged_id, "dry-split")
    assert "profile.emails.value" in entry["fields"]
    assert _logged(keyed, side, "dry-split") == []


def test_the_records_a_dry_run_would_move_are_masked_without_pii_read(tmp_path: Path) -> None:
    # Given Ann's contact, and an online account of another e-mail of hers: two members
    data = tmp_path / "data"
    data.mkdir()
    contact = {"contact_id": "C-ANN", "first_name": "Ann", "emails": ["ann.lee@example.org"]}
    (data / "crm.jsonl").write_bytes(orjson.dumps(contact) + b"\n")
    order = {
        "transaction_id": "T-1",
        "loyalty_id": None,
        "email": "ann.other@mailbox.org",
        "channel": "online",
        "occurred_at": "2026-11-02T10:00:00Z",
        "amount_cents": 1000,
        "points_earned": 0,
        "status": "completed",
    }
    (data / "transactions.jsonl").write_bytes(orjson.dumps(order) + b"\n")
    settings = Settings(
        data=data,
        store=f"sqlite:///{tmp_path / 'id.db'}",
        cache_dir=tmp_path / "cache",
        api_keys={
            "steward-key-00000000001": ApiKey(name="steward", scopes=["identity:write"]),
            **{k: ApiKey(name=k[:11], scopes=s) for k, s in KEYS.items()},
        },
    )
    link = f"""mutation {{ linkRecords(a: {{source: TRANSACTIONS,
      key: "online:ann.other@mailbox.org"}}, b: {ANN}, reason: "hers", dryRun: true) {{
      id change {{ recordsJoining {{ key }} }} }} }}"""
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        # When a steward without pii:read tries linking the account to her contact
        [masked] = _as(client, "steward-key-00000000001", link, "masked")["linkRecords"]
        # Then the account that would join is named, its e-mail masked, and nothing logged
        [joining] = masked["change"]["recordsJoining"]
        assert joining["key"].startswith("online:") and "ann.other" not in joining["key"]
        assert _logged(client, masked["id"], "masked") == []
        # and a steward with pii:read reads it whole, logged
        [shown] = _as(client, "steward-pii-key-0000001", link, "shown")["linkRecords"]
        assert shown["change"]["recordsJoining"] == [{"key": "online:ann.other@mailbox.org"}]
        assert "change.recordsJoining.key" in _logged(client, shown["id"], "shown")[0]["fields"]

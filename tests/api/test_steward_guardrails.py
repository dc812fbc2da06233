"""Stewards' guardrails, end to end over GraphQL: a link never strips a member silently, and
every steward mutation can be tried with ``dryRun`` first.

Two customers, Ann and Bob, each with a CRM contact and a loyalty card holding purchases.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.conftest import gql
from tests.support.http import serving

ANN = {
    "contact_id": "C-ANN",
    "first_name": "Ann",
    "last_name": "Lee",
    "emails": ["ann.lee@example.org"],
    "loyalty_id": "LD11110001",
    "birth_date": "1980-01-01",
}
BOB = {
    "contact_id": "C-BOB",
    "first_name": "Bob",
    "last_name": "Kim",
    "emails": ["bob.kim@example.org"],
    "loyalty_id": "LD22220002",
    "birth_date": "1975-05-05",
}


def _tx(tid: str, card: str | None, earned: int) -> dict[str, Any]:
    return {
        "transaction_id": tid,
        "loyalty_id": card,
        "channel": "store",
        "occurred_at": "2026-11-02T10:00:00Z",
        "amount_cents": 1000,
        "points_earned": earned,
        "status": "completed",
    }


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    yield from two_customers(tmp_path)


def two_customers(tmp_path: Path) -> Iterator[TestClient]:
    """A gateway over Ann and Bob, each with a contact and a card with purchases."""
    with TestClient(
        create_app(_two_customers(tmp_path)), base_url="http://127.0.0.1"
    ) as test_client:
        yield test_client


@contextlib.contextmanager
def served_two_customers(tmp_path: Path) -> Iterator[str]:
    """The same gateway on a real uvicorn server: its address."""
    with serving(create_app(_two_customers(tmp_path))) as address:
        yield address


def _two_customers(tmp_path: Path) -> Settings:
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in (ANN, BOB)))
    txs = [_tx("T-A1", "LD11110001", 120), _tx("T-A2", "LD11110001", 30)]
    txs.append(_tx("T-B1", "LD22220002", 7))
    (data / "transactions.jsonl").write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in txs))
    return Settings(
        data=data, store=f"sqlite:///{tmp_path / 'id.db'}", cache_dir=tmp_path / "cache"
    )


MEMBER_FIELDS = "id records { source key } loyalty { pointsBalance loyaltyIds }"
WORLD = f"""{{
  ann: memberByIdentifier(kind: CRM_ID, value: "C-ANN") {{ {MEMBER_FIELDS} }}
  bob: memberByIdentifier(kind: CRM_ID, value: "C-BOB") {{ {MEMBER_FIELDS} }}
  changes(first: 100) {{ edges {{ node {{ cursor }} }} }}
}}"""


def _data(answer: dict[str, Any]) -> Any:
    assert "errors" not in answer, answer
    return answer["data"]


def _world(client: TestClient) -> dict[str, Any]:
    """What a steward could see of the two customers, and the feed's length."""
    return _data(gql(client, WORLD))  # type: ignore[no-any-return]


def _card_of(member: dict[str, Any]) -> dict[str, str]:
    [card] = [r for r in member["records"] if r["source"] == "TRANSACTIONS"]
    return {"source": card["source"], "key": card["key"]}


def _link_card(move: bool, dry_run: bool) -> str:
    return f"""mutation ($a: RecordRefInput!) {{ linkRecords(a: $a,
      b: {{source: CRM, key: "C-BOB"}}, reason: "card given at Bob's till",
      move: {str(move).lower()}, dryRun: {str(dry_run).lower()}) {{ {MEMBER_FIELDS} }} }}"""


@pytest.mark.parametrize("dry_run", [pytest.param(False, id="real"), pytest.param(True, id="dry")])
def test_linking_a_card_to_another_contact_is_refused_naming_the_member_it_would_strip(
    client: TestClient, dry_run: bool
) -> None:
    # Given two customers, each with a contact and a card holding points
    before = _world(client)
    ann = before["ann"]
    assert ann["loyalty"]["pointsBalance"] == 150

    # When a steward links Ann's card to Bob's contact without saying `move`
    answer = gql(client, _link_card(move=False, dry_run=dry_run), a=_card_of(ann))

    # Then it is refused with a code naming Ann's member and her card, and nothing changed
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "WOULD_MOVE_RECORDS"
    assert error["extensions"]["members"] == [ann["id"]]
    card = _card_of(ann)
    assert error["extensions"]["records"] == [f"{card['source'].lower()}:{card['key']}"]
    assert ann["id"] in error["message"]
    assert _world(client) == before


def test_linking_a_card_with_move_moves_the_card_and_its_balance(client: TestClient) -> None:
    # Given Ann's card with 150 points, Bob's with 7
    before = _world(client)

    # When the steward links Ann's card to Bob's contact and says `move`
    answer = gql(client, _link_card(move=True, dry_run=False), a=_card_of(before["ann"]))

    # Then the card and its whole balance are Bob's; Ann keeps her member and her contact
    answered = {m["id"]: m for m in _data(answer)["linkRecords"]}
    after = _world(client)
    assert set(answered) == {before["ann"]["id"], before["bob"]["id"]}
    assert after["ann"]["id"] == before["ann"]["id"] and after["bob"]["id"] == before["bob"]["id"]
    assert _card_of(before["ann"]) in after["bob"]["records"]
    assert after["bob"]["loyalty"]["pointsBalance"] == 157
    assert after["ann"]["loyalty"]["pointsBalance"] == 0
    assert after["ann"]["records"] == [{"source": "CRM", "key": "C-ANN"}]


def _merge_contacts(client: TestClient) -> str:
    """Ann and Bob's contacts linked by a steward: the merge event's id."""
    _data(
        gql(
            client,
            """mutation { linkRecords(a: {source: CRM, key: "C-ANN"},
            b: {source: CRM, key: "C-BOB"}, reason: "same household") { id } }""",
        )
    )
    history = _data(
        gql(
            client,
            '{ memberByIdentifier(kind: CRM_ID, value: "C-ANN") { identityHistory { id kind } } }',
        )
    )["memberByIdentifier"]["identityHistory"]
    return str(next(e["id"] for e in history if e["kind"] == "merged"))


def _link_contacts(client: TestClient, dry_run: bool) -> dict[str, Any]:
    return gql(
        client,
        f"""mutation {{ linkRecords(a: {{source: CRM, key: "C-ANN"}},
        b: {{source: CRM, key: "C-BOB"}}, reason: "same person",
        dryRun: {str(dry_run).lower()}) {{ {MEMBER_FIELDS} }} }}""",
    )


def _move_card(client: TestClient, dry_run: bool) -> dict[str, Any]:
    ann = _world(client)["ann"]
    return gql(client, _link_card(move=True, dry_run=dry_run), a=_card_of(ann))


def _split_bob_off(client: TestClient, dry_run: bool) -> dict[str, Any]:
    merged = _world(client)["ann"]["id"]
    return gql(
        client,
        f"""mutation ($m: ID!) {{ splitMember(memberId: $m,
        records: [{{source: CRM, key: "C-BOB"}}], reason: "two people",
        dryRun: {str(dry_run).lower()}) {{ {MEMBER_FIELDS} }} }}""",
        m=merged,
    )


def _undo_the_merge(client: TestClient, dry_run: bool) -> dict[str, Any]:
    history = _data(
        gql(
            client,
            '{ memberByIdentifier(kind: CRM_ID, value: "C-ANN") { identityHistory { id kind } } }',
        )
    )["memberByIdentifier"]["identityHistory"]
    event = next(e["id"] for e in history if e["kind"] == "merged")
    return gql(
        client,
        f"""mutation {{ undoMerge(eventId: "{event}", reason: "wrong",
        dryRun: {str(dry_run).lower()}) {{ {MEMBER_FIELDS} }} }}""",
    )


@pytest.mark.parametrize(
    ("field", "mutate"),
    [
        pytest.param("linkRecords", _link_contacts, id="link-merges"),
        pytest.param("linkRecords", _move_card, id="link-moves-a-card"),
        pytest.param("splitMember", _split_bob_off, id="split"),
        pytest.param("undoMerge", _undo_the_merge, id="undo-merge"),
    ],
)
def test_a_dry_run_changes_nothing_and_answers_what_the_real_run_does(
    client: TestClient, field: str, mutate: Any
) -> None:
    # Given the members as a steward finds them (merged first where the mutation needs it)
    if field != "linkRecords":
        _merge_contacts(client)
    before = _world(client)

    # When the steward tries the change with dryRun
    preview = _data(mutate(client, dry_run=True))[field]

    # Then nothing changed: same members, same records, no entry in the change feed
    assert _world(client) == before

    # And the real run then answers exactly what the dry run said, and the store agrees
    done = _data(mutate(client, dry_run=False))[field]
    assert preview == done
    after = _world(client)
    assert after != before
    shown = {m["id"]: m for m in done}
    assert after["ann"] == shown[after["ann"]["id"]]
    assert after["bob"] == shown[after["bob"]["id"]]


def test_a_reason_longer_than_the_bound_is_refused_and_changes_nothing(
    client: TestClient,
) -> None:
    # Given the two customers apart
    before = _world(client)
    link = """mutation ($r: String!) { linkRecords(a: {source: CRM, key: "C-ANN"},
      b: {source: CRM, key: "C-BOB"}, reason: $r) { id } }"""
    # When a steward pastes a page as the reason (it goes to the history, every link's
    # evidence, the feed and every subscriber)
    answer = gql(client, link, r="x" * 2001)
    # Then it is refused saying the bound, and nothing changes
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "at most 2,000 characters" in error["message"] and "2,001" in error["message"]
    assert _world(client) == before
    # And a reason of the bound is taken
    assert "errors" not in gql(client, link, r="y" * 2000)


KAREN = {
    "contact_id": "C-KAREN",
    "first_name": "Karen",
    "last_name": "Ramos",
    "emails": ["karen.ramos@mailbox.org", "ramos.family@mailbox.org", "ramos.shop@mailbox.org"],
    "birth_date": "1977-07-07",
}


@pytest.mark.parametrize("dry_run", [pytest.param(False, id="real"), pytest.param(True, id="dry")])
def test_splitting_off_the_only_contact_that_holds_several_accounts_is_refused(
    tmp_path: Path, dry_run: bool
) -> None:
    # Given Karen's contact and online accounts, each tied to her alone by one of her e-mails
    data = tmp_path / "data"
    data.mkdir()
    (data / "crm.jsonl").write_bytes(orjson.dumps(KAREN) + b"\n")
    orders = [
        {**_tx(f"T-{n}", None, 0), "channel": "online", "email": email}
        for n, email in enumerate(KAREN["emails"])
    ]
    (data / "transactions.jsonl").write_bytes(b"".join(orjson.dumps(t) + b"\n" for t in orders))
    settings = Settings(
        data=data, store=f"sqlite:///{tmp_path / 'id.db'}", cache_dir=tmp_path / "cache"
    )
    karen = '{ memberByIdentifier(kind: CRM_ID, value: "C-KAREN") { id records { source key } } }'
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        before = _data(gql(client, karen))["memberByIdentifier"]
        accounts = sorted(
            f"transactions:{r['key']}" for r in before["records"] if r["source"] == "TRANSACTIONS"
        )
        assert len(accounts) >= 2, before

        # When a steward splits off her contact (tried first, or at once)
        answer = gql(
            client,
            f"""mutation ($m: ID!) {{ splitMember(memberId: $m,
            records: [{{source: CRM, key: "C-KAREN"}}], reason: "not her",
            dryRun: {str(dry_run).lower()}) {{ id }} }}""",
            m=before["id"],
        )

        # Then it is refused, naming the accounts that would each be a member alone, and
        # saying what to do instead; nothing changed
        [error] = answer["errors"]
        assert error["extensions"]["code"] == "WOULD_STRAND_RECORDS"
        assert error["extensions"]["records"] == accounts
        assert error["extensions"]["members"] == [before["id"]]
        assert f"{len(accounts)} members of their own" in error["message"]
        assert "linkRecords" in error["message"]
        assert _data(gql(client, karen))["memberByIdentifier"] == before


def test_a_card_split_off_its_contact_is_found_by_its_number_with_its_points(
    client: TestClient,
) -> None:
    # Given Ann's card (150 points) split off her contact, which still names the card
    ann = _world(client)["ann"]
    split = gql(
        client,
        "mutation ($r: RecordRefInput!, $m: ID!) { splitMember(memberId: $m, records: [$r],"
        f' reason: "her son\'s card") {{ {MEMBER_FIELDS} }} }}',
        r=_card_of(ann),
        m=ann["id"],
    )
    [contact] = [
        m for m in _data(split)["splitMember"] if {"source": "CRM", "key": "C-ANN"} in m["records"]
    ]
    # When a till looks the card's number up
    found = _data(
        gql(
            client,
            f'{{ m: memberByIdentifier(kind: LOYALTY_ID, value: "LD11110001") '
            f"{{ {MEMBER_FIELDS} }} }}",
        )
    )["m"]
    # Then it answers the card's own member and its balance, not her contact's 0 points
    assert found["id"] != contact["id"]
    assert {"source": "TRANSACTIONS", "key": "loyalty:LD11110001"} in found["records"]
    assert found["loyalty"]["pointsBalance"] == 150

"""A token bound to one member sees sealed feed cursors: nothing of them tells how many
changes the whole store took (every other customer's purchases and logins), and they
resume its own member's changes only. Clients not bound to a member keep their digits."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from membergraph.settings import Settings
from tests.api.test_member_bound import (
    BOB,
    JANE,
    World,
    _merge_and_undo,
    _subscribed,
    _token,
    served_world,
)

OTHERS = [
    {"contact_id": f"C-OTHER-{n}", "first_name": "Pat", "emails": [f"pat{n}@mail.org"]}
    for n in range(5)
]
HER_ORDER = {
    "transaction_id": "T-JANE-1",
    "email": "jane.doe@mail.com",
    "channel": "online",
    "occurred_at": "2026-11-20T10:00:00Z",
    "amount_cents": 1900,
}
VIEWER = "{ viewer { feedCursor } }"


@pytest.fixture
def world(settings: Settings, data_dir: Path) -> Iterator[World]:
    yield from served_world(settings, data_dir, [JANE, BOB])


def _push(client: TestClient, source: str, lines: list[dict[str, Any]]) -> None:
    steward = _token(sub="pipeline", scope="ingest:write")
    sent = client.post(
        f"/ingest/{source}", json=lines, headers={"authorization": f"Bearer {steward}"}
    )
    assert sent.status_code == 200, sent.text


def _refusal(session: Any) -> dict[str, Any]:
    """The one error a subscription answered."""
    message = session.receive_json()
    [error] = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    return error  # type: ignore[no-any-return]


def _next(session: Any) -> dict[str, Any]:
    message = session.receive_json()
    assert message["type"] == "next", message
    return message["payload"]["data"]["memberChanged"]  # type: ignore[no-any-return]


def test_a_member_bound_tokens_cursors_tell_nothing_of_the_stores_volume(world: World) -> None:
    # Given the feed's head as a steward reads it: digits, as before
    head = world.ask(world.steward, VIEWER)["data"]["viewer"]["feedCursor"]
    assert head.isdigit()
    # When Jane's app reads its cursor twice, while other customers' contacts arrive
    first = world.ask(world.jane_app, VIEWER)["data"]["viewer"]["feedCursor"]
    _push(world.client, "crm", OTHERS)
    second = world.ask(world.jane_app, VIEWER)["data"]["viewer"]["feedCursor"]
    # Then neither says the feed's position, nor whether the store changed in between
    assert not first.isdigit() and head not in first and first != second
    assert first != world.ask(world.jane_app, VIEWER)["data"]["viewer"]["feedCursor"]
    # And resuming after her first cursor hears her own order, made later (not her contact,
    # made before)
    query = (
        f'subscription {{ memberChanged(id: "{world.jane}", after: "{first}") {{ kind cursor }} }}'
    )
    _push(world.client, "transactions", [HER_ORDER])
    with _subscribed(world, world.jane_app, query) as session:
        heard = _next(session)
    assert heard["kind"] in ("LINKED", "PURCHASE") and not heard["cursor"].isdigit(), heard
    # And that cursor resumes her app (nothing after it yet), not another member's token
    bobs_app = _token(sub="bob-app", scope="profile:read", member_id=world.bob)
    again = f'subscription {{ memberChanged(id: "{world.bob}", after: "{heard["cursor"]}") {{ kind }} }}'
    with _subscribed(world, bobs_app, again) as session:
        error = _refusal(session)
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "not a cursor given" in error["message"] and head not in error["message"], error


def test_a_member_bound_tokens_digits_resume_from_the_feeds_start_whatever_they_are(
    world: World,
) -> None:
    # Given a cursor of digits Jane's app kept from an earlier release, and one past the head
    _push(world.client, "transactions", [HER_ORDER])
    head = int(world.ask(world.steward, VIEWER)["data"]["viewer"]["feedCursor"])
    heard = []
    for kept in (str(head - 1), str(head + 1_000)):
        query = f'subscription {{ memberChanged(id: "{world.jane}", after: "{kept}") {{ kind cursor }} }}'
        with _subscribed(world, world.jane_app, query) as session:
            # Then either resumes, hearing her changes from the start (her contact's first)
            heard.append(_next(session)["kind"])
    assert heard == ["MEMBER_CREATED", "MEMBER_CREATED"], heard
    # And a steward's digits past the head are still refused, saying where the feed ends
    query = f'subscription {{ memberChanged(after: "{head + 1_000}") {{ kind }} }}'
    with _subscribed(world, world.steward, query) as session:
        assert f"ends at {head}" in _refusal(session)["message"]


HISTORY = '{{ member(id: "{id}") {{ identityHistory {{ id kind undoneBy evidence }} }} }}'


def test_a_member_bound_tokens_event_ids_tell_nothing_of_the_stores_volume(
    world: World,
) -> None:
    # Given a steward's merge of Bob and Jane, undone: Bob's history has the merge, the undo
    # (its undoneBy) and events whose evidence names the merge
    _merge_and_undo(world)
    bobs_app = _token(sub="bob-app", scope="profile:read", member_id=world.bob)
    query = HISTORY.format(id=world.bob)
    # When a steward and Bob's app read his history
    steward = world.ask(world.steward, query)["data"]["member"]["identityHistory"]
    app = world.ask(bobs_app, query)["data"]["member"]["identityHistory"]
    # Then the steward reads the store's numbers, as before
    assert all(e["id"].isdigit() for e in steward)
    numbers = [int(e["id"]) for e in steward]
    # And the app reads none of them: not its events' IDs, nor those their evidence names
    ids = [e["id"] for e in app]
    assert len(ids) == len(numbers) and not [i for i in ids if i.isdigit()], ids
    named = [e["evidence"][k] for e in app for k in ("undoes", "event_id") if k in e["evidence"]]
    assert len(named) == 2 and not [n for n in named if isinstance(n, int) or n.isdigit()]
    # And they still say which event is which, as the steward's do: the same at every
    # reading, the undo's ID is its merge's undoneBy, and the merge's the one evidence names
    again = world.ask(bobs_app, query)["data"]["member"]["identityHistory"]
    assert [e["id"] for e in again] == ids
    for seen, sees in zip(steward, app, strict=True):
        if seen["undoneBy"] is not None:
            assert sees["undoneBy"] == ids[numbers.index(int(seen["undoneBy"]))]
        for k in ("undoes", "event_id"):
            if k in seen["evidence"]:
                assert sees["evidence"][k] == ids[numbers.index(seen["evidence"][k])]
    # (the merge and the steward's link that made it: undoMerge takes both back, user31b 5)
    undone = sum(e["undoneBy"] is not None for e in steward)
    assert sum(e["undoneBy"] is not None for e in app) == undone >= 1

"""Keyset paging: a page never repeats or skips an item when items arrive between pages
(a property over any arrivals), and the same over HTTP with purchases ingested mid-way."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from graphql import GraphQLError
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from membergraph.resolvers.paging import Cursors, Window, page_by_key
from membergraph.resolvers.store_keys import StoreKeys
from tests.api.test_ingest import NEW_CONTACT, PURCHASE
from tests.conftest import gql


@dataclass(frozen=True)
class Item:
    at: int
    ident: str


def _key(item: Item) -> tuple[float | str, ...]:
    return (float(item.at), item.ident)


def _sorted(items: set[Item]) -> list[Item]:
    return sorted(items, key=_key, reverse=True)


KEYS = StoreKeys(b"a store's secret")


def _cursors(kind: str = "t", *whose: str) -> Cursors:
    return Cursors(kind, KEYS.tag, whose or ("",))


items = st.builds(Item, st.integers(0, 20), st.text("abcdef", min_size=1, max_size=3))


@given(
    start=st.sets(items, max_size=30),
    arrivals=st.lists(st.sets(items, max_size=4), max_size=12),
    first=st.integers(1, 5),
)
def test_paging_while_items_arrive_never_repeats_or_skips(
    start: set[Item], arrivals: list[set[Item]], first: int
) -> None:
    present = set(start)
    seen: list[Item] = []
    after = None
    for step in range(100):
        page = page_by_key(_sorted(present), Window(first, after), _cursors(), _key)
        seen += [node for _, node in page.items]
        if not page.has_next:
            break
        after = page.items[-1][0]
        present |= arrivals[step] if step < len(arrivals) else set()
    assert len(seen) == len(set(seen)), "an item was served twice"
    assert set(start) <= set(seen), "an item that was there all along was skipped"
    # What was served is in the list's order: each page continues where the last ended.
    assert seen == sorted(seen, key=_key, reverse=True)


def test_a_cursor_of_another_list_or_a_forged_one_is_refused() -> None:
    nodes = _sorted({Item(1, "a"), Item(2, "b")})
    cursor = page_by_key(nodes, Window(1), _cursors(), _key).items[0][0]
    forged = [_cursor_of(f"t:{key}") for key in ("[]", '[2.0, "b", 1]', '["b", 2.0]', "[2.0]")]
    # user29: "tx:[]" sorted before every purchase and paged to an empty end, no error.
    # user32: a well-formed one built by hand was taken, and so was another member's.
    signed = [_cursors().make(key) for key in ("[]", '[2.0, "b", 1]', '["b", 2.0]', "[2.0]")]
    hand_made = [_cursor_of('t:[2.0, "b"]'), cursor.split(".")[0] + "." + "A" * 12]
    others = [_cursors("t", "m_other").make('[2.0, "b"]')]
    for bad in ("bm90IGpzb24", "dDpbdHJ1ZV0", cursor + "x", *forged, *signed, *hand_made, *others):
        try:
            page_by_key(nodes, Window(1, bad), _cursors(), _key)
        except GraphQLError as error:
            assert error.extensions and error.extensions["code"] == "BAD_USER_INPUT"
            assert error.extensions["argument"] == "after"
        else:
            raise AssertionError(f"cursor {bad!r} was taken")
    try:
        page_by_key(nodes, Window(1, cursor), _cursors("other"), _key)
    except GraphQLError as error:
        assert "does not belong to this list" in error.message
    else:
        raise AssertionError("a cursor of another list was taken")


PAGE = """query($after: String) { memberByIdentifier(kind: EMAIL, value: "nia.park@mail-example.org") {
  transactions(first: 2, after: $after) { edges { cursor node { transactionId } }
  pageInfo { hasNextPage } } } }"""


def _purchase(n: int, day: int) -> dict[str, object]:
    return {
        **PURCHASE,
        "transaction_id": f"T-PAGE-{n}",
        "occurred_at": f"2026-10-{day:02d}T10:00:00Z",
    }


def _page(client: TestClient, after: str | None) -> dict[str, object]:
    answer = gql(client, PAGE, after=after)
    return answer["data"]["memberByIdentifier"]["transactions"]  # type: ignore[index,no-any-return]


def test_purchases_arriving_between_pages_repeat_none_over_http(client: TestClient) -> None:
    client.post("/ingest/crm", json=[NEW_CONTACT])
    client.post("/ingest/transactions", json=[_purchase(n, 10 + n) for n in range(1, 6)])
    first = _page(client, None)
    ids = [e["node"]["transactionId"] for e in first["edges"]]  # type: ignore[index]
    assert ids == ["T-PAGE-5", "T-PAGE-4"]
    # A newer purchase and a late line older than the cursor arrive before the next page.
    client.post("/ingest/transactions", json=[_purchase(9, 28), _purchase(0, 2)])
    cursor = first["edges"][-1]["cursor"]  # type: ignore[index]
    while True:
        page = _page(client, cursor)
        ids += [e["node"]["transactionId"] for e in page["edges"]]  # type: ignore[index]
        if not page["pageInfo"]["hasNextPage"]:  # type: ignore[index]
            break
        cursor = page["edges"][-1]["cursor"]  # type: ignore[index]
    assert ids == ["T-PAGE-5", "T-PAGE-4", "T-PAGE-3", "T-PAGE-2", "T-PAGE-1", "T-PAGE-0"]


MEMBERS = """query($after: String) { members(first: 2, after: $after) {
  edges { cursor node { id } } } }"""


def _cursor_of(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize(
    "made",
    [
        pytest.param("member:1", id="a-number"),
        pytest.param("member:zzzz", id="a-word"),
        pytest.param("member:m_LRQBGTUNIPFLSR2T", id="an-id-in-capitals"),
        pytest.param("member:m_lrqbgtunipflsr2t\n", id="an-id-and-a-newline"),
        pytest.param("member:m_lrqbgtunipflsr2t:0", id="an-id-and-more"),
        pytest.param("member:" + "m_" + "a" * 400, id="a-long-one"),
    ],
)
def test_a_hand_made_members_cursor_is_refused_with_a_code(client: TestClient, made: str) -> None:
    # Given a cursor made by hand: base64 of our prefix and something that no member id is
    answer = client.post(
        "/graphql", json={"query": MEMBERS, "variables": {"after": _cursor_of(made)}}
    ).json()
    # Then the page is refused as other bad cursors are, naming the argument
    assert answer["data"] == {"members": None}, answer
    error = answer["errors"][0]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert "cursor" in error["message"]


def test_a_members_cursor_of_ours_still_pages_even_when_its_member_is_gone(
    client: TestClient,
) -> None:
    first = gql(client, MEMBERS)["data"]["members"]["edges"]  # type: ignore[index]
    second = gql(client, MEMBERS, after=first[-1]["cursor"])["data"]["members"]["edges"]  # type: ignore[index]
    assert second and second[0]["node"]["id"] > first[-1]["node"]["id"]
    # The cursor's member is erased (or merged away) since the page was read: the cursor
    # pages on from where it was, as keyset paging does.
    gone = first[-1]["node"]["id"]
    erase = (
        'mutation($id: ID!) { eraseMember(id: $id, reason: "T-1", wholeMember: true) { state } }'
    )
    assert gql(client, erase, id=gone)["data"] == {"eraseMember": {"state": "DONE"}}
    page = gql(client, MEMBERS, after=first[-1]["cursor"])["data"]["members"]["edges"]  # type: ignore[index]
    assert [edge["node"]["id"] for edge in page] == [edge["node"]["id"] for edge in second]


def test_a_hand_made_members_cursor_around_a_members_id_is_refused(client: TestClient) -> None:
    # user32: the README says a cursor the gateway did not make is refused; one built by
    # hand around a real member's ID was taken.
    first = gql(client, MEMBERS)["data"]["members"]["edges"]  # type: ignore[index]
    made = _cursor_of(f"member:{first[-1]['node']['id']}")
    answer = client.post("/graphql", json={"query": MEMBERS, "variables": {"after": made}}).json()
    assert answer["data"] == {"members": None}, answer
    assert answer["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT", "argument": "after"}

"""A member's `transactions` and `activity` cursors, over real HTTP: bound to the list and
the member they were given for, refused when built by hand, and read both ways.

user32 (finding 7): a cursor was base64 of ``tx:[epoch,"id"]``; one built by hand was taken,
member A's cursor paged member B's list, and `hasPreviousPage` / `startCursor` came back
with no way to read backward. Every list now tags its cursors under the store's key (the
same mechanism as `members`), and these two lists take `last` and `before`.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from membergraph.app import create_app
from membergraph.settings import Settings
from tests.support.http import serving


def _purchase(card: str, n: int) -> dict[str, Any]:
    return {
        "transaction_id": f"T-{card}-{n}",
        "loyalty_id": card,
        "channel": "store",
        "occurred_at": f"2026-10-{n + 1:02d}T10:00:00Z",
        "amount_cents": 100 * (n + 1),
    }


LINES = {
    "crm": [
        {
            "contact_id": contact,
            "first_name": name,
            "last_name": "Lister",
            "emails": [f"{name.lower()}.lister@mail-example.org"],
            "loyalty_id": card,
            "updated_at": "2026-09-01T00:00:00Z",
        }
        for contact, name, card in (("C-ANN", "Ann", "LD10000001"), ("C-BO", "Bo", "LD20000002"))
    ],
    "transactions": [_purchase("LD10000001", n) for n in range(7)]
    + [_purchase("LD20000002", n) for n in range(3)],
    "web_analytics": [
        {
            "event_id": f"E-ANN-{n}",
            "anonymous_id": "dev-ann",
            "user_id": "C-ANN",
            "type": "page",
            "name": "Home",
            "occurred_at": f"2026-10-{n + 1:02d}T12:00:00Z",
        }
        for n in range(3)
    ],
}
LIST = """query($id: ID!VARIABLES) { member(id: $id) { id
  FIELD(ARGUMENTS) { totalCount edges { cursor }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }"""
TYPES = {"first": "Int", "after": "String", "last": "Int", "before": "String"}


def _list(field: str, asked: dict[str, Any]) -> str:
    """The list's query, with only the arguments asked (as a client would write it)."""
    names = [name for name in TYPES if name in asked]
    return (
        LIST.replace("VARIABLES", "".join(f", ${n}: {TYPES[n]}" for n in names))
        .replace("FIELD", field)
        .replace("(ARGUMENTS)", f"({', '.join(f'{n}: ${n}' for n in names)})" if names else "")
    )


IDS = '{ a: memberByIdentifier(kind: CRM_ID, value: "C-ANN") { id } ' + (
    'b: memberByIdentifier(kind: CRM_ID, value: "C-BO") { id } }'
)


def _settings(folder: Path) -> Settings:
    data = folder / "data"
    data.mkdir(exist_ok=True)
    for source, lines in LINES.items():
        (data / f"{source}.jsonl").write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    return Settings(data=data, store=f"sqlite:///{folder / 'store.db'}", cache_dir=folder / "c")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("list-cursors")


@contextmanager
def _served(folder: Path) -> Iterator[httpx.Client]:
    """A gateway over the folder's store, served by uvicorn, and a client of it."""
    with (
        serving(create_app(_settings(folder))) as address,
        httpx.Client(base_url=f"http://{address}", timeout=30) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def http(folder: Path) -> Iterator[httpx.Client]:
    with _served(folder) as client:
        yield client


def _post(http: httpx.Client, query: str, **variables: Any) -> dict[str, Any]:
    answer = http.post("/graphql", json={"query": query, "variables": variables})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


@pytest.fixture(scope="module")
def ids(http: httpx.Client) -> dict[str, str]:
    found = _post(http, IDS)["data"]
    return {"ann": found["a"]["id"], "bo": found["b"]["id"]}


def _page(http: httpx.Client, field: str, member: str, **asked: Any) -> dict[str, Any]:
    answer = _post(http, _list(field, asked), id=member, **asked)
    assert "errors" not in answer, answer
    return dict(answer["data"]["member"][field])


def _refused(http: httpx.Client, field: str, member: str, **asked: Any) -> dict[str, Any]:
    answer = _post(http, _list(field, asked), id=member, **asked)
    assert answer["data"]["member"][field] is None, answer
    [error] = answer["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    return dict(error)


LISTS = ["transactions", "activity"]


@pytest.mark.parametrize("field", LISTS)
@pytest.mark.parametrize("argument", ["after", "before"])
def test_a_cursor_of_one_members_list_is_refused_on_anothers(
    http: httpx.Client, ids: dict[str, str], field: str, argument: str
) -> None:
    cursor = _page(http, field, ids["ann"], first=2)["pageInfo"]["endCursor"]
    # Ann's cursor on Bo's list: refused, naming the argument, whichever way it is read.
    asked = {argument: cursor, "first" if argument == "after" else "last": 2}
    error = _refused(http, field, ids["bo"], **asked)
    assert error["extensions"]["argument"] == argument
    assert "another member's list" in error["message"]
    # ... and on Ann's other list.
    other = next(f for f in LISTS if f != field)
    error = _refused(http, other, ids["ann"], **asked)
    assert error["extensions"]["argument"] == argument


def _by_hand(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("field", LISTS)
def test_a_cursor_built_by_hand_is_refused(
    http: httpx.Client, ids: dict[str, str], field: str
) -> None:
    given = _page(http, field, ids["ann"], first=2)["pageInfo"]["endCursor"]
    body, _, tag = given.partition(".")
    kind = base64.urlsafe_b64decode(body + "==").decode().partition(":")[0]
    made = [
        _by_hand(f'{kind}:[9999999999.0,"zzz"]'),  # user32's, no tag
        _by_hand(f'{kind}:[9999999999.0,"zzz"]') + "." + tag,  # a tag of another value
        body + "." + "A" * len(tag),  # a value given, a tag made up
    ]
    for cursor in made:
        assert _refused(http, field, ids["ann"], first=2, after=cursor)["extensions"] == {
            "code": "BAD_USER_INPUT",
            "argument": "after",
        }


@pytest.mark.parametrize("field", LISTS)
def test_a_list_reads_back_page_by_page_to_its_start(
    http: httpx.Client, ids: dict[str, str], field: str
) -> None:
    # Forward, two at a time, to the end.
    forward, pages, after = [], [], None
    while True:
        page = _page(http, field, ids["ann"], first=2, after=after)
        forward += [e["cursor"] for e in page["edges"]]
        pages.append(page["pageInfo"])
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    total = page["totalCount"]
    assert len(forward) == total == len(set(forward)) and len(pages) > 2
    assert [p["hasPreviousPage"] for p in pages] == [False] + [True] * (len(pages) - 1)
    # Back from the last page's start, two at a time: the same items, in the same order.
    backward, before = [], pages[-1]["startCursor"]
    seen_from_end = [c for c in forward if c not in forward[: forward.index(before)]]
    while True:
        page = _page(http, field, ids["ann"], last=2, before=before)
        backward = [e["cursor"] for e in page["edges"]] + backward
        assert page["pageInfo"]["hasNextPage"], "the items read already follow"
        if not page["pageInfo"]["hasPreviousPage"]:
            break
        before = page["pageInfo"]["startCursor"]
    assert backward + seen_from_end == forward
    # The last items with no cursor: the list's end; `last` past the start stops at it.
    end = _page(http, field, ids["ann"], last=3)
    assert [e["cursor"] for e in end["edges"]] == forward[-3:]
    assert (end["pageInfo"]["hasNextPage"], end["pageInfo"]["hasPreviousPage"]) == (False, True)
    start = _page(http, field, ids["ann"], last=total + 5, before=forward[2])
    assert [e["cursor"] for e in start["edges"]] == forward[:2]
    assert start["pageInfo"]["hasPreviousPage"] is False
    # Between two cursors: the items strictly between them.
    between = _page(http, field, ids["ann"], after=forward[0], before=forward[4])
    assert [e["cursor"] for e in between["edges"]] == forward[1:4]


@pytest.mark.parametrize(
    ("asked", "argument"),
    [
        pytest.param({"first": 2, "last": 2}, "last", id="first-and-last"),
        pytest.param({"last": 101}, "last", id="last-over-the-limit"),
        pytest.param({"last": -1}, "last", id="last-below-zero"),
        pytest.param({"first": 101}, "first", id="first-over-the-limit"),
    ],
)
def test_a_page_size_out_of_bounds_names_its_argument(
    http: httpx.Client, ids: dict[str, str], asked: dict[str, int], argument: str
) -> None:
    for field in LISTS:
        error = _refused(http, field, ids["ann"], **asked)
        assert error["extensions"]["argument"] == argument


def test_the_default_page_is_the_newest_ten_and_twenty(
    http: httpx.Client, ids: dict[str, str]
) -> None:
    assert len(_page(http, "transactions", ids["ann"])["edges"]) == 7
    assert _page(http, "transactions", ids["ann"])["pageInfo"]["hasPreviousPage"] is False
    assert len(_page(http, "activity", ids["ann"])["edges"]) == 10  # 7 purchases, 3 visits


def test_a_cursor_is_taken_by_another_gateway_over_the_store(
    http: httpx.Client, ids: dict[str, str], folder: Path
) -> None:
    page = _page(http, "transactions", ids["ann"], first=3)
    after = page["pageInfo"]["endCursor"]
    rest = _page(http, "transactions", ids["ann"], first=10, after=after)
    with _served(folder) as other:
        assert _page(other, "transactions", ids["ann"], first=10, after=after) == rest


def test_a_cursor_pages_on_by_the_id_it_was_read_by_after_a_merge(
    http: httpx.Client, ids: dict[str, str]
) -> None:
    # Given a page of Bo's purchases read by his ID: Oct 3 and Oct 2
    page = _page(http, "transactions", ids["bo"], first=2)
    # When a steward links Bo's contact to Ann's (one of the two IDs now redirects)
    link = """mutation { linkRecords(a: {source: CRM, key: "C-ANN"}, b: {source: CRM, key: "C-BO"},
      reason: "one person's two contacts, T-7") { id } }"""
    assert "errors" not in _post(http, link)
    # Then his cursor still reads on by his ID, in the merged list: the three purchases
    # older than Oct 2 at 10:00 (Ann's Oct 2 sorts after Bo's by its id, then both Oct 1)
    on = _page(http, "transactions", ids["bo"], first=20, after=page["pageInfo"]["endCursor"])
    assert on["totalCount"] == 10
    assert len(on["edges"]) == 3
    assert (on["pageInfo"]["hasNextPage"], on["pageInfo"]["hasPreviousPage"]) == (False, True)

"""Writes and probes while another connection holds the store's file locked (``BEGIN
EXCLUSIVE``, as a backup, a ``load`` or an operator's script would), on a real uvicorn
server over a real SQLite file.

A mutation's answer says what the store holds afterwards, in both directions: refused
(``STORE_UNAVAILABLE`` or ``TIMEOUT``) means nothing was written, an answer with data means
it was; a push refused for the lock answers 503 ``STORE_UNAVAILABLE`` whichever of the
file's tables it was writing; ``/readyz`` answers while a push waits on the lock.
No time is asserted: the lock is let go only after what is checked has answered.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest

import membergraph.connectors.sqlite
import membergraph.health
import membergraph.identity.store.sqlite
from membergraph.app import create_app
from membergraph.connectors.models import SourceName
from membergraph.settings import Settings
from tests.support.http import serving

BUDGET = 1.0  # the request's time budget, seconds
BUSY = 2.0  # how long the gateway's own connections wait for the lock (30 s as shipped)
CLIENT_WAIT = 120.0  # far past both: an answer that never comes fails the test
LINK = """mutation ($a: RecordRefInput!, $b: RecordRefInput!) {
  linkRecords(a: $a, b: $b, reason: "locked store test") { id records { source key } } }"""
MEMBER = "query ($m: ID!) { member(id: $m) { id redirectedFrom records { source key } } }"
MEMBERS = "{ members(first: 100) { edges { node { id records { source key } } } } }"


@pytest.fixture
def gateway(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, Any]]:
    monkeypatch.setattr(membergraph.identity.store.sqlite, "BUSY_SECONDS", BUSY)
    monkeypatch.setattr(membergraph.connectors.sqlite, "BUSY_SECONDS", BUSY)
    app = create_app(settings.model_copy(update={"request_timeout": BUDGET}))
    with serving(app) as address:
        yield f"http://{address}", app


def _path(settings: Settings) -> str:
    return settings.store.removeprefix("sqlite:///")


@contextlib.contextmanager
def _locked(path: str) -> Iterator[sqlite3.Connection]:
    """The store's file write-locked by another connection until the block ends."""
    holder = sqlite3.connect(path, isolation_level=None, timeout=30)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield holder
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _ask(url: str, query: str, **variables: object) -> dict[str, Any]:
    answer = httpx.post(
        f"{url}/graphql", json={"query": query, "variables": variables}, timeout=CLIENT_WAIT
    )
    return dict(answer.json())


def _codes(answer: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in answer.get("errors") or []]


def _contacts(url: str, count: int) -> list[dict[str, Any]]:
    """``count`` members with a CRM contact: id and that record."""
    found = []
    for edge in _ask(url, MEMBERS)["data"]["members"]["edges"]:
        crm = [r for r in edge["node"]["records"] if r["source"] == "CRM"]
        if crm:
            found.append({"id": edge["node"]["id"], "ref": crm[0]})
    assert len(found) >= count, found
    return found[:count]


def _merged(url: str, a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Whether the store holds a's and b's records in one member now."""
    member = _ask(url, MEMBER, m=a["id"])["data"]["member"]
    return b["ref"] in member["records"]


def test_a_link_refused_for_the_lock_is_not_made(
    gateway: tuple[str, Any], settings: Settings
) -> None:
    url, _ = gateway
    a, b = _contacts(url, 2)
    with _locked(_path(settings)):
        answer = _ask(url, LINK, a=a["ref"], b=b["ref"])  # answered while the lock is held
    assert _codes(answer) == ["STORE_UNAVAILABLE"], answer
    assert "nothing was changed" in answer["errors"][0]["message"]
    assert not _merged(url, a, b)  # the lock let go: nothing was waiting to write it
    # Sent again, it is made, and answered so.
    again = _ask(url, LINK, a=a["ref"], b=b["ref"])
    assert "errors" not in again, again
    assert _merged(url, a, b)


def test_a_links_answer_says_what_the_store_holds(
    gateway: tuple[str, Any], settings: Settings
) -> None:
    """Links sent while the lock is held, the lock let go at points before, around and past
    the request's budget: whatever each answers, the store holds the same."""
    url, _ = gateway
    members = _contacts(url, 10)
    pairs = list(zip(members[::2], members[1::2], strict=True))
    answered: list[tuple[dict[str, Any], bool]] = []
    for n, (a, b) in enumerate(pairs):
        let_go = threading.Event()
        with _locked(_path(settings)):
            asked: dict[str, Any] = {}
            thread = threading.Thread(
                target=lambda a=a, b=b, asked=asked: asked.update(
                    _ask(url, LINK, a=a["ref"], b=b["ref"])
                )
            )
            thread.start()
            # Let go after 0, 0.4, 0.8, 1.2, 1.6 budgets, or once answered if sooner.
            thread.join(timeout=n * 0.4 * BUDGET)
            let_go.set()
        thread.join(CLIENT_WAIT)
        answered.append((asked, _merged(url, a, b)))
    for answer, merged in answered:
        if merged:  # made: answered with the member it made
            assert "errors" not in answer, answer
            assert answer["data"]["linkRecords"][0]["records"], answer
        else:  # refused: said so, with a code that says nothing was written
            assert set(_codes(answer)) <= {"STORE_UNAVAILABLE", "TIMEOUT"}, answer
            assert _codes(answer), answer


def test_a_suppression_refused_for_the_lock_is_not_kept(
    gateway: tuple[str, Any], settings: Settings
) -> None:
    url, _ = gateway
    suppress = 'mutation { suppress(kind: EMAIL, value: "held.lock@mail-example.org") }'
    with _locked(_path(settings)):
        answer = _ask(url, suppress)
    assert _codes(answer) == ["STORE_UNAVAILABLE"], answer
    unsuppress = 'mutation { unsuppress(kind: EMAIL, value: "held.lock@mail-example.org") }'
    assert _ask(url, unsuppress)["data"] == {"unsuppress": False}  # nothing was kept


def _purchase(n: int) -> bytes:
    line = {
        "transaction_id": f"T-LOCKED-{n}",
        "email": f"locked.{n}@mail-example.org",
        "channel": "online",
        "occurred_at": "2026-11-20T10:00:00Z",
        "amount_cents": 1200,
    }
    return orjson.dumps(line) + b"\n"


def _push(url: str, body: bytes) -> httpx.Response:
    return httpx.post(
        f"{url}/ingest/transactions",
        content=body,
        headers={"Content-Type": "application/x-ndjson"},
        timeout=CLIENT_WAIT,
    )


def test_a_push_refused_for_the_lock_on_its_lines_says_store_unavailable(
    gateway: tuple[str, Any], settings: Settings
) -> None:
    url, _ = gateway
    with _locked(_path(settings)):
        refused = _push(url, _purchase(1))
    assert refused.status_code == 503, refused.text
    assert refused.json()["code"] == "STORE_UNAVAILABLE", refused.text
    assert "nothing was taken" in refused.json()["error"]
    taken = _push(url, _purchase(1))  # nothing was taken: sent again, it is new
    assert taken.json()["lines"][0]["status"] == "created", taken.text


def test_a_push_refused_for_the_lock_on_identity_says_store_unavailable(
    gateway: tuple[str, Any], settings: Settings
) -> None:
    """The lock taken once the push's lines are written, before its identity is: the same
    code, and the lines sent again are finished."""
    url, app = gateway
    holder: list[sqlite3.Connection] = []

    async def lock_after_the_lines(step: str) -> None:
        if step == "written" and not holder:
            held = sqlite3.connect(_path(settings), isolation_level=None, check_same_thread=False)
            held.execute("BEGIN EXCLUSIVE")
            holder.append(held)

    app.state.ingest.steps = lock_after_the_lines
    try:
        refused = _push(url, _purchase(2))
    finally:
        app.state.ingest.steps = None
        for held in holder:
            held.execute("ROLLBACK")
            held.close()
    assert holder, "the push never wrote its lines"
    assert refused.status_code == 503, refused.text
    assert refused.json()["code"] == "STORE_UNAVAILABLE", refused.text
    again = _push(url, _purchase(2))
    assert again.status_code == 200, again.text


def _ready(url: str) -> httpx.Response:
    return httpx.get(f"{url}/readyz", timeout=CLIENT_WAIT)


def test_readyz_answers_while_a_push_waits_on_the_lock(
    gateway: tuple[str, Any], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A push's write waits on the lock in the source table's thread; ``/readyz`` reads
    beside it and answers before that write gives up (the store reads: ready)."""
    url, app = gateway
    lines = app.state.gateway.sources[SourceName.TRANSACTIONS].lines
    sent, returned = threading.Event(), threading.Event()
    run = lines.run

    async def noted(fn: Any, *args: Any) -> Any:
        writes = getattr(fn, "__name__", "") == "take"  # (the push's append)
        if writes:
            sent.set()
        try:
            return await run(fn, *args)
        finally:
            if writes:
                returned.set()

    monkeypatch.setattr(lines, "run", noted)
    pushed: list[httpx.Response] = []
    with _locked(_path(settings)):
        thread = threading.Thread(target=lambda: pushed.append(_push(url, _purchase(3))))
        thread.start()
        assert sent.wait(CLIENT_WAIT), "the push never wrote"
        ready = _ready(url)
        waited = not returned.is_set()  # the push's write still waits on the lock
    thread.join(CLIENT_WAIT)
    assert waited, "/readyz answered only once the push's write gave up"
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ready"
    assert pushed[0].json()["lines"][0]["status"] == "created", pushed[0].text  # (let go)


def test_readyz_says_503_when_the_store_does_not_answer(
    gateway: tuple[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store whose probe does not answer (a stalled disk or server; a write probe behind
    a lock) is 503 within the probe's bound, saying so, while it still hangs."""
    monkeypatch.setattr(membergraph.health, "PROBE_WAIT", 0.2)
    url, app = gateway
    store = app.state.gateway.identity.store
    let_go = threading.Event()

    async def hangs() -> dict[str, int]:
        await asyncio.to_thread(let_go.wait)
        return {}

    monkeypatch.setattr(store, "ping", hangs)
    try:
        ready = _ready(url)
        hung = not let_go.is_set()
    finally:
        let_go.set()
    assert hung
    assert ready.status_code == 503, ready.text
    assert ready.json()["store"] == {"error": "the identity store did not answer within 0.2 s"}
    monkeypatch.undo()
    assert _ready(url).json()["status"] == "ready"


def test_an_erasure_refused_for_the_lock_erases_nothing(
    gateway: tuple[str, Any], settings: Settings
) -> None:
    url, _ = gateway
    (member,) = _contacts(url, 1)
    erase = """mutation ($m: ID!) {
      eraseMember(id: $m, reason: "TICKET-1", suppress: true) { id state } }"""
    with _locked(_path(settings)):
        answer = _ask(url, erase, m=member["id"])
    assert _codes(answer) == ["STORE_UNAVAILABLE"], answer
    still = _ask(url, MEMBER, m=member["id"])["data"]["member"]
    assert still is not None and member["ref"] in still["records"]
    requests = _ask(url, "{ privacyRequests(first: 10) { id } }")
    assert requests["data"]["privacyRequests"] == [], requests

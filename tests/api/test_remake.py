"""Answers kept ahead stay ahead: the warm queries' answers a change dropped are made again in
the background by one process, so the member's next request is a hit with the new bytes,
never the old ones; the queue of members waiting is bounded."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import orjson
import pytest

from membergraph.app import create_app
from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.store.answers import AnswersStore, AnswerToKeep
from membergraph.response_cache.remake import LEASE_S, SCAN_S, Remaker
from membergraph.response_cache.stored import StoredLevel
from membergraph.response_cache.warm import Lookup
from membergraph.settings import Settings
from tests.api.test_response_cache import CONTACT, KEYS, Client, _points, _purchase
from tests.api.test_warm import NAMED, _warm, warmable  # noqa: F401 (a fixture)
from tests.support.http import serving
from tests.support.serve import serve_ready, until
from tests.support.stores import kept_answers, open_store, two_processes


@pytest.fixture
def remaking(warmable: Settings) -> Settings:  # noqa: F811
    return warmable.model_copy(
        update={"response_cache_warm": ["Profile"], "response_cache_warm_as": "personalization"}
    )


def _profile(client: Client) -> dict[str, Any]:
    answer = client.http.post(
        "/graphql", json={"query": NAMED, "variables": {"e": CONTACT["emails"][0]}}
    )
    assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
    return answer.json()["data"]["memberByIdentifier"]  # type: ignore[no-any-return]


async def test_a_change_then_a_request_is_a_hit_with_the_new_bytes(
    remaking: Settings, connect: Callable[..., Client]
) -> None:
    # Given the profile answered ahead for every e-mail, served from the store
    assert await _warm(remaking, "Profile") > 100
    with serving(create_app(remaking)) as address:
        client = connect(address)
        before = _points(_profile(client))
        assert (client.cache("stored_hits"), client.cache("stored_misses")) == (1, 0)
        # When a purchase of hers is acknowledged, and her answer made again behind it
        client.ingest("transactions", _purchase(1, 25))
        assert until(lambda: _remade(client))
        # Then her next request is served from the store, with the purchase in it
        assert _points(_profile(client)) == before + 25
        assert (client.cache("stored_hits"), client.cache("stored_misses")) == (2, 0)
        assert client.figures("response_cache_remake_leading")[0] == 1


async def test_without_warm_queries_nothing_is_made_again(
    warmable: Settings,  # noqa: F811
    connect: Callable[..., Client],
) -> None:
    # Given answers kept ahead but no warm query named to the gateway
    assert await _warm(warmable, "Profile") > 100
    with serving(create_app(warmable)) as address:
        client = connect(address)
        before = _points(_profile(client))
        client.ingest("transactions", _purchase(1, 25))
        # Then the request after a change is answered afresh (a miss), with the new bytes
        assert _points(_profile(client)) == before + 25
        assert (client.cache("stored_hits"), client.cache("stored_misses")) == (1, 1)


def _remade(client: Client) -> bool:
    """Every member queued is made again and written (the change's entries, a link of her
    card's record then the purchase, may come in two reads of the feed: the first re-make
    is then not kept, a change came after its reads began)."""
    names = ("queued", "remade", "waiting")
    queued, remade, waiting = client.figures(*(f"response_cache_remake_{n}" for n in names))
    kept, stale = client.figures("response_cache_stored_kept", "response_cache_stored_stale")
    return queued >= 1 and remade == queued and not waiting and kept + stale == remade


def _entry(*members: str, kind: ChangeKind = ChangeKind.PURCHASE_RECORDED) -> FeedEntry:
    return FeedEntry(kind, members)


class _NoStore:
    answers = None


def test_the_members_waiting_are_bounded_and_each_waits_once() -> None:
    # Given a re-maker that holds the lease, with room for two members
    made = Remaker(None, [], {}, _NoStore(), limit=2)  # type: ignore[arg-type]
    made.leading = True
    # When changes name three members, one of them twice, and an erased one
    made.follow([_entry("m_1"), _entry("m_1", "m_2"), _entry("m_3")])
    made.follow([_entry("m_4", kind=ChangeKind.ERASED)])
    # Then two wait, each once, and the third is counted as not queued
    assert (made.waiting, made.queued, made.overflow) == (2, 2, 1)


def test_a_process_without_the_lease_queues_nothing() -> None:
    made = Remaker(None, [], {}, _NoStore())  # type: ignore[arg-type]
    made.follow([_entry("m_1")])
    assert (made.waiting, made.queued) == (0, 0)


async def test_of_two_processes_over_one_store_one_makes_again_what_the_other_was_told(
    remaking: Settings, connect: Callable[..., Client], tmp_path: Path
) -> None:
    # Given the profile answered ahead, and two gateways over the store
    assert await _warm(remaking, "Profile") > 100
    assert remaking.data is not None and remaking.persisted_queries is not None
    settings = {
        "api_keys": orjson.dumps(KEYS).decode(),
        "persisted_queries": str(remaking.persisted_queries),
        "response_cache_entries": "0",
        "response_cache_stored_entries": "100000",
        "response_cache_warm": '["Profile"]',
        "response_cache_warm_as": "personalization",
    }
    store = Path(remaking.store.removeprefix("sqlite:///"))
    with (
        serve_ready(remaking.data, store, **settings) as (a, _),
        serve_ready(remaking.data, store, **settings) as (b, _),
    ):
        one, two = connect(a), connect(b)
        # Then exactly one of them holds the re-make lease
        leading = [c.figures("response_cache_remake_leading")[0] for c in (one, two)]
        assert sorted(leading) == [0, 1]
        holder, other = (one, two) if leading[0] else (two, one)
        before = _points(_profile(other))
        # When a purchase is acknowledged by the other one
        other.ingest("transactions", _purchase(2, 30))
        # Then the holder makes her answer again (it reads the change from the feed: all of
        # it, up to where the other one read its own write before answering), and the other
        # serves it from the store with the purchase in it
        (written,) = other.figures("feed_position")
        assert until(lambda: holder.figures("feed_position")[0] >= written)
        assert until(lambda: _remade(holder))
        assert _points(_profile(other)) == before + 30
        assert other.cache("stored_misses") == 0
        assert other.figures("response_cache_remake_queued")[0] == 0


async def test_a_lease_taken_over_loses_no_member_waiting(tmp_path: Path) -> None:
    now = [1_000_000.0]
    async with two_processes("sqlite", tmp_path) as (one, two):

        def remaker(store: Any) -> Remaker:
            level = StoredLevel(kept_answers(store), 100, 1 << 20, 60, clock=lambda: now[0])
            return Remaker(None, [], {}, level, clock=lambda: now[0])  # type: ignore[arg-type]

        # (``_lead`` is the renewal the running task tries every 5 s: called here, on a
        # clock of the test's, not waited for)
        first, second = remaker(one), remaker(two)
        await first._lead()
        await second._lead()
        assert (first.leading, second.leading) == (True, False)
        # Given a change both workers' followers read: the holder queues her
        for made in (first, second):
            made.follow([_entry("m_1")])
        assert (first.waiting, second.waiting) == (1, 0)
        # When the holder stalls past its lease (a long batch, a blocked loop), the other
        # worker takes it over, then the stalled one finds it lost
        now[0] += LEASE_S + 1
        await second._lead()
        await first._lead()
        assert (first.leading, second.leading) == (False, True)
        # Then she still waits to be made again (the new holder did not hear of her), and a
        # change after the handover is the new holder's alone
        assert (first.waiting, second.waiting) == (1, 0)
        for made in (first, second):
            made.follow([_entry("m_2")])
        assert (first.waiting, second.waiting) == (1, 1)


class _Broken:
    """An app whose request path raises (a bug below /graphql: Starlette's
    ``ServerErrorMiddleware`` answers 500, then raises again)."""

    def __init__(self, store: Any) -> None:
        self.state = SimpleNamespace(gateway=SimpleNamespace(identity=SimpleNamespace(store=store)))
        self.calls = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.calls += 1
        await send({"type": "http.response.start", "status": 500, "headers": []})
        await send({"type": "http.response.body", "body": b"Internal Server Error"})
        raise RuntimeError("a bug under /graphql")


async def test_an_unexpected_failure_is_counted_said_once_and_re_making_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with open_store("sqlite", tmp_path) as store:
        app = _Broken(store)
        level = StoredLevel(kept_answers(store), 100, 1 << 20, 60)
        lookup = Lookup(
            "P", "query P($id: ID!) { member(id: $id) { id } }", "member", None, "id", False
        )
        made = Remaker(app, [lookup], {}, level)  # type: ignore[arg-type]
        await made.start()
        try:
            assert made.leading
            # Given one request of the re-maker failed unexpectedly
            made.follow([_entry("m_1")])
            async with asyncio.timeout(10):  # (a hang guard, not a timing assert)
                await made.settled()
            # When another change comes
            made.follow([_entry("m_2")])
            # Then it is made again too (the failure counted, the task alive)
            async with asyncio.timeout(10):
                await made.settled()
            assert (app.calls, made.failed, made.remade) == (2, 2, 0)
        finally:
            await made.aclose()  # (and its close does not raise the old failure)
        # and the failure is said once, with its traceback, not once per answer
        said = [r for r in caplog.records if r.name == "membergraph.response_cache.remake"]
        assert len(said) == 1 and said[0].exc_info is not None, said


class _Level:
    """The store's level as the re-maker reads it: its kept answers."""

    def __init__(self, answers: AnswersStore) -> None:
        self.answers = answers


class _Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_answers_past_the_read_limit_are_made_again_or_counted(tmp_path: Path) -> None:
    # Given a re-maker bounded to two members, over a store keeping four answers (a warm's,
    # made together) that stop being true 70 s (two together), 80 and 90 s after its first
    # read ahead, so after its second
    t0 = 1_800_000_000.0
    async with open_store("sqlite", tmp_path) as store:
        answers = kept_answers(store)
        made = [(b"a", "m_a", 70), (b"b", "m_b", 70), (b"c", "m_c", 80), (b"d", "m_d", 90)]
        kept = [AnswerToKeep(k, b"{}", (m, "v:tag"), 0, t0 + s) for k, m, s in made]
        await answers.keep(kept, 100, 1 << 20, t0)
        clock = _Clock(t0)
        remaker = Remaker(None, [], {}, _Level(answers), limit=2, clock=clock)  # type: ignore[arg-type]
        # When it reads ahead every SCAN_S, as its loop does
        for n in range(3):
            clock.now = t0 + n * SCAN_S
            await remaker.look_ahead()
    # Then each member was queued at (or after) her answer's moment, or counted as left
    # out (the queue holds two): none is lost unsaid
    assert (remaker.expiring, remaker.overflow) == (2, 2)


async def test_a_warms_answers_reach_their_ttl_spread_over_its_last_tenth(
    tmp_path: Path,
) -> None:
    # Given the store's level with a day's TTL
    now, day = 1_800_000_000.0, 86_400.0
    async with open_store("sqlite", tmp_path) as store:
        answers = kept_answers(store)
        level = StoredLevel(answers, 1000, 1 << 20, day, clock=lambda: now)
        # When a warm keeps a hundred answers at once, and a client one
        for n in range(100):
            level.keep_later(f"warm {n}".encode(), b"{}", {f"m_{n}"}, 0, now, spread=True)
        level.keep_later(b"client", b"{}", {"m_client"}, 0, now)
        await level.flush()
        found = await answers.expiring(now, now + day, 1000)
    # Then the warm's reach their TTL spread over its last tenth, not in the same minutes;
    # the client's lives its whole TTL
    warm = [at for at, members in found if members != ("m_client",)]
    assert len(warm) == 100 and min(warm) >= now + 0.9 * day
    assert max(warm) - min(warm) > 0.05 * day
    assert (now + day, ("m_client",)) in found

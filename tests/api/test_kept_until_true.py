"""A kept answer lives exactly as long as it is true: its figures are as of the request's
instant, and it is kept, on both levels, until the first moment they move with the clock
(an offer expiring, a purchase leaving the 12-month window) or its TTL, whichever is
sooner. On an injected clock: no timing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.response_cache.remake import SCAN_S
from membergraph.response_cache.warm import warm
from membergraph.settings import Settings
from tests.api.test_response_cache import CONTACT, KEYS, MASKED
from tests.api.test_warm import NAMED, warmable  # noqa: F401 (a fixture)

OFFER_ENDS = datetime(2026, 11, 10, 15, 0, tzinfo=UTC)
BOUGHT = datetime(2025, 11, 10, 15, 0, tzinfo=UTC)  # leaves the 12-month window a year on
LEAVES = BOUGHT + timedelta(days=365)
SECOND = timedelta(seconds=1)

ASK = """query ($e: String!) { memberByIdentifier(kind: EMAIL, value: $e) {
  id offers { offer state } loyalty { rolling12mSpendCents } } }"""
NO_CLOCK = """query ($e: String!) { memberByIdentifier(kind: EMAIL, value: $e) {
  id profile { firstName } } }"""

FIRST = {"response_cache_entries": 100}  # the process's memory only
STORED = {"response_cache_entries": 0, "response_cache_stored_entries": 100}  # the store's
STORED_BOTH = {"response_cache_stored_entries": 100}


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at.timestamp()

    def __call__(self) -> float:
        return self.now

    def at(self, moment: datetime) -> None:
        self.now = moment.timestamp()


@dataclass
class Gateway:
    http: TestClient
    clock: Clock

    def ask(self, query: str = ASK) -> dict[str, Any]:
        # The follower has read the feed (on a loaded machine its last read may be over the
        # second ago the cache asks of it, and the answer is then made afresh, not kept)
        follower = self.http.app.state.response_cache.follower  # type: ignore[attr-defined]
        if follower is not None:
            self.http.portal.call(follower.catch_up)  # type: ignore[union-attr]
        said = {"query": query, "variables": {"e": CONTACT["emails"][0]}}
        answer = self.http.post("/graphql", json=said)
        assert answer.status_code == 200 and "errors" not in answer.json(), answer.text
        return answer.json()["data"]["memberByIdentifier"]  # type: ignore[no-any-return]

    def hits(self) -> int:
        """Answers served from either level so far (once every kept one is written)."""
        responses = self.http.app.state.response_cache  # type: ignore[attr-defined]
        stored = responses.stored
        if stored is not None:
            self.http.portal.call(stored.flush)  # type: ignore[union-attr]
        return int(responses.cache.hits + (stored.hits if stored is not None else 0))


def _lines(data_dir: Path, contact: bool = True) -> None:
    """Her contact, a purchase on her card a year before LEAVES, an offer ending OFFER_ENDS."""
    if contact:
        with (data_dir / "crm.jsonl").open("ab") as handle:
            handle.write(orjson.dumps(CONTACT) + b"\n")
    purchase = {
        "transaction_id": "T-UNTIL-1",
        "loyalty_id": CONTACT["loyalty_id"],
        "channel": "store",
        "occurred_at": BOUGHT.isoformat(),
        "amount_cents": 4200,
        "points_earned": 42,
    }
    with (data_dir / "transactions.jsonl").open("ab") as handle:
        handle.write(orjson.dumps(purchase) + b"\n")
    offer = {
        "event_id": "E-UNTIL-1",
        "anonymous_id": "anon-until",
        "user_id": CONTACT["contact_id"],
        "type": "track",
        "name": "Offer Issued",
        "occurred_at": "2026-11-01T09:00:00Z",
        "properties": {"offer": "BONUS-UNTIL", "expires_at": OFFER_ENDS.isoformat()},
    }
    with (data_dir / "web_analytics.jsonl").open("ab") as handle:
        handle.write(orjson.dumps(offer) + b"\n")


@pytest.fixture
def lines(settings: Settings, data_dir: Path) -> Settings:
    _lines(data_dir)
    return settings.model_copy(update={"api_keys": Settings(api_keys=KEYS).api_keys})


@pytest.fixture(params=[pytest.param(FIRST, id="memory"), pytest.param(STORED, id="store")])
def gateway(request: pytest.FixtureRequest, lines: Settings) -> Iterator[Gateway]:
    app = create_app(lines.model_copy(update=request.param))
    headers = {"Authorization": f"Bearer {MASKED}"}
    with TestClient(app, base_url="http://127.0.0.1", headers=headers) as http:
        clock = Clock(OFFER_ENDS - SECOND)
        responses = app.state.response_cache
        responses.clock = responses.cache.clock = clock  # (the first level's is its own)
        if responses.stored is not None:
            responses.stored.clock = clock
        yield Gateway(http, clock)


def _state(member: dict[str, Any]) -> str:
    return str(member["offers"][0]["state"])


def test_an_answer_kept_before_an_offer_expires_is_not_served_after(gateway: Gateway) -> None:
    # Given her answer made a second before her offer expires, and kept
    assert _state(gateway.ask()) == "ISSUED"
    hits = gateway.hits()
    assert _state(gateway.ask()) == "ISSUED"
    assert gateway.hits() == hits + 1  # (kept: the second ask was served)
    # When she asks again a second after it expired
    gateway.clock.at(OFFER_ENDS + SECOND)
    # Then the kept answer is not served: the new one says EXPIRED
    assert _state(gateway.ask()) == "EXPIRED"
    assert gateway.hits() == hits + 1


def test_the_first_level_serves_no_answer_past_its_moment_when_the_wall_clock_steps(
    lines: Settings,
) -> None:
    # Given the process's memory level, which ages its answers by the monotonic clock while
    # their moments are wall-clock time (as in production: time.monotonic, time.time), her
    # answer kept ten seconds before her offer expires
    app = create_app(lines.model_copy(update=FIRST))
    headers = {"Authorization": f"Bearer {MASKED}"}
    with TestClient(app, base_url="http://127.0.0.1", headers=headers) as http:
        wall, monotonic = Clock(OFFER_ENDS - 10 * SECOND), Clock(OFFER_ENDS - 10 * SECOND)
        responses = app.state.response_cache
        responses.clock, responses.cache.clock = wall, monotonic
        gateway = Gateway(http, wall)
        assert _state(gateway.ask()) == "ISSUED"
        hits = gateway.hits()
        assert _state(gateway.ask()) == "ISSUED"
        assert gateway.hits() == hits + 1  # (kept: the second ask was served)
        # When the wall clock steps 20 s ahead (NTP correcting a drifted host, a VM resumed)
        # while the monotonic one moves a second
        wall.at(OFFER_ENDS + 10 * SECOND)
        monotonic.at(OFFER_ENDS - 9 * SECOND)
        # Then the kept answer is not served: the new one says EXPIRED
        assert _state(gateway.ask()) == "EXPIRED"
        assert gateway.hits() == hits + 1


def test_an_answer_kept_before_a_purchase_leaves_the_window_is_not_served_after(
    gateway: Gateway,
) -> None:
    # Given her answer made a second before her purchase leaves the 12-month window
    gateway.clock.at(LEAVES - SECOND)
    assert gateway.ask()["loyalty"]["rolling12mSpendCents"] == 4200
    hits = gateway.hits()
    # When she asks a second after it left
    gateway.clock.at(LEAVES + SECOND)
    # Then the new answer is made: the purchase is out of her 12-month spend
    assert gateway.ask()["loyalty"]["rolling12mSpendCents"] == 0
    assert gateway.hits() == hits


def test_an_answer_that_reads_no_clock_lives_its_ttl(gateway: Gateway) -> None:
    # Given an answer that reads no field moving with the clock, kept
    gateway.ask(NO_CLOCK)
    hits = gateway.hits()
    responses = gateway.http.app.state.response_cache  # type: ignore[attr-defined]
    level = responses.stored or responses.cache
    # Then it is served past the moments the other answers stop being true, within its TTL
    gateway.clock.at(OFFER_ENDS + timedelta(seconds=level.ttl_s - 2))
    gateway.ask(NO_CLOCK)
    assert gateway.hits() == hits + 1
    # and not after it
    gateway.clock.at(OFFER_ENDS + timedelta(seconds=level.ttl_s))
    gateway.ask(NO_CLOCK)
    assert gateway.hits() == hits + 1


def test_the_store_serves_an_answer_that_reads_no_clock_a_day_later(lines: Settings) -> None:
    # Given the store's level at its default TTL (the clock exact, changes dropping answers
    # at once: what is left for the TTL to guard is slow), an answer reading no clock kept
    app = create_app(lines.model_copy(update=STORED))
    headers = {"Authorization": f"Bearer {MASKED}"}
    with TestClient(app, base_url="http://127.0.0.1", headers=headers) as http:
        clock = Clock(OFFER_ENDS)
        app.state.response_cache.clock = app.state.response_cache.stored.clock = clock
        gateway = Gateway(http, clock)
        gateway.ask(NO_CLOCK)
        hits = gateway.hits()
        # When it is asked again a day later
        clock.at(OFFER_ENDS + timedelta(hours=23))
        gateway.ask(NO_CLOCK)
        # Then the store serves it
        assert gateway.hits() == hits + 1


@contextmanager
def _remaking(base: Settings, data_dir: Path, at: datetime) -> Iterator[tuple[Gateway, Any]]:
    """A gateway that makes its warm query's answers again (its re-maker too), over her
    purchase, on a clock set at ``at``."""
    _lines(data_dir, contact=False)
    settings = base.model_copy(
        update={"response_cache_warm": ["Profile"], "response_cache_warm_as": "personalization"}
    )
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {MASKED}"}
    with TestClient(app, base_url="http://127.0.0.1", headers=headers) as http:
        clock = Clock(at)
        responses, remaker = app.state.response_cache, app.state.response_cache.remaker
        responses.clock = responses.stored.clock = remaker.clock = clock
        yield Gateway(http, clock), remaker


def test_the_warm_answers_are_made_again_at_the_moment_they_stop_being_true(
    warmable: Settings,  # noqa: F811
    data_dir: Path,
) -> None:
    # Given a gateway that makes its warm query's answers again, and her answer to it kept
    # a hundred seconds before her purchase leaves the 12-month window
    with _remaking(warmable, data_dir, LEAVES - 100 * SECOND) as (gateway, remaker):
        http, clock = gateway.http, gateway.clock
        gateway.ask(NAMED)
        hits = gateway.hits()
        # When the re-maker reads ahead, then again once the moment came
        http.portal.call(remaker.look_ahead)
        assert remaker.expiring == 0  # (not before its moment: it would be as of then)
        clock.at(LEAVES + SECOND)
        http.portal.call(remaker.look_ahead)
        http.portal.call(remaker.settled)
        # Then her answer was made again as of then, and her next request is served it
        assert remaker.expiring == 1 and remaker.remade >= 1
        gateway.ask(NAMED)
        assert gateway.hits() == hits + 1


def test_an_answer_kept_between_two_reads_ahead_is_made_again_at_its_moment(
    warmable: Settings,  # noqa: F811
    data_dir: Path,
) -> None:
    # Given a gateway that makes its warm query's answers again, whose re-maker read ahead
    # a second before her answer was kept, thirty seconds before her purchase leaves the
    # 12-month window
    with _remaking(warmable, data_dir, LEAVES - 31 * SECOND) as (gateway, remaker):
        http, clock = gateway.http, gateway.clock
        http.portal.call(remaker.look_ahead)
        clock.at(LEAVES - 30 * SECOND)
        gateway.ask(NAMED)
        hits = gateway.hits()  # (written)
        # When it reads ahead again a minute after the first read, the moment passed between
        clock.at(LEAVES - 31 * SECOND + timedelta(seconds=SCAN_S))
        http.portal.call(remaker.look_ahead)
        http.portal.call(remaker.settled)
        # Then her answer was made again then, and her next request is served it
        assert remaker.expiring == 1 and remaker.remade >= 1
        gateway.ask(NAMED)
        assert gateway.hits() == hits + 1


async def test_a_warm_counts_its_answers_by_when_they_stop_being_true(
    warmable: Settings,  # noqa: F811
) -> None:
    # Given the demo's people, whose purchases leave their 12-month window on days to come
    app = create_app(warmable)
    async with app.router.lifespan_context(app):
        done = await warm(app, warmable, ["Profile"], "personalization")
    # Then the warm's report counts every answer it kept once: those that stop being true
    # by the clock within each span, and those that never do
    counts = done[0].lifetimes
    assert sum(counts) == done[0].kept > 100
    assert sum(counts[:-1]) > 0 and counts[-1] > 0


def test_a_stored_answer_copied_to_memory_keeps_the_stores_moment(lines: Settings) -> None:
    # Given her answer kept in the store by one process a second before her offer expires
    both = lines.model_copy(update={"response_cache_entries": 100, **STORED_BOTH})
    headers = {"Authorization": f"Bearer {MASKED}"}
    clock = Clock(OFFER_ENDS - SECOND)
    made, served = create_app(both), create_app(both)
    with (
        TestClient(made, base_url="http://127.0.0.1", headers=headers) as first,
        TestClient(served, base_url="http://127.0.0.1", headers=headers) as other,
    ):
        for app in (made, served):
            responses = app.state.response_cache
            responses.clock = responses.cache.clock = responses.stored.clock = clock
        assert _state(Gateway(first, clock).ask()) == "ISSUED"
        Gateway(first, clock).hits()  # (written)
        # When another process is served it twice (so it keeps it in its memory too)
        on_other = Gateway(other, clock)
        for _ in range(2):
            assert _state(on_other.ask()) == "ISSUED"
        assert other.app.state.response_cache.stored.hits == 2  # type: ignore[attr-defined]
        # Then its memory serves it no later than the store would: EXPIRED after the moment
        clock.at(OFFER_ENDS + SECOND)
        assert _state(on_other.ask()) == "EXPIRED"

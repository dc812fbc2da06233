"""How long a kept answer lives, on an injected clock: a TTL from the request that made it,
and with no ``reference_date`` (the answers' reference is today) the end of that UTC day at
the latest, whatever the TTL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from membergraph.identity.store import IdentityStore
from membergraph.response_cache.stored import StoredLevel
from tests.support.stores import kept_answers, open_store

DAY = 86400.0
LATE = datetime(2026, 12, 6, 22, 0, tzinfo=UTC).timestamp()  # 22:00 UTC
MIDNIGHT = datetime(2026, 12, 7, tzinfo=UTC).timestamp()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[IdentityStore]:
    async with open_store("sqlite", tmp_path) as opened:
        yield opened


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def _kept_at(store: IdentityStore, clock: Clock, by_day: bool) -> StoredLevel:
    level = StoredLevel(kept_answers(store), 100, 1 << 20, DAY, clock=clock, by_day=by_day)
    level.keep_later(b"k", b"{}", ["m_1"], await store.feed_head(), began=clock())
    await level.flush()
    assert level.kept == 1
    return level


@pytest.mark.parametrize(
    ("by_day", "next_day"),
    [
        pytest.param(True, False, id="reference-today-ends-at-midnight"),
        pytest.param(False, True, id="reference-date-set-lives-its-ttl"),
    ],
)
async def test_an_answer_made_late_lives_until_its_day_ends_when_the_day_is_its_reference(
    store: IdentityStore, by_day: bool, next_day: bool
) -> None:
    # Given an answer made at 22:00 UTC, with a day's TTL
    clock = Clock(LATE)
    level = await _kept_at(store, clock, by_day)
    # Then it is served until the end of its day
    clock.now = MIDNIGHT - 1
    assert await level.read(b"k") is not None
    # and the next day only when its day is not its reference (a reference_date is set)
    clock.now = MIDNIGHT
    assert (await level.read(b"k") is not None) is next_day
    clock.now = LATE + DAY
    assert await level.read(b"k") is None


async def test_an_answer_made_early_lives_its_ttl_within_its_day(store: IdentityStore) -> None:
    clock = Clock(MIDNIGHT - DAY + 60)  # 00:01 UTC
    level = StoredLevel(kept_answers(store), 100, 1 << 20, 3600, clock=clock, by_day=True)
    level.keep_later(b"k", b"{}", ["m_1"], await store.feed_head(), began=clock())
    await level.flush()
    clock.now += 3599
    assert await level.read(b"k") is not None
    clock.now += 1
    assert await level.read(b"k") is None

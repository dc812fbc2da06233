"""How long a kept answer lives, on an injected clock: a TTL from the moment its request's
reads began, not from when the batched writer wrote it (a slow write never lengthens it)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from membergraph.identity.store import IdentityStore
from membergraph.response_cache.stored import StoredLevel
from tests.support.stores import kept_answers, open_store

BEGAN = 1_800_000_000.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[IdentityStore]:
    async with open_store("sqlite", tmp_path) as opened:
        yield opened


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_an_answer_lives_its_ttl_from_when_its_request_began(store: IdentityStore) -> None:
    # Given an answer whose request began at BEGAN, written 30 s later (a busy writer)
    clock = Clock(BEGAN + 30)
    level = StoredLevel(kept_answers(store), 100, 1 << 20, 3600, clock=clock)
    level.keep_later(b"k", b"{}", ["m_1"], await store.feed_head(), began=BEGAN)
    await level.flush()
    assert level.kept == 1
    # Then it is served until a TTL after its request began, not after its write
    clock.now = BEGAN + 3599
    assert await level.read(b"k") is not None
    clock.now = BEGAN + 3600
    assert await level.read(b"k") is None

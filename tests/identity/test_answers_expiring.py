"""Kept answers, each until its own moment, on every adapter: a write drops those past their
moment whatever order they were written in (an answer of a purchase leaving the window
tomorrow may be written after one kept a day)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from membergraph.identity.store import IdentityStore
from membergraph.identity.store.answers import AnswerToKeep
from tests.support.stores import ADAPTERS, kept_answers, open_store

NOW = 1_000_000.0
BOUND = (100, 1 << 20)


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[IdentityStore]:
    async with open_store(request.param, tmp_path) as opened:
        yield opened


def _answer(key: bytes, member: str, expires: float) -> AnswerToKeep:
    return AnswerToKeep(key, b"{}", (member, "v:tag"), 0, expires)


async def test_a_write_drops_the_answers_past_their_moment_in_any_order(
    store: IdentityStore,
) -> None:
    # Given an answer kept a day, then one that stops being true in ten seconds
    answers = kept_answers(store)
    await answers.keep([_answer(b"day", "m_1", NOW + 86_400)], *BOUND, NOW)
    await answers.keep([_answer(b"soon", "m_2", NOW + 10)], *BOUND, NOW)
    # When another is written a minute later
    done = await answers.keep([_answer(b"next", "m_3", NOW + 3600)], *BOUND, NOW + 60)
    # Then the one past its moment is gone, the one written before it stays
    assert (done.evicted, done.entries) == (1, 2)
    assert await answers.read(b"day", NOW + 60) is not None

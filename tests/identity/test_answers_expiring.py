"""Kept answers, each until its own moment, on every adapter: a read says when it expires,
the answers expiring soon are listed soonest first, and a write drops those past their
moment whatever order they were written in (an answer of a purchase leaving the window
tomorrow may be written after one kept a day)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from membergraph.identity.store import IdentityStore
from membergraph.identity.store.answers import KEPT_PAST_S, AnswerToKeep
from tests.support.stores import ADAPTERS, kept_answers, open_store

NOW = 1_000_000.0
BOUND = (100, 1 << 20)


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[IdentityStore]:
    async with open_store(request.param, tmp_path) as opened:
        yield opened


def _answer(key: bytes, member: str, expires: float) -> AnswerToKeep:
    return AnswerToKeep(key, b"{}", (member, "v:tag"), 0, expires)


async def test_the_answers_expiring_soon_are_listed_soonest_first(store: IdentityStore) -> None:
    answers = kept_answers(store)
    kept = [_answer(b"day", "m_1", NOW + 86_400), _answer(b"soon", "m_2", NOW + 10)]
    await answers.keep([*kept, _answer(b"sooner", "m_3", NOW + 5)], *BOUND, NOW)
    found = await answers.read(b"soon", NOW)
    assert found is not None and found.expires == NOW + 10
    assert await answers.expiring(NOW, NOW + 300, 10) == [
        (NOW + 5, ("m_3", "v:tag")),
        (NOW + 10, ("m_2", "v:tag")),
    ]
    assert await answers.expiring(NOW + 5, NOW + 300, 10) == [(NOW + 10, ("m_2", "v:tag"))]
    assert len(await answers.expiring(NOW, NOW + 86_400, 1)) == 1


async def test_answers_expiring_together_are_listed_page_by_page(store: IdentityStore) -> None:
    # Given three answers that stop being true at one moment (an offer's end), and a later
    answers = kept_answers(store)
    together = [_answer(f"k{n}".encode(), f"m_{n}", NOW + 60) for n in range(3)]
    await answers.keep([*together, _answer(b"later", "m_9", NOW + 90)], *BOUND, NOW)
    # When they are read two at a time, each page after the ones read
    pages = [await answers.expiring(NOW, NOW + 300, 2, skip) for skip in (0, 2, 4)]
    # Then each is listed once, soonest first
    listed = [members[0] for page in pages for _, members in page]
    assert sorted(listed[:3]) == ["m_0", "m_1", "m_2"] and listed[3:] == ["m_9"]
    assert [len(page) for page in pages] == [2, 2, 0]


async def test_a_write_drops_the_answers_past_their_moment_in_any_order(
    store: IdentityStore,
) -> None:
    # Given an answer kept a day, then one that stops being true in ten seconds
    answers = kept_answers(store)
    await answers.keep([_answer(b"day", "m_1", NOW + 86_400)], *BOUND, NOW)
    await answers.keep([_answer(b"soon", "m_2", NOW + 10)], *BOUND, NOW)
    # When another is written a minute later, then once the re-maker had time to read it
    later = NOW + 60
    done = await answers.keep([_answer(b"next", "m_3", NOW + 3600)], *BOUND, later)
    assert (done.evicted, done.entries) == (0, 3)
    later = NOW + 10 + KEPT_PAST_S + 1
    done = await answers.keep([_answer(b"last", "m_4", NOW + 3600)], *BOUND, later)
    # Then the one past its moment is gone, the one written before it stays
    assert (done.evicted, done.entries) == (1, 3)
    assert await answers.read(b"day", later) is not None


async def test_an_answer_past_its_moment_is_not_served_but_listed_a_while(
    store: IdentityStore,
) -> None:
    # Given an answer that stopped being true ten seconds after it was kept
    answers = kept_answers(store)
    await answers.keep([_answer(b"soon", "m_2", NOW + 10)], *BOUND, NOW)
    # When another is written a minute later (a write drops those past their moment)
    await answers.keep([_answer(b"next", "m_3", NOW + 3600)], *BOUND, NOW + 60)
    # Then it is not served, but listed to the re-maker reading from before its moment
    assert await answers.read(b"soon", NOW + 60) is None
    assert await answers.expiring(NOW, NOW + 360, 10) == [(NOW + 10, ("m_2", "v:tag"))]

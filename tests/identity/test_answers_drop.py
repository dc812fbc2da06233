"""A follower's drop of kept answers, on every adapter: it takes each member's answers made
before her own last change it read, and never one made again since (by the process that
re-makes, :mod:`membergraph.response_cache.remake`), whatever else the batch it read holds
and whatever is kept while it drops."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.store import IdentityStore
from membergraph.identity.store.answers import AnswerToKeep
from membergraph.response_cache.stored import StoredLevel
from tests.support import mongo
from tests.support.stores import ADAPTERS, kept_answers, open_store, two_processes

NOW = 1_000_000.0
BOUND = (100, 1 << 20)


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[IdentityStore]:
    async with open_store(request.param, tmp_path) as opened:
        yield opened


def _answer(key: bytes, body: bytes, member: str, since: int) -> AnswerToKeep:
    return AnswerToKeep(key, body, (member,), since, NOW + 60)


def _purchase(*members: str) -> FeedEntry:
    return FeedEntry(ChangeKind.PURCHASE_RECORDED, members)


async def test_a_follower_keeps_an_answer_made_again_before_a_later_change_to_another(
    store: IdentityStore,
) -> None:
    answers = kept_answers(store)
    level = StoredLevel(answers, *BOUND, 60, clock=lambda: NOW)
    start = await store.feed_head()
    # Given her answer made before a change to her, the change, and her answer made again
    await answers.keep([_answer(b"old", b"{}", "m_1", start)], *BOUND, NOW)
    await store.append_feed([_purchase("m_1")])
    changed = await store.feed_head()
    await answers.keep([_answer(b"new", b"{}", "m_1", changed)], *BOUND, NOW)
    # and then a change to someone else (a stream of changes)
    await store.append_feed([_purchase("m_2")])
    # When a follower reads both entries in one batch
    entries = await store.feed_after(start, 100)
    assert [e.member_ids for e in entries] == [("m_1",), ("m_2",)]
    await level.follow(entries)
    # Then her answer made again after her change stays, the one before it goes
    assert await answers.read(b"new", NOW) is not None
    assert (await answers.figures())[0] == 1


@pytest.mark.mongodb
async def test_an_answer_made_again_between_a_drops_look_up_and_its_delete_stays(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with two_processes("mongodb-emulated", tmp_path) as (remaking, following):
        answers = kept_answers(remaking)
        start = await remaking.feed_head()
        # Given her answer made before a change to her, then the change
        await answers.keep([_answer(b"k", b"old", "m_1", start)], *BOUND, NOW)
        await remaking.append_feed([_purchase("m_1")])
        changed = await remaking.feed_head()
        # When the re-maker keeps her new answer under the same key while another worker's
        # follower drops the old one: between the drop's look-up and its delete (the
        # emulation's delete is the one place a test reaches between the two)
        real, once = mongo.EmulatedCollection.delete_many, []

        async def delete_many(self: Any, query: dict[str, Any], **kwargs: Any) -> Any:
            if self.name == "answers" and not once:
                once.append(1)
                new = _answer(b"k", b"new", "m_1", changed)
                assert (await answers.keep([new], *BOUND, NOW)).kept == 1
            return await real(self, query, **kwargs)

        monkeypatch.setattr(mongo.EmulatedCollection, "delete_many", delete_many)
        await kept_answers(following).drop(["m_1"], before=changed)
        # Then the answer made again (its reads began after the change) is still served
        found = await answers.read(b"k", NOW)
        assert found is not None and found.body == b"new"
        assert (await answers.figures())[0] == 1

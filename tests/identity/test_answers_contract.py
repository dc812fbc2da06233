"""The store's kept answers (the response cache's second level), on every adapter: an answer
is served until a feed entry names a member it read, never kept when one did after its reads
began, dropped by member and by a whole-store resolution, and within its bound."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.store import IdentityStore
from membergraph.identity.store.answers import KEPT_PAST_S, AnswerToKeep
from membergraph.identity.store.format import STORE_FORMAT, StoreMark
from membergraph.identity.store.mongodb import MongoStore
from membergraph.identity.store.sqlite import SqliteStore
from tests.support.stores import ADAPTERS, kept_answers, open_store, two_processes

NOW = 1_000_000.0
BOUND = (100, 1 << 20)


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[IdentityStore]:
    async with open_store(request.param, tmp_path) as opened:
        yield opened


def _answer(key: bytes, *members: str, since: int = 0, expires: float = NOW + 60) -> AnswerToKeep:
    return AnswerToKeep(key, b"{}", members, since, expires)


async def test_an_answer_is_served_until_a_change_to_a_member_it_read(
    store: IdentityStore,
) -> None:
    answers = kept_answers(store)
    since = await store.feed_head()
    done = await answers.keep([_answer(b"k1", "m_1", "m_2", since=since)], *BOUND, NOW)
    assert (done.kept, done.entries) == (1, 1)
    found = await answers.read(b"k1", NOW)
    assert found is not None and found.body == b"{}" and set(found.members) == {"m_1", "m_2"}
    # When a change to another member is appended, the answer still stands
    await store.append_feed([FeedEntry(ChangeKind.PURCHASE_RECORDED, ("m_3",))])
    assert await answers.read(b"k1", NOW) is not None
    # and when one to a member it read is, it is not served (no follower needed)
    await store.append_feed([FeedEntry(ChangeKind.PURCHASE_RECORDED, ("m_2",))])
    assert await answers.read(b"k1", NOW) is None


async def test_an_answer_whose_member_changed_after_its_reads_began_is_not_kept(
    store: IdentityStore,
) -> None:
    answers = kept_answers(store)
    since = await store.feed_head()
    await store.append_feed([FeedEntry(ChangeKind.CONSENT_CHANGED, ("m_1",))])
    done = await answers.keep(
        [_answer(b"old", "m_1", since=since), _answer(b"other", "m_9", since=since)], *BOUND, NOW
    )
    assert (done.kept, done.stale) == (1, 1)
    assert await answers.read(b"old", NOW) is None
    assert await answers.read(b"other", NOW) is not None


async def test_an_expired_answer_is_not_served_and_goes_first(store: IdentityStore) -> None:
    answers = kept_answers(store)
    await answers.keep([_answer(b"k", "m_1")], *BOUND, NOW)
    assert await answers.read(b"k", NOW + 61) is None
    later = NOW + 61 + KEPT_PAST_S  # (left that long for the re-maker to read)
    done = await answers.keep([_answer(b"k2", "m_2", expires=later + 60)], *BOUND, later)
    assert (done.evicted, done.entries) == (1, 1)


async def test_the_bound_holds_oldest_out_first(store: IdentityStore) -> None:
    answers = kept_answers(store)
    for n in range(5):
        done = await answers.keep([_answer(b"k%d" % n, f"m_{n}")], 3, 1 << 20, NOW)
    assert done.entries == 3 and await answers.figures() == (3, done.bytes)
    assert [await answers.read(b"k%d" % n, NOW) is not None for n in range(5)] == [
        False,
        False,
        True,
        True,
        True,
    ]
    one = done.bytes // 3
    done = await answers.keep([_answer(b"k9", "m_9")], 100, 2 * one, NOW)
    assert done.entries == 2 and done.bytes <= 2 * one


async def test_answers_are_dropped_by_member_and_by_a_whole_store_resolution(
    store: IdentityStore,
) -> None:
    answers = kept_answers(store)
    await answers.keep(
        [_answer(b"a", "m_1"), _answer(b"b", "m_2"), _answer(b"c", "m_3")], *BOUND, NOW
    )
    assert await answers.drop(["m_1", "m_404"]) == 1
    assert await answers.read(b"a", NOW) is None and await answers.read(b"b", NOW) is not None
    await store.set_mark(StoreMark(STORE_FORMAT, "rules"))
    assert await answers.figures() == (0, 0)


async def test_a_drop_before_a_cursor_leaves_the_answers_made_after_it(
    store: IdentityStore,
) -> None:
    # Given an answer of m_1 made before a change to her, and one made after it (a re-make)
    answers = kept_answers(store)
    before = await store.feed_head()
    await answers.keep([_answer(b"old", "m_1", since=before)], *BOUND, NOW)
    await store.append_feed([FeedEntry(ChangeKind.PURCHASE_RECORDED, ("m_1",))])
    change = await store.feed_head()
    await answers.keep([_answer(b"new", "m_1", since=change)], *BOUND, NOW)
    # When a follower drops her answers made before the change
    assert await answers.drop(["m_1"], before=change) == 1
    # Then the one made after it stays
    assert await answers.read(b"new", NOW) is not None
    assert await answers.figures() == (1, (await answers.figures())[1])


@pytest.mark.parametrize("kind", [p.values[0] for p in ADAPTERS[:2]], ids=["sqlite", "mongo"])
async def test_one_process_holds_the_re_makers_lease_until_it_runs_out(
    kind: str, tmp_path: Path
) -> None:
    async with two_processes(kind, tmp_path) as (one, two):
        first, second = kept_answers(one), kept_answers(two)
        assert await first.lead("one", NOW, 10)
        assert not await second.lead("two", NOW + 1, 10)
        assert await first.lead("one", NOW + 5, 10)  # renewed: until NOW + 15
        assert not await second.lead("two", NOW + 14, 10)
        assert await second.lead("two", NOW + 15, 10)  # it ran out
        assert not await first.lead("one", NOW + 16, 10)


@pytest.mark.parametrize("kind", [p.values[0] for p in ADAPTERS[:2]], ids=["sqlite", "mongo"])
async def test_another_process_does_not_serve_an_answer_after_a_change_it_committed(
    kind: str, tmp_path: Path
) -> None:
    async with two_processes(kind, tmp_path) as (one, two):
        since = await one.feed_head()
        await kept_answers(one).keep([_answer(b"k", "m_1", since=since)], *BOUND, NOW)
        assert await kept_answers(two).read(b"k", NOW) is not None
        await two.append_feed([FeedEntry(ChangeKind.MERGED, ("m_1", "m_2"))])
        assert await kept_answers(one).read(b"k", NOW) is None


async def test_the_figures_follow_every_write(store: IdentityStore) -> None:
    # Given three answers kept
    answers = kept_answers(store)
    since = await store.feed_head()
    three = [_answer(b"a", "m_1"), _answer(b"b", "m_2"), _answer(b"c", "m_3")]
    done = await answers.keep(three, *BOUND, NOW)
    one = done.bytes // 3
    assert (done.entries, done.bytes) == (3, 3 * one) == await answers.figures()
    # When one is kept again with a longer body, the total grows by the bytes only
    longer = AnswerToKeep(b"b", b'{"a":1}', ("m_2",), since, NOW + 60)
    done = await answers.keep([longer], *BOUND, NOW)
    assert (done.entries, done.bytes) == (3, 3 * one + 5) == await answers.figures()
    # and one whose member changed after its reads began adds nothing
    await store.append_feed([FeedEntry(ChangeKind.CONSENT_CHANGED, ("m_4",))])
    done = await answers.keep([_answer(b"d", "m_4", since=since)], *BOUND, NOW)
    assert (done.stale, done.entries) == (1, 3) and await answers.figures() == (3, 3 * one + 5)
    # Then a drop by member, an expiry and the bound each take theirs out
    assert await answers.drop(["m_1"]) == 1
    assert await answers.figures() == (2, 2 * one + 5)
    later = NOW + 61 + KEPT_PAST_S  # (those past their moment are left that long)
    done = await answers.keep([_answer(b"e", "m_5", expires=later + 60)], *BOUND, later)
    assert (done.evicted, done.entries, done.bytes) == (2, 1, one)
    assert await answers.figures() == (1, one)
    done = await answers.keep([_answer(b"f", "m_6")], 1, 1 << 20, NOW)
    assert (done.evicted, done.entries, done.bytes) == (1, 1, one) == (1, *await answers.figures())


async def _forget_the_total(kind: str, store: IdentityStore, folder: Path) -> None:
    """The store as a release before the running total left it: answers, no total."""
    if kind == "sqlite":
        with contextlib.closing(sqlite3.connect(folder / "store.db")) as db:
            db.executescript(
                "DROP TRIGGER answers_in; DROP TRIGGER answers_out; DROP TABLE answer_figures;"
            )
    else:
        assert isinstance(store, MongoStore)
        await store.db.meta.delete_one({"_id": "answers"})


@contextlib.asynccontextmanager
async def _opened_again(
    kind: str, other: IdentityStore, folder: Path
) -> AsyncIterator[IdentityStore]:
    """Another process's store over the same data, opened now (a SQLite file's schema is
    written as it opens; a MongoDB store writes none)."""
    if kind == "sqlite":
        async with SqliteStore(str(folder / "store.db")) as store:
            yield store
    else:
        yield other


@pytest.mark.parametrize("kind", [p.values[0] for p in ADAPTERS[:2]], ids=["sqlite", "mongo"])
async def test_answers_kept_before_the_running_total_are_counted(kind: str, tmp_path: Path) -> None:
    async with two_processes(kind, tmp_path) as (one, two):
        # Given a store whose two answers were kept before the running total
        two_kept = [_answer(b"a", "m_1"), _answer(b"b", "m_2")]
        done = await kept_answers(one).keep(two_kept, *BOUND, NOW)
        await _forget_the_total(kind, one, tmp_path)
        # When a release with it opens the store
        async with _opened_again(kind, two, tmp_path) as opened:
            answers = kept_answers(opened)
            # Then its figures count them, and a write adds to that count
            assert await answers.figures() == (2, done.bytes)
            kept = await answers.keep([_answer(b"c", "m_3")], *BOUND, NOW)
            assert (kept.entries, kept.bytes) == (3, done.bytes * 3 // 2)
            assert await answers.figures() == (3, kept.bytes)

"""The change feed: one contract for every store adapter, and a subscriber that resumes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from membergraph.identity.engine import Link
from membergraph.identity.feed import FEED_PAGE, ChangeKind, FeedEntry, FeedExpired, FeedFollower
from membergraph.identity.service import IdentityService
from membergraph.identity.steward_link import link_records
from membergraph.identity.store import Change, IdentityEvent, IdentityStore, StoreError
from membergraph.identity.store.sqlite import SqliteStore
from tests.identity.builders import crm, purchase
from tests.support.stores import ADAPTERS, open_store

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[IdentityStore]:
    async with open_store(request.param, tmp_path) as adapter:
        yield adapter


def fact(*members: str, at: datetime = NOW, line_id: str | None = None) -> FeedEntry:
    return FeedEntry(
        ChangeKind.PURCHASE_RECORDED, members, at, source="transactions", line_id=line_id
    )


def stored(entries: list[FeedEntry], cursors: list[int]) -> list[FeedEntry]:
    return [dataclasses.replace(e, cursor=c) for e, c in zip(entries, cursors, strict=True)]


# -- the contract -----------------------------------------------------------------------


async def test_appended_entries_read_back_whole_in_cursor_order(store: IdentityStore) -> None:
    # given an empty feed
    assert await store.feed_head() == 0
    assert await store.feed_after(0, 10) == []
    entries = [
        fact("m_ann", line_id="T1"),
        FeedEntry(ChangeKind.CONSENT_CHANGED, ("m_bob",), NOW, "crm", "sms withdrawn", "crm", "C2"),
        FeedEntry(ChangeKind.OFFER_REDEEMED, ("m_ann", "m_bob"), NOW + timedelta(seconds=1)),
    ]
    # when three entries are appended
    cursors = await store.append_feed(entries)
    # then they come back in order, every field kept, each with its cursor
    assert cursors == sorted(set(cursors)) and len(cursors) == 3
    assert await store.feed_after(0, 10) == stored(entries, cursors)
    assert await store.feed_after(cursors[0], 1) == stored(entries[1:2], cursors[1:2])
    assert await store.feed_after(cursors[-1], 10) == []
    assert await store.feed_head() == cursors[-1]
    assert await store.append_feed([]) == []
    [later] = await store.append_feed([fact("m_ann")])
    assert later > cursors[-1]


async def test_a_members_tail_holds_only_the_entries_naming_it(store: IdentityStore) -> None:
    entries = [fact("m_ann"), fact("m_bob"), fact("m_bob", "m_ann"), fact("m_cid")]
    cursors = await store.append_feed(entries)
    everything = stored(entries, cursors)
    assert await store.feed_after(0, 10, "m_ann") == [everything[0], everything[2]]
    assert await store.feed_after(0, 10, "m_bob") == everything[1:3]
    assert await store.feed_after(cursors[1], 10, "m_bob") == [everything[2]]
    assert await store.feed_after(0, 1, "m_bob") == [everything[1]]
    assert await store.feed_after(0, 10, "m_nobody") == []


async def test_a_cursor_older_than_the_pruned_entries_is_expired(store: IdentityStore) -> None:
    # given entries two hours, one hour and no time old
    entries = [fact("m_ann", at=NOW - timedelta(hours=h)) for h in (2, 1, 0)]
    old, older, newest = await store.append_feed(entries)
    # when what is older than half an hour is pruned
    assert await store.prune_feed(NOW - timedelta(minutes=30)) == 2
    # then a cursor before the pruned entries cannot resume; one at the last pruned can
    for gone in (0, old):
        with pytest.raises(FeedExpired):
            await store.feed_after(gone, 10)
        with pytest.raises(FeedExpired):
            await store.feed_after(gone, 10, "m_ann")
    assert await store.feed_after(older, 10) == stored(entries[2:], [newest])
    assert await store.prune_feed(NOW - timedelta(minutes=30)) == 0
    # and an emptied feed still knows its newest cursor and never hands it out again
    assert await store.prune_feed(NOW + timedelta(hours=1)) == 1
    assert await store.feed_head() == newest
    assert await store.feed_after(newest, 10) == []
    [next_cursor] = await store.append_feed([fact("m_ann")])
    assert next_cursor > newest


async def test_a_changes_entries_are_written_with_it_and_not_without_it(
    store: IdentityStore,
) -> None:
    # given a change that carries its feed entries
    ann, card = crm("C1", emails=["ann@x.org"], card="LD11110000"), purchase(card="LD11110000")
    merged = FeedEntry(ChangeKind.MERGED, ("m_ann", "m_old"), NOW, "test", "same card")
    change = Change(
        records=[ann, card],
        assignments={ann.ref: "m_ann", card.ref: "m_ann"},
        new_members=["m_ann"],
        links_added=[Link(ann.ref, card.ref, "loyalty_id", {"value": "LD11110000"})],
        link_members=["m_ann"],
        actor="test",
        at=NOW,
        feed=[merged, FeedEntry(ChangeKind.LINKED, ("m_ann",), NOW, "test")],
    )
    # when one like it fails to encode, nothing of it is in the feed
    failing = dataclasses.replace(
        change, events=[IdentityEvent("m_ann", "linked", NOW, "test", evidence={"x": object()})]
    )
    with pytest.raises((StoreError, TypeError)):
        await store.apply(failing)
    assert await store.feed_after(0, 10) == []
    # when it is applied between two fact entries
    [first] = await store.append_feed([fact("m_ann")])
    await store.apply(change)
    [last] = await store.append_feed([fact("m_ann")])
    # then its entries are there, in order, between the facts
    read = await store.feed_after(0, 10)
    assert [e.cursor for e in read][::3] == [first, last]
    assert [dataclasses.replace(e, cursor=0) for e in read[1:3]] == change.feed
    assert await store.member_records(["m_ann"]) == [[ann.ref, card.ref]]


async def test_an_ingestion_writes_what_it_did_to_the_feed(store: IdentityStore) -> None:
    service = IdentityService(store)
    steps = [
        [crm("C1", emails=["ann@x.org"])],
        [purchase(card="LD11110000")],
        [crm("C1", emails=["ann@x.org"], card="LD11110000")],  # the card joins Ann: a merge
    ]
    for records in steps:
        head = await store.feed_head()
        result = await service.ingest(records)
        assert result.changes, "every step changes a member"
        written = await store.feed_after(head, 100)
        assert [(e.kind.value, e.member_ids, e.actor) for e in written] == [
            (c.kind, c.member_ids, c.actor) for c in result.changes
        ]
    assert written[0].kind is ChangeKind.MERGED


async def test_fed_lines_names_the_lines_with_an_entry(store: IdentityStore) -> None:
    await store.append_feed([fact("m_ann", line_id="T1"), fact("m_ann", line_id="T3")])
    await store.apply(Change(feed=[FeedEntry(ChangeKind.LINKED, ("m_ann",), NOW)]))
    assert await store.fed_lines("transactions", ["T1", "T2", "T3"]) == {"T1", "T3"}
    assert await store.fed_lines("crm", ["T1"]) == set()
    assert await store.fed_lines("transactions", []) == set()


async def test_a_tail_read_while_writers_append_misses_nothing(store: IdentityStore) -> None:
    # On a real replica set this is the ordering guard of mongodb_feed: cursors commit in
    # order, so a tail never moves past an entry that commits later.
    writers, each = 8, 5
    done = asyncio.Event()
    seen: list[int] = []

    async def tail() -> None:
        while True:
            finished = done.is_set()  # before the read: the last read sees every append
            page = await store.feed_after(seen[-1] if seen else 0, 7)
            seen.extend(e.cursor for e in page)
            if finished and not page:
                return
            await asyncio.sleep(0)

    async def write(n: int) -> list[int]:
        cursors = []
        for i in range(each):
            if i % 2:
                cursors += await store.append_feed([fact(f"m_{n}", line_id=f"{n}.{i}")])
            else:
                entry = FeedEntry(ChangeKind.LINKED, (f"m_{n}",), NOW)
                head = await store.feed_head()
                await store.apply(Change(feed=[entry]))
                cursors += [e.cursor for e in await store.feed_after(head, 100, f"m_{n}")]
        return cursors

    reader = asyncio.create_task(tail())
    written = await asyncio.gather(*(write(n) for n in range(writers)))
    done.set()
    await reader
    assert seen == sorted(c for cursors in written for c in cursors)
    assert len(seen) == writers * each


async def test_a_change_too_large_for_one_transaction_still_writes_its_entries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from membergraph.identity.store import mongodb

    monkeypatch.setattr(mongodb, "TRANSACTION_LIMIT", 1)
    async with open_store("mongodb-emulated") as store:
        entries = [fact("m_ann"), fact("m_bob")]
        await store.apply(Change(new_members=["m_ann", "m_bob"], feed=entries))
        read = await store.feed_after(0, 10)
        assert [dataclasses.replace(e, cursor=0) for e in read] == entries


async def test_an_entry_of_a_kind_a_newer_release_wrote_reads_as_other(
    store: IdentityStore,
) -> None:
    # Given a feed where a newer release, over the same store, wrote a kind this one lacks
    newer = SimpleNamespace(value="points_expired")  # (what a newer ChangeKind would store)
    entries = [
        fact("m_ann", line_id="T1"),
        FeedEntry(newer, ("m_ann", "m_bob"), NOW, source="transactions"),  # type: ignore[arg-type]
        fact("m_bob", line_id="T2"),
    ]
    cursors = await store.append_feed(entries)
    # When this release reads it, whole or by member
    whole = await store.feed_after(0, 10)
    bobs = await store.feed_after(0, 10, "m_bob")
    # Then the entry is there, in its place, as OTHER with everything else it said, and the
    # entries after it follow: nothing stops at it
    assert [e.cursor for e in whole] == cursors
    assert [e.kind for e in whole] == [
        ChangeKind.PURCHASE_RECORDED,
        ChangeKind.OTHER,
        ChangeKind.PURCHASE_RECORDED,
    ]
    assert (whole[1].member_ids, whole[1].source) == (("m_ann", "m_bob"), "transactions")
    assert [e.kind for e in bobs] == [ChangeKind.OTHER, ChangeKind.PURCHASE_RECORDED]


# -- subscribers --------------------------------------------------------------------------


async def test_a_subscriber_resumes_across_more_than_one_page(tmp_path: Path) -> None:
    async with SqliteStore(str(tmp_path / "store.db")) as store:
        follower = FeedFollower(store)
        cursors = await store.append_feed([fact("m_ann") for _ in range(2 * FEED_PAGE + 3)])
        await store.append_feed([fact("m_bob")])
        await follower.catch_up()
        subscription = follower.subscribe("m_ann", after=cursors[2])
        try:
            got = [(await anext(subscription)).cursor for _ in cursors[3:]]
            assert got == cursors[3:]
            [live] = await store.append_feed([fact("m_ann")])
            await follower.catch_up()
            assert (await anext(subscription)).cursor == live
        finally:
            await subscription.aclose()


async def test_a_subscriber_whose_cursor_was_pruned_is_told(tmp_path: Path) -> None:
    async with SqliteStore(str(tmp_path / "store.db")) as store:
        follower = FeedFollower(store)
        [old, _] = await store.append_feed([fact("m_ann", at=NOW), fact("m_ann", at=NOW)])
        await store.prune_feed(NOW + timedelta(seconds=1))
        subscription = follower.subscribe("m_ann", after=old - 1)
        with pytest.raises(FeedExpired):
            await anext(subscription)


MEMBERS = ["m1", "m2", "m3"]
appends = st.tuples(
    st.just("append"),
    st.lists(st.lists(st.sampled_from(MEMBERS), min_size=1, unique=True), min_size=1, max_size=3),
    st.sampled_from(["fact", "change"]),
)
actions = st.lists(
    st.one_of(
        appends,
        st.tuples(st.just("read"), st.integers(1, 4)),
        st.tuples(st.just("drop")),
        st.tuples(st.just("join")),
    ),
    max_size=40,
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from([None, "m1"]), actions)
def test_a_subscriber_that_drops_and_resumes_from_its_cursor_gets_exactly_what_it_missed(
    member: str | None, script: list[tuple[Any, ...]]
) -> None:
    """Appends, partial reads, disconnects and reconnects in any order: what the subscriber
    reads, across all its connections, is every entry naming its member, in order, once."""

    async def run() -> None:
        async with SqliteStore(":memory:") as store:
            follower = FeedFollower(store)  # driven by hand: the writing process pokes it
            expected: list[str] = []  # line ids the subscriber must get, in append order
            received: list[FeedEntry] = []
            subscription: AsyncIterator[FeedEntry] | None = follower.subscribe(member, after=0)

            async def append(batch: list[list[str]], via: str) -> None:
                entries = [
                    fact(*members, line_id=f"L{len(expected)}.{n}")
                    for n, members in enumerate(batch)
                ]
                if via == "fact":
                    await store.append_feed(entries)
                else:
                    await store.apply(Change(feed=entries))
                expected.extend(
                    e.line_id or "" for e in entries if member is None or member in e.member_ids
                )
                await follower.catch_up()

            async def read(at_most: int) -> None:
                assert subscription is not None
                for _ in range(min(at_most, len(expected) - len(received))):
                    async with asyncio.timeout(2):  # a missed entry would wait forever
                        received.append(await anext(subscription))

            try:
                for action, *args in script:
                    if action == "append":
                        await append(*args)
                    elif action == "read" and subscription is not None:
                        await read(*args)
                    elif action == "drop" and subscription is not None:
                        await subscription.aclose()  # type: ignore[attr-defined]
                        subscription = None
                    elif action == "join" and subscription is None:
                        last = received[-1].cursor if received else 0
                        subscription = follower.subscribe(member, after=last)
                # Finally: back if away, one more entry, and read everything up to it.
                if subscription is None:
                    last = received[-1].cursor if received else 0
                    subscription = follower.subscribe(member, after=last)
                await append([[member or "m1"]], "fact")
                await read(len(expected))
            finally:
                if subscription is not None:
                    await subscription.aclose()  # type: ignore[attr-defined]
            assert [e.line_id for e in received] == expected
            cursors = [e.cursor for e in received]
            assert cursors == sorted(set(cursors))

    asyncio.run(run())


async def test_a_tail_read_while_another_process_prunes_is_whole_or_expired(
    tmp_path: Path,
) -> None:
    # Given a feed of an old entry and a new one, and another process over the same file
    path = str(tmp_path / "store.db")
    async with SqliteStore(path) as store, SqliteStore(path) as elsewhere:
        old, new = await store.append_feed(
            [fact("m_ann", at=NOW - timedelta(days=40)), fact("m_ann")]
        )
        loop = asyncio.get_running_loop()
        pruned: list[int] = []

        def prune_between_reads(sql: str) -> None:
            # The other process's hourly pruning commits just as the reader, past its
            # retention check, reads the entries (in the reading connection's thread)
            if "FROM feed AS f" in sql and not pruned:
                future = asyncio.run_coroutine_threadsafe(elsewhere.prune_feed(NOW), loop)
                pruned.append(future.result())

        await store.run_read(lambda db: db.set_trace_callback(prune_between_reads))
        # When a subscriber that lagged resumes from before the old entry
        try:
            tail = await store.feed_after(0, 10)
        except FeedExpired:
            tail = None
        await store.run_read(lambda db: db.set_trace_callback(None))
        # Then it reads both entries, or is told its cursor expired: never a tail with a hole
        assert pruned == [1]
        assert tail is None or [e.cursor for e in tail] == [old, new]


async def _heard(subscription: AsyncIterator[FeedEntry], follower: FeedFollower) -> list[int]:
    """The cursors a subscription yields of what the feed holds now."""
    await follower.catch_up()
    heard = []
    with contextlib.suppress(TimeoutError):
        while True:
            async with asyncio.timeout(0.5):
                heard.append((await anext(subscription)).cursor)
    return heard


async def test_a_subscriber_of_a_merged_away_id_resumes_hearing_the_survivor(
    store: IdentityStore,
) -> None:
    """It heard the merge, then the survivor's purchases; reconnected with its last cursor
    and the ID it follows (as the schema says), it once heard nothing more of its person."""
    service = IdentityService(store)
    await service.ingest([crm("C-A", first="Ann", emails=["ann@x.org"])])
    await service.ingest([crm("C-B", first="Bo", last="Ray", emails=["bo@x.org"])])
    follower = FeedFollower(store)
    await follower.catch_up()
    before = await store.feed_head()
    ids = await store.assignments([("crm", "C-A"), ("crm", "C-B")])
    bought = await store.append_feed([fact(ids["crm", "C-A"]), fact(ids["crm", "C-B"])])
    own_before = dict(zip((ids["crm", "C-A"], ids["crm", "C-B"]), bought, strict=True))
    await link_records(service, ("crm", "C-A"), ("crm", "C-B"), "one person", "steward-1")
    [merge] = [e for e in await store.feed_after(before, 100) if e.kind is ChangeKind.MERGED]
    kept, gone = merge.member_ids[0], merge.member_ids[1]
    [first] = await store.append_feed([fact(kept)])

    # Reconnected after the survivor's purchase it heard: the survivor's next one is its too
    resumed = follower.subscribe(gone, after=first)
    [second, _] = await store.append_feed([fact(kept), fact("m_someone_else")])
    try:
        assert await _heard(resumed, follower) == [second]
    finally:
        await resumed.aclose()
    # From before the merge: the merge, then the survivor's, not its own purchases before
    replayed = follower.subscribe(gone, after=before)
    try:
        heard = await _heard(replayed, follower)
    finally:
        await replayed.aclose()
    assert own_before[gone] in heard and own_before[kept] not in heard  # not the other's
    assert heard[-2:] == [first, second] and merge.cursor in heard


async def test_a_store_down_for_many_polls_is_one_warning_then_one_line_when_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Given a follower polling every 10 ms over a store whose reads fail for 30 polls
    async with SqliteStore(str(tmp_path / "store.db")) as store:
        failing = [30]
        read = store.feed_after

        async def feed_after(*args: Any, **kwargs: Any) -> list[FeedEntry]:
            if failing[0]:
                failing[0] -= 1
                raise StoreError("SQLite store: read failed: the store file was replaced")
            return await read(*args, **kwargs)

        store.feed_after = feed_after  # type: ignore[method-assign]
        follower = FeedFollower(store, interval=0.01)
        caplog.set_level("INFO", logger="membergraph.identity.feed")
        await follower.start()
        try:
            async with asyncio.timeout(30):
                # (what is awaited is a log line: nothing to wait on but the log itself)
                while failing[0] or "working again" not in caplog.text:  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        finally:
            await follower.aclose()
    # Then the log says it once, and once that it is over (not a line a poll)
    said = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert said == [
        ("WARNING", "feed follower: SQLite store: read failed: the store file was replaced"),
        ("INFO", "feed follower: working again, after 30 failed turns"),
    ]

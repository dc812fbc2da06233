"""A change too large for one transaction, interrupted at every one of its writes, heals at
the next start: the store then holds what an uninterrupted run gives (on the emulation, with
the limit lowered so that a small data set takes the large-change path)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import pytest
from pymongo.errors import OperationFailure

from membergraph.identity import service
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.service import IdentityService
from membergraph.identity.store import Change, StoreError, mongodb, mongodb_large
from membergraph.identity.store.mongodb import MongoStore
from tests.identity.builders import call, crm, purchase, visitor, world
from tests.support.mongo import EmulatedClient

pytestmark = pytest.mark.mongodb

URL = "mongodb://emulated/membergraph"
Records = dict[RecordKey, RecordData]

FIRST = world(
    crm("C1", emails=["ann@mail.com"], card="LD11110000"),
    purchase(card="LD11110000", tid="T1"),
    visitor("A1", emails=("bob@mail.com",)),
    purchase(email="bob@mail.com", channel="online", tid="T3"),
    visitor("A2", emails=("bob.ray@mail.com",)),
)
# The second load merges the two visitors' members through Bob's contact, and adds more.
SECOND = world(
    *FIRST.values(),
    crm("C2", first="Bob", last="Ray", emails=["bob@mail.com", "bob.ray@mail.com"]),
    crm("C3", first="Cy", last="Do", emails=["cy@mail.com"], phones=["+12025550101"]),
    call("I1", phone="+12025550101", ref=("crm_id", "C3")),
)

# Fields whose values differ from run to run (times) or are numbers drawn from counters.
_VOLATILE = {"created_at", "at", "retracted_at", "lifted_at"}
_NUMBERED = {"links", "events", "feed", "cannot_links"}


def snapshot(client: EmulatedClient) -> dict[str, list[Any]]:
    """Every document of the store, with times and counter-drawn IDs left out."""
    db = client._client["membergraph"]
    # (A lock whose release failed may stay: taken over once its lease is out.)
    left = db["journal"].count_documents({"_id": {"$ne": mongodb_large.LOCK}})
    assert left == 0, "a journal outlived its change"
    out: dict[str, list[Any]] = {}
    for name in ("records", "members", "redirects", *_NUMBERED):
        docs = []
        for doc in db[name].find({}):
            if name in _NUMBERED:
                doc.pop("_id")
            for volatile in _VOLATILE & doc.keys():
                doc[volatile] = doc[volatile] is not None
            docs.append(repr(sorted(doc.items())))
        out[name] = sorted(docs)
    return out


async def start(client: EmulatedClient, records: Records) -> None:
    """What a gateway's start does on MongoDB: open the store, resolve the sources."""
    async with MongoStore(URL, client=client) as store:
        await IdentityService(store).resolve_all(records)


async def run(steps: list[Records], fail_at: int | None = None) -> tuple[EmulatedClient, bool]:
    """Every step's start in order; the last one interrupted at its ``fail_at``-th write,
    then started again, if it has that many writes (and whether it had)."""
    client = EmulatedClient()
    for step in steps[:-1]:
        await start(client, step)
    if fail_at is not None:
        # Not a transient error, which the start would retry: the process stops there.
        client.faults.fail_write(fail_at, OperationFailure("stopped here (injected)", 1))
        with contextlib.suppress(StoreError):  # (not raised when releasing a lock failed)
            await start(client, steps[-1])
        if client.faults.pending:  # fewer writes than that: nothing was interrupted
            client.faults.clear()
            return client, False
    await start(client, steps[-1])
    return client, fail_at is not None


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param(lambda: [FIRST], id="first-load"),
        pytest.param(lambda: [FIRST, SECOND], id="merging-load-over-a-store"),
    ],
)
async def test_an_interrupted_large_change_is_finished_or_undone_at_the_next_start(
    monkeypatch: pytest.MonkeyPatch, steps: Callable[[], list[Records]]
) -> None:
    monkeypatch.setattr(mongodb, "TRANSACTION_LIMIT", 5)
    expected = snapshot((await run(steps()))[0])
    assert expected["members"] and expected["redirects" if len(steps()) > 1 else "members"]
    fail_at = 0
    while True:
        fail_at += 1
        client, interrupted = await run(steps(), fail_at)
        if not interrupted:  # every write of the change has failed once
            break
        assert snapshot(client) == expected, f"after a failure at write {fail_at}"
    assert fail_at > 20  # the change had that many writes


async def test_a_large_change_never_leaves_a_record_naming_a_missing_member(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # What the interrupted large change used to leave: records naming members that were
    # never written, never created by later starts. Now, whatever write fails, a reader
    # sees a member for every record's member ID once the store is open again.
    monkeypatch.setattr(mongodb, "TRANSACTION_LIMIT", 5)
    for fail_at in range(1, 200, 7):
        client, _ = await run([FIRST], fail_at)
        async with MongoStore(URL, client=client) as store:
            named = set((await store.all_assignments()).values())
            assert named <= set(await store.member_versions(named)), fail_at


def _large(prefix: str) -> Change:
    records = [crm(f"{prefix}{n}", first=prefix) for n in range(6)]
    members = [f"m_{prefix.lower()}{n}" for n in range(6)]
    return Change(
        records=records,
        assignments={r.ref: m for r, m in zip(records, members, strict=True)},
        new_members=members,
    )


async def test_two_large_changes_at_once_are_written_one_after_the_other(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mongodb, "TRANSACTION_LIMIT", 5)
    client = EmulatedClient()
    async with MongoStore(URL, client=client) as first, MongoStore(URL, client=client) as second:
        # When two gateways each write a large change at the same time
        outcomes = await asyncio.gather(
            first.apply(_large("A")), second.apply(_large("B")), return_exceptions=True
        )
        # Then one is written whole, the other told to try again, having written nothing
        assert sorted(type(o).__name__ for o in outcomes) == ["NoneType", "TransientStoreError"]
        assert len(await first.all_assignments()) == 6
        # (and written whole when tried again)
        again = _large("B" if outcomes[1] is not None else "A")
        await first.apply(again)
        assert len(await first.all_assignments()) == 12
        assert client._client["membergraph"]["journal"].count_documents({}) == 0


async def test_a_start_while_another_gateway_writes_its_journal_leaves_that_journal_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(mongodb, "TRANSACTION_LIMIT", 5)
    client = EmulatedClient()
    journal = client._client["membergraph"]["journal"]
    async with MongoStore(URL, client=client) as writer:
        # Given a gateway writing a large change's journal (chunks written, no head yet)
        writing = asyncio.create_task(writer.apply(_large("A")))
        while journal.count_documents({"c": {"$exists": True}}) < 1 and not writing.done():  # noqa: ASYNC110
            await asyncio.sleep(0)  # (the emulation yields at every operation)
        assert journal.count_documents({"_id": mongodb_large.HEAD}) == 0
        # When another gateway starts meanwhile (a start finishes or undoes a journal)
        async with MongoStore(URL, client=client):
            await writing
        # Then the writer's change is all there
        assert len(await writer.all_assignments()) == 6
        assert journal.count_documents({}) == 0


@pytest.mark.parametrize("limit", [pytest.param(5, id="journal"), pytest.param(None, id="tx")])
async def test_two_gateways_starting_at_once_over_a_large_data_set_end_as_one_would(
    monkeypatch: pytest.MonkeyPatch, limit: int | None
) -> None:
    if limit is not None:
        monkeypatch.setattr(mongodb, "TRANSACTION_LIMIT", limit)
    expected = snapshot((await run([FIRST]))[0])
    client = EmulatedClient()
    await asyncio.gather(start(client, FIRST), start(client, FIRST))
    assert snapshot(client) == expected


@pytest.mark.parametrize(
    "steps",
    [
        pytest.param(lambda: [FIRST], id="first-load"),
        pytest.param(lambda: [FIRST, SECOND], id="merging-load-over-a-store"),
    ],
)
async def test_a_large_change_failing_transiently_at_any_write_ends_as_an_uninterrupted_run(
    monkeypatch: pytest.MonkeyPatch, steps: Callable[[], list[Records]]
) -> None:
    # A failover's error is retried by the start itself: the retry must not compute its
    # change from a store the failed attempt left half-written.
    monkeypatch.setattr(mongodb, "TRANSACTION_LIMIT", 5)
    monkeypatch.setattr(service, "_BACKOFF_S", 0.001)  # ~80 failures: not 0.2 s of wait each
    expected = snapshot((await run(steps()))[0])
    fail_at = 0
    while True:
        fail_at += 1
        client = EmulatedClient()
        *before, last = steps()
        for step in before:
            await start(client, step)
        client.faults.fail_write(fail_at)  # AutoReconnect: transient
        with contextlib.suppress(StoreError):  # (raised if it failed where nothing retries)
            await start(client, last)
        if client.faults.pending:  # every write has failed once
            break
        await start(client, last)  # the next start, as a restart policy gives
        assert snapshot(client) == expected, f"after a failure at write {fail_at}"
    assert fail_at > 20

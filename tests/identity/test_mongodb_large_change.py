"""A change too large for one transaction, interrupted at every one of its writes, heals at
the next start: the store then holds what an uninterrupted run gives (on the emulation, with
the limit lowered so that a small data set takes the large-change path)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.service import IdentityService
from membergraph.identity.store import StoreError, mongodb
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
    assert db["journal"].count_documents({}) == 0, "a journal outlived its change"
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
        client.faults.fail_write(fail_at)
        try:
            await start(client, steps[-1])
        except StoreError:
            assert not client.faults.pending
        else:  # fewer writes than that: nothing was interrupted
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

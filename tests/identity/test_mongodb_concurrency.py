"""Two gateways over one MongoDB: their changes are ordered by the database (emulated: two
stores and two identity services over one emulated server, their operations interleaved)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from membergraph.identity.records import RecordData
from membergraph.identity.service import IdentityService
from membergraph.identity.store import Change, ConcurrentChange
from membergraph.identity.store.mongodb import MongoStore
from tests.identity.builders import call, crm, purchase, visitor, world
from tests.support.mongo import EmulatedClient

pytestmark = pytest.mark.mongodb

URL = "mongodb://emulated/membergraph"
NOW = datetime(2026, 1, 1, tzinfo=UTC)

CASES = [
    pytest.param(
        [crm("C1", emails=["ann@mail.com"])],
        [crm("C2", emails=["ann@mail.com"], phones=["+12025550101"])],
        [call("I1", phone="+12025550101")],
        id="a-contact-brings-the-phone-a-call-comes-from",
    ),
    pytest.param(
        [crm("C1", emails=["ann@mail.com"], card="LD11110000")],
        [purchase(card="LD11110000", email="ann.lee@mail.com", channel="online", tid="T1")],
        [purchase(email="ann.lee@mail.com", channel="online", tid="T2")],
        id="a-card-purchase-brings-the-email-an-order-uses",
    ),
    pytest.param(
        [crm("C1", emails=["ann@mail.com"])],
        [crm("C1", emails=["ann@mail.com", "ann.lee@mail.com"])],
        [purchase(email="ann.lee@mail.com", channel="online", tid="T2")],
        id="a-contact-gains-the-email-an-order-uses",
    ),
]


@pytest.mark.parametrize(("before", "one", "other"), CASES)
async def test_two_gateways_ingesting_overlapping_records_end_as_one_would(
    before: list[RecordData], one: list[RecordData], other: list[RecordData]
) -> None:
    # Given a member, and two gateways each taking a line that, together, belong to it
    client = EmulatedClient()
    async with MongoStore(URL, client=client) as first, MongoStore(URL, client=client) as second:
        await IdentityService(first).ingest(before)
        # When both take theirs at the same time (each reads before the other writes)
        await asyncio.gather(
            IdentityService(first).ingest(one), IdentityService(second).ingest(other)
        )
        # Then the database ordered them: one conflicted, was computed again, and joined
        assert client.server.conflicts >= 1
        assert len(set((await first.all_assignments()).values())) == 1


async def test_two_changes_that_read_one_member_conflict_though_neither_moves_records_into_it() -> (
    None
):
    client = EmulatedClient()
    async with MongoStore(URL, client=client) as first, MongoStore(URL, client=client) as second:
        await first.apply(
            Change(
                records=[crm("C1"), crm("C2", first="Bob")],
                assignments={("crm", "C1"): "m_ann", ("crm", "C2"): "m_bob"},
                new_members=["m_ann", "m_bob"],
            )
        )
        read = await first.member_versions(["m_ann", "m_bob"])

        def change(key: str, member: str) -> Change:
            # Computed from both members; gives a new record to one of them only.
            record = crm(key, first=member)
            return Change(records=[record], assignments={record.ref: member}, at=NOW,
                          expected_versions=dict(read))  # fmt: skip

        outcomes = await asyncio.gather(
            first.apply(change("C3", "m_ann")),
            second.apply(change("C4", "m_bob")),
            return_exceptions=True,
        )
        assert sorted(type(o).__name__ for o in outcomes) == ["ConcurrentChange", "NoneType"]
        assert all(isinstance(o, ConcurrentChange) or o is None for o in outcomes)
        assert len(await first.all_assignments()) == 3  # the loser wrote nothing


async def test_two_gateways_resolving_the_whole_store_at_once_end_as_one_would() -> None:
    # Given two gateways starting at once over one new database: both resolve the whole
    # store (a start does) from the same lines
    lines = world(
        crm("C1", emails=["ann@mail.com"], card="LD11110000"),
        purchase(card="LD11110000", tid="T1"),
        visitor("A1", emails=("bob@mail.com",)),
        purchase(email="bob@mail.com", channel="online", tid="T3"),
        crm("C2", first="Bob", last="Ray", emails=["bob@mail.com"]),
    )
    alone = EmulatedClient()
    async with MongoStore(URL, client=alone) as store:
        await IdentityService(store).resolve_all(dict(lines))
    client = EmulatedClient()
    async with MongoStore(URL, client=client) as first, MongoStore(URL, client=client) as second:
        # When both write their resolution (each computed before the other wrote)
        await asyncio.gather(
            IdentityService(first).resolve_all(dict(lines)),
            IdentityService(second).resolve_all(dict(lines)),
        )
    # Then the store is the one a single start leaves: every member owns a record, and the
    # feed announces each member once (the second computed again and found nothing to do)
    db, single = client._client["membergraph"], alone._client["membergraph"]
    members = {d["_id"] for d in db.members.find({})}
    assert members == {d["member_id"] for d in db.records.find({})}
    assert len(members) == single.members.count_documents({}) == 2
    assert db.feed.count_documents({}) == single.feed.count_documents({})

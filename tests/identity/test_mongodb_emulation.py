"""The MongoDB emulation is strict where the adapter could go wrong unseen (so the adapter's
tests mean something): sessions inside transactions, bulk results and errors, rollback."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo import InsertOne, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError
from pymongo.results import BulkWriteResult

from tests.support.mongo import EmulatedClient

pytestmark = pytest.mark.mongodb


async def test_an_operation_inside_a_transaction_without_its_session_fails_the_test() -> None:
    client = EmulatedClient()
    db = client["t"]

    async def forgetful(session: Any) -> None:
        await db.things.insert_one({"_id": 1}, session=session)
        await db.things.find_one({"_id": 1})  # no session=: on a server, outside the transaction

    async with client.start_session() as session:
        with pytest.raises(AssertionError, match="without session="):
            await session.with_transaction(forgetful)
    assert await db.things.find_one({"_id": 1}) is None  # and the transaction rolled back


@pytest.mark.parametrize(("ordered", "applied"), [(True, [1]), (False, [1, 3])])
async def test_bulk_write_honours_ordered_and_reports_what_it_applied(
    ordered: bool, applied: list[int]
) -> None:
    db = EmulatedClient()["t"]
    await db.things.insert_one({"_id": 2})
    operations = [InsertOne({"_id": 1}), InsertOne({"_id": 2}), InsertOne({"_id": 3})]
    with pytest.raises(BulkWriteError) as failure:
        await db.things.bulk_write(operations, ordered=ordered)
    [error] = failure.value.details["writeErrors"]
    assert error["index"] == 1 and error["code"] == 11000
    assert failure.value.details["nInserted"] == len(applied)
    found = [d["_id"] for d in await db.things.find({}).sort("_id", 1).to_list()]
    assert found == sorted({2, *applied})


async def test_bulk_write_returns_a_bulk_write_result() -> None:
    db = EmulatedClient()["t"]
    result = await db.things.bulk_write(
        [
            InsertOne({"_id": 1, "n": 0}),
            UpdateOne({"_id": 1}, {"$set": {"n": 1}}),
            ReplaceOne({"_id": 2}, {"n": 2}, upsert=True),
        ]
    )
    assert isinstance(result, BulkWriteResult)
    assert (result.inserted_count, result.modified_count, result.upserted_count) == (1, 1, 1)
    assert result.upserted_ids == {2: 2}


async def test_the_fault_injector_fails_the_nth_write_and_applies_those_before() -> None:
    client = EmulatedClient()
    db = client["t"]
    client.faults.fail_write(2)
    with pytest.raises(Exception, match="injected"):
        await db.things.bulk_write([InsertOne({"_id": n}) for n in range(3)])
    assert [d["_id"] for d in await db.things.find({}).to_list()] == [0]
    assert not client.faults.pending

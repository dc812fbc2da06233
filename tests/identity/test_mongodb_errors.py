"""PyMongo's errors at the MongoDB store's boundary: mapped so the driver still sees its labels
inside a transaction, transient ones retried (by ``with_transaction``, then by the identity
service) in bounded time, the rest clear errors naming the server without its password."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo.errors import (
    AutoReconnect,
    NetworkTimeout,
    NotPrimaryError,
    OperationFailure,
    PyMongoError,
    ServerSelectionTimeoutError,
)

from membergraph.identity.service import IdentityService
from membergraph.identity.store import (
    Change,
    ConcurrentChange,
    StoreError,
    TransientStoreError,
)
from membergraph.identity.store.mongodb import MongoStore
from membergraph.identity.store.mongodb_client import store_error
from membergraph.privacy import privacy_store_for
from membergraph.privacy.port import Erasure, Suppression
from tests.identity.builders import crm
from tests.support.mongo import EmulatedClient
from tests.support.mongo_server import transient, write_conflict

pytestmark = pytest.mark.mongodb

URL = "mongodb://app:s3cret@db.example:27017/membergraph?replicaSet=rs0"
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _labelled(error: PyMongoError, label: str) -> PyMongoError:
    error._add_error_label(label)
    return error


@pytest.mark.parametrize(
    ("error", "mapped", "says"),
    [
        pytest.param(
            ServerSelectionTimeoutError("db.example:27017: timed out, Timeout: 15s"),
            StoreError, "no server answered", id="no-primary-within-server-selection",
        ),
        pytest.param(
            _labelled(NetworkTimeout("gave up"), "TransientTransactionError"),
            StoreError, "timed out", id="with-transaction-gave-up-keeping-the-label",
        ),
        pytest.param(write_conflict(), ConcurrentChange, "write conflict", id="write-conflict"),
        pytest.param(transient(), TransientStoreError, "transient", id="labelled-transient"),
        pytest.param(
            AutoReconnect("connection reset"), TransientStoreError, "transient",
            id="network-error",
        ),
        pytest.param(
            NotPrimaryError("not primary"), TransientStoreError, "transient", id="step-down"
        ),
        pytest.param(
            OperationFailure("unauthorized", 13), StoreError, "unauthorized", id="refused"
        ),
    ],
)  # fmt: skip
def test_errors_are_mapped_by_what_a_new_attempt_can_do(
    error: PyMongoError, mapped: type[StoreError], says: str
) -> None:
    found = store_error(URL, "write", error)
    assert type(found) is mapped
    assert says in str(found) and "s3cret" not in str(found) and "app:***@" in str(found)


async def test_a_transient_error_inside_a_transaction_is_retried_by_the_driver() -> None:
    client = EmulatedClient()
    async with MongoStore(URL, client=client) as store:
        # The transaction's first read fails as a failover does: the driver runs it again.
        client.faults.fail_read(1, transient())
        await store.apply(_change())
        assert client.faults.reads > 1 and not client.faults.pending
        assert await store.ping() == {"records": 1, "members": 1, "links": 0}


async def test_a_transaction_that_keeps_failing_gives_up_in_bounded_time_writing_nothing() -> None:
    client = EmulatedClient()
    async with MongoStore(URL, client=client) as store:
        reads = client.faults.reads
        for nth in range(1, 400):
            client.faults.fail_write(nth, transient())
        with pytest.raises(StoreError, match="timed out") as failure:
            await store.apply(_change())
        assert not isinstance(failure.value, TransientStoreError)  # the time is spent
        client.faults.clear()
        assert client.faults.reads > reads
        assert await store.ping() == {"records": 0, "members": 0, "links": 0}


async def test_the_service_retries_a_transient_failure_the_driver_did_not() -> None:
    client = EmulatedClient()
    async with MongoStore(URL, client=client) as store:
        # A network error without a label (outside what with_transaction retries)
        client.faults.fail_write(1, AutoReconnect("connection reset (injected)"))
        result = await IdentityService(store).ingest([crm("C1", emails=["ann@mail.com"])])
        assert result.members == 1 and not client.faults.pending
        assert (await store.ping())["records"] == 1


async def test_a_failed_transaction_is_rolled_back_whole() -> None:
    client = EmulatedClient()
    async with MongoStore(URL, client=client) as store:
        client.faults.fail_write(2, OperationFailure("disk full (injected)", 14031))
        with pytest.raises(StoreError, match="disk full"):
            await store.apply(_change())
        assert await store.ping() == {"records": 0, "members": 0, "links": 0}
        assert await store.member_versions(["m_ann"]) == {}


def _change() -> Change:
    record = crm("C1", emails=["ann@mail.com"])
    return Change(records=[record], assignments={record.ref: "m_ann"}, new_members=["m_ann"])


async def test_the_privacy_stores_errors_are_mapped_as_the_identity_stores() -> None:
    client = EmulatedClient()
    async with MongoStore(URL, client=client) as store:
        privacy = privacy_store_for(store)
        await privacy.open()
        # A failover while suppressing: transient (a new attempt may succeed), the server
        # named without its password
        client.faults.fail_write(1, AutoReconnect("connection reset (injected)"))
        with pytest.raises(TransientStoreError, match="transient") as failure:
            await privacy.suppress([Suppression("d1", "email", "dpo", NOW)])
        assert "app:***@db.example" in str(failure.value) and "s3cret" not in str(failure.value)
        # A refusal: not transient, said as the identity store says it
        client.faults.fail_write(1, OperationFailure("unauthorized", 13))
        with pytest.raises(StoreError, match="unauthorized") as refused:
            await privacy.erase_identity(Erasure(("m_x",), (), (), ()), NOW)
        assert not isinstance(refused.value, TransientStoreError)
        assert "app:***@db.example" in str(refused.value)

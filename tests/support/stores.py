"""Every identity store adapter, for suites that must hold on each of them.

``sqlite`` always; ``mongodb-emulated`` (the MongoDB adapter over mongomock) always;
``mongodb`` against a real server only when ``MEMBERGRAPH_TEST_MONGODB_URL`` is set, in a
database of its own that is dropped afterwards.
"""

from __future__ import annotations

import contextlib
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.store import IdentityStore
from membergraph.identity.store.answers import AnswersStore, answers_of
from membergraph.identity.store.mongodb import MongoStore
from membergraph.identity.store.sqlite import SqliteStore
from tests.support.mongo import ON_REAL_SERVER, REAL_URL, EmulatedClient

ADAPTERS = [
    pytest.param("sqlite", marks=pytest.mark.sqlite),
    pytest.param("mongodb-emulated", marks=pytest.mark.mongodb),
    pytest.param("mongodb", marks=ON_REAL_SERVER),
]


@contextlib.asynccontextmanager
async def open_store(kind: str, folder: Path | None = None) -> AsyncIterator[IdentityStore]:
    if kind == "sqlite":
        path = str(folder / "store.db") if folder else ":memory:"
        async with SqliteStore(path) as store:
            yield store
    elif kind == "mongodb-emulated":
        async with MongoStore("mongodb://emulated/membergraph", client=EmulatedClient()) as store:
            yield store
    else:
        assert REAL_URL is not None
        name = f"membergraph_test_{uuid.uuid4().hex[:12]}"
        mongo = MongoStore(REAL_URL, database=name)
        async with mongo:
            try:
                yield mongo
            finally:
                await mongo.client.drop_database(name)


@contextlib.asynccontextmanager
async def two_processes(
    kind: str, folder: Path
) -> AsyncIterator[tuple[IdentityStore, IdentityStore]]:
    """Two processes' stores over one database (two gateways, or a gateway and a command):
    two connections to one SQLite file, two MongoDB stores over one server."""
    one: IdentityStore
    two: IdentityStore
    real: MongoStore | None = None
    if kind == "sqlite":
        one, two = SqliteStore(str(folder / "store.db")), SqliteStore(str(folder / "store.db"))
    elif kind == "mongodb-emulated":
        client, url = EmulatedClient(), "mongodb://emulated/membergraph"
        one, two = MongoStore(url, client=client), MongoStore(url, client=client)
    else:  # a real server (either name the suites give it)
        assert REAL_URL is not None
        name = f"membergraph_test_{uuid.uuid4().hex[:12]}"
        one = real = MongoStore(REAL_URL, database=name)
        two = MongoStore(REAL_URL, database=name)
    async with one, two:
        try:
            yield one, two
        finally:
            if real is not None:
                await real.client.drop_database(real.database_name)


def after_whole_read(
    store: IdentityStore, meanwhile: Callable[[], Awaitable[object]]
) -> list[object]:
    """Have ``meanwhile`` (another process's write) run once, right after ``store`` read the
    whole store's records (a whole resolution's read, ``load_records(None)``): the
    interleaving a start or ``membergraph resolve`` beside a serving gateway meets. Returns
    what ``meanwhile`` answered, once it ran."""
    done: list[object] = []
    read = store.load_records

    async def then_meanwhile(refs: Any) -> dict[RecordKey, RecordData]:
        found = await read(refs)
        if refs is None and not done:
            done.append(await meanwhile())
        return found

    store.load_records = then_meanwhile  # type: ignore[method-assign]
    return done


def after_first_read(
    store: IdentityStore, method: str, meanwhile: Callable[[], Awaitable[object]]
) -> None:
    """Have the first call of ``store``'s read ``method`` await ``meanwhile`` once it has
    read, before answering: another steward's click landing between this process's read and
    its write."""
    read, waited = getattr(store, method), []

    async def then_meanwhile(*args: Any) -> Any:
        answer = await read(*args)
        if not waited:
            waited.append(True)
            await meanwhile()
        return answer

    setattr(store, method, then_meanwhile)


def partition(store: Path) -> set[frozenset[tuple[str, str]]]:
    """A SQLite store's members, each as the set of its records (IDs aside): what two
    stores must agree on when they were loaded differently."""
    members: dict[str, set[tuple[str, str]]] = defaultdict(set)
    with sqlite3.connect(store) as db:
        for source, key, member in db.execute("SELECT source, key, member_id FROM records"):
            if member is not None:
                members[member].add((source, key))
    return {frozenset(records) for records in members.values()}


def kept_answers(store: IdentityStore) -> AnswersStore:
    """The store's level of kept answers (both adapters have one)."""
    found = answers_of(store)
    assert found is not None
    return found

"""A pushed line's mark: written with the line, listed until settled, never lost to an older
push settling after a newer one marked the line again (SQLite table and MongoDB documents)."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from membergraph.connectors.base import SourceConnector
from membergraph.connectors.models import SourceName, Transaction
from membergraph.connectors.mongodb import MongoSource
from membergraph.connectors.sources import SOURCES, Taken
from membergraph.connectors.sqlite import SqliteLines
from membergraph.identity.load import owner_key
from tests.support.mongo import EmulatedClient

SPEC = SOURCES[SourceName.TRANSACTIONS]


def _owner(line: BaseModel) -> str | None:
    return owner_key(SourceName.TRANSACTIONS, line)


def _tx(tid: str, status: str = "completed") -> Transaction:
    return Transaction.model_validate(
        {
            "transaction_id": tid,
            "loyalty_id": "LD11112222",
            "channel": "store",
            "occurred_at": "2026-05-01T12:00:00Z",
            "amount_cents": 1000,
            "status": status,
        }
    )


@contextlib.asynccontextmanager
async def _source(kind: str, tmp_path: Path) -> AsyncIterator[SourceConnector]:
    if kind == "sqlite":
        lines = SqliteLines(tmp_path / "s.db")
        await lines.open()
        try:
            yield lines.sources(lambda spec: _owner)[SourceName.TRANSACTIONS]
        finally:
            await lines.aclose()
    else:
        client: Any = EmulatedClient()
        collection = client[f"marks_{uuid.uuid4().hex[:8]}"]["transactions"]
        yield MongoSource(SPEC, _owner, collection)


def _by(token: str) -> Any:
    return lambda line, verdict: f"{token}:{verdict}"


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("mongodb", marks=pytest.mark.mongodb)])
async def test_a_mark_lives_with_its_line_until_settled(kind: str, tmp_path: Path) -> None:
    async with _source(kind, tmp_path) as source:
        # Given two lines pushed by push "a", one of them sent again unchanged by push "b"
        # (marked too: "b" applies it again, and an erasure waits until it is done)
        assert await source.append([_tx("T1"), _tx("T2")], _by("a")) == ["created", "created"]
        assert await source.append([_tx("T1")], _by("b")) == ["unchanged"]
        marked = {(source.line_id(line), mark) for line, mark in await source.unsettled()}
        assert marked == {("T1", "b:unchanged"), ("T2", "a:created")}
        # When T2 changes in push "c" while "a" is in flight (SQLite: its push lock keeps
        # pushes one at a time, c stores at once; MongoDB: c waits for a's mark to go, so
        # the feed hears a's version first), then "a" settling leaves the marks of "b" and "c"
        refunded = _tx("T2", status="refunded")
        changing = asyncio.create_task(source.append([refunded], _by("c")))
        await asyncio.sleep(0.1)
        await source.settle([("T1", "a:created"), ("T2", "a:created")])
        assert await changing == [Taken("updated")]
        left = {source.line_id(line): (line, mark) for line, mark in await source.unsettled()}
        assert left == {"T1": (_tx("T1"), "b:unchanged"), "T2": (refunded, "c:updated")}
        await source.settle([("T1", "b:unchanged"), ("T2", "c:updated")])
        assert await source.unsettled() == []
        # And lines appended without marks (a load) are never listed
        await source.append([_tx("T3")])
        assert await source.unsettled() == []


@pytest.mark.mongodb
async def test_two_writers_sent_one_line_at_once_take_it_once_and_mark_it_once() -> None:
    # Given two processes' connectors over one collection (each reads before the other writes)
    client: Any = EmulatedClient()
    collection = client[f"marks_{uuid.uuid4().hex[:8]}"]["transactions"]
    one, other = MongoSource(SPEC, _owner, collection), MongoSource(SPEC, _owner, collection)
    # When both are sent the same new line, and then both a newer version of it
    first = await asyncio.gather(
        one.append([_tx("T1")], _by("a")), other.append([_tx("T1")], _by("b"))
    )
    # (their pushes announce it and drop their marks: a newer version waits for that)
    await one.settle([("T1", t.mark) for [t] in first if t.mark is not None])
    refunded = _tx("T1", status="refunded")
    second = await asyncio.gather(
        one.append([refunded], _by("c")), other.append([refunded], _by("d"))
    )
    # Then the line was created once and updated once: the write decided, not the read
    assert sorted(str(t) for [t] in first) == ["created", "unchanged"]
    assert sorted(str(t) for [t] in second) == ["unchanged", "updated"]
    # And every write marked it, as it decided (one sent again too: it is applied again)
    marks = [t.mark for [t] in first + second if t.mark is not None]
    assert sorted(m.split(":")[1] for m in marks) == [
        "created",
        "unchanged",
        "unchanged",
        "updated",
    ]


@pytest.mark.mongodb
async def test_marks_are_taken_in_line_id_order_so_two_pushes_never_wait_on_each_other() -> None:
    # Given one process's push holding T2 (stored, marked, not yet announced)
    client: Any = EmulatedClient()
    collection = client[f"marks_{uuid.uuid4().hex[:8]}"]["transactions"]
    one, other = MongoSource(SPEC, _owner, collection), MongoSource(SPEC, _owner, collection)
    assert await one.append([_tx("T2")], _by("a")) == ["created"]
    # When the other process pushes T1, T2 and T3 (a newer T2 among them)
    pushing = asyncio.create_task(
        other.append([_tx("T3"), _tx("T2", status="refunded"), _tx("T1")], _by("b"))
    )
    await asyncio.sleep(0.2)
    # then it has marked T1, the lines before the one it waits for, and nothing after it
    # (holding T3 while waiting for T2 could wait for a push that waits for T3)
    held = {source: mark for source, mark in _marked(await collection.find({}).to_list())}
    assert held == {"T1": "b:created", "T2": "a:created"}
    await one.settle([("T2", "a:created")])
    assert [str(t) for t in await pushing] == ["created", "updated", "created"]
    held = {source: mark for source, mark in _marked(await collection.find({}).to_list())}
    assert held == {"T1": "b:created", "T2": "b:updated", "T3": "b:created"}


def _marked(docs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(doc["_id"], doc["_pending"]) for doc in docs if "_pending" in doc]


async def test_a_push_drops_its_marks_in_one_commit(tmp_path: Path) -> None:
    # Given 400 lines a push stored with its marks, the store file's log emptied
    async with _source("sqlite", tmp_path) as source:
        lines = [_tx(f"T{i}") for i in range(400)]
        assert set(await source.append(lines, _by("a"))) == {"created"}
        with contextlib.closing(sqlite3.connect(tmp_path / "s.db")) as other:
            other.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            # When the push is done with them
            await source.settle([(source.line_id(line), "a:created") for line in lines])
            # Then they are dropped together: a few pages written once, not one commit (and
            # one sync of the disk, the push lock held) per line
            _, frames, _ = other.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        assert await source.unsettled() == []
    assert frames < 50, f"{frames} pages written to the log for 400 marks"

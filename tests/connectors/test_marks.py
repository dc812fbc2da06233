"""A pushed line's mark: written with the line, listed until settled, never lost to an older
push settling after a newer one marked the line again (SQLite table and MongoDB documents)."""

from __future__ import annotations

import contextlib
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
        assert await source.append([_tx("T1"), _tx("T2")], _by("a")) == ["created", "created"]
        assert await source.append([_tx("T1")], _by("b")) == ["unchanged"]
        marked = {(source.line_id(line), mark) for line, mark in await source.unsettled()}
        assert marked == {("T1", "a:created"), ("T2", "a:created")}
        # When T2 changes in push "c" before "a" settles, then "a" settling leaves c's mark
        refunded = _tx("T2", status="refunded")
        assert await source.append([refunded], _by("c")) == [Taken("updated")]
        await source.settle([("T1", "a:created"), ("T2", "a:created")])
        [(line, mark)] = await source.unsettled()
        assert (line, mark) == (refunded, "c:updated")
        await source.settle([("T2", "c:updated")])
        assert await source.unsettled() == []
        # And lines appended without marks (a load) are never listed
        await source.append([_tx("T3")])
        assert await source.unsettled() == []

"""One contract for every source backend: files, MongoDB (emulated, and real when
``MEMBERGRAPH_TEST_MONGODB_URL`` is set) and HTTP (a real Starlette server on a free port)."""

from __future__ import annotations

import contextlib
import math
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from pydantic import BaseModel

from membergraph.connectors.base import SourceConnector
from membergraph.connectors.files import FileConnector
from membergraph.connectors.http import HttpSource, HttpSourceConfig
from membergraph.connectors.models import SourceName, Transaction
from membergraph.connectors.mongodb import MongoSource
from membergraph.connectors.sources import SOURCES
from membergraph.identity.load import owner_key
from tests.connectors.api_server import SourceApi
from tests.support.http import serving
from tests.support.mongo import ON_REAL_SERVER, REAL_URL, EmulatedClient
from tests.support.spans import recording_provider

SPEC = SOURCES[SourceName.TRANSACTIONS]


def owner(line: BaseModel) -> str | None:
    return owner_key(SourceName.TRANSACTIONS, line)


def tx(tid: str, card: str | None = "LD11112222", amount: int = 1000) -> dict[str, Any]:
    return {
        "transaction_id": tid,
        "loyalty_id": card,
        "channel": "store",
        "occurred_at": "2026-05-01T12:00:00Z",
        "amount_cents": amount,
        "status": "completed",
    }


LINES = [tx("T1"), tx("T2"), tx("T3", card="LD99990000"), tx("T4", card=None)]  # T4: no owner
BROKEN = {"transaction_id": "T5", "loyalty_id": "LD11112222", "amount_cents": "lots"}


@contextlib.asynccontextmanager
async def backend(kind: str, tmp_path: Path) -> AsyncIterator[SourceConnector]:
    """A transactions source over ``kind`` holding LINES and one broken line."""
    if kind == "file":
        rows = [*LINES, BROKEN]
        (tmp_path / "transactions.jsonl").write_bytes(b"\n".join(orjson.dumps(r) for r in rows))
        conn = FileConnector(SPEC, tmp_path, owner)
        conn.load()
        yield conn
    elif kind.startswith("mongodb"):
        from pymongo import AsyncMongoClient

        real = kind == "mongodb"
        client: Any = AsyncMongoClient(REAL_URL) if real else EmulatedClient()
        name = f"membergraph_test_{uuid.uuid4().hex[:12]}"
        collection = client[name]["transactions"]
        docs = [{"_id": r["transaction_id"], "_owner": owner_key_of(r), **r} for r in LINES]
        await collection.insert_many(
            [*docs, {"_id": "T5", "_owner": "loyalty:LD11112222", **BROKEN}]
        )
        mongo = MongoSource(SPEC, owner, collection)
        await mongo.ensure_indexes()
        try:
            yield mongo
        finally:
            if real:
                await client.drop_database(name)
                await client.close()
    else:
        api = SourceApi("transactions", [*LINES, BROKEN], owner_key_of)
        with serving(api.app) as address:
            async with httpx.AsyncClient() as client:
                config = HttpSourceConfig(base_url=f"http://{address}", page_size=2)
                yield HttpSource(SPEC, owner, config, client)


def owner_key_of(raw: dict[str, Any]) -> str | None:
    try:
        return owner(Transaction.model_validate(raw))
    except ValueError:
        return raw.get("loyalty_id") and f"loyalty:{raw['loyalty_id']}"


KINDS = [
    "file",
    pytest.param("mongodb-emulated", marks=pytest.mark.mongodb),
    pytest.param("mongodb", marks=ON_REAL_SERVER),
    "http",
]


@pytest.mark.parametrize("kind", KINDS)
async def test_lookups_group_lines_by_record_and_skip_a_broken_line(
    kind: str, tmp_path: Path
) -> None:
    async with backend(kind, tmp_path) as source:
        if not isinstance(source, FileConnector):
            _ = [line async for line in source.scan()]
        answer = await source.load_many(
            ["loyalty:LD11112222", "loyalty:NOPE", "loyalty:LD99990000"]
        )
        ids = [sorted(str(x.transaction_id) for x in r) for r in answer]  # type: ignore[union-attr]
        assert ids == [["T1", "T2"], [], ["T3"]]
        assert source.report.malformed >= 1
        assert any("amount_cents" in str(e) for e in source.report.errors)


@pytest.mark.parametrize("kind", KINDS)
async def test_a_listing_yields_every_valid_line_once_and_counts_the_rest(
    kind: str, tmp_path: Path
) -> None:
    async with backend(kind, tmp_path) as source:
        listed = sorted([str(line.transaction_id) async for line in source.scan()])
        # T4 names no customer, T5 is malformed: both are reported, neither is listed.
        assert listed == ["T1", "T2", "T3"]
        assert source.report.malformed == 2
        assert source.report.lines == 5


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "http"])
async def test_appending_twice_changes_nothing_the_second_time(kind: str, tmp_path: Path) -> None:
    async with backend(kind, tmp_path) as source:
        _ = [line async for line in source.scan()]
        fresh = [
            Transaction.model_validate(tx("T9")),
            Transaction.model_validate(tx("T1", amount=5)),
        ]
        assert await source.append(fresh) == ["created", "updated"]
        assert await source.append(fresh) == ["unchanged", "unchanged"]
        [lines] = await source.load_many(["loyalty:LD11112222"])
        amounts = {str(x.transaction_id): x.amount_cents for x in lines}  # type: ignore[union-attr]
        assert amounts == {"T1": 5, "T2": 1000, "T9": 1000}


async def test_an_http_source_refuses_pushed_lines(tmp_path: Path) -> None:
    from membergraph.connectors.base import ReadOnlySource

    async with backend("http", tmp_path) as source:
        assert not source.takes_pushes
        with pytest.raises(ReadOnlySource, match="transactions"):
            await source.append([Transaction.model_validate(tx("T9"))])


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "http"])
async def test_a_line_sent_twice_in_one_batch_is_compared_with_its_first_copy(
    kind: str, tmp_path: Path
) -> None:
    async with backend(kind, tmp_path) as source:
        _ = [line async for line in source.scan()]
        # A newer version (a status change: amount alone orders as the held one)
        changed = Transaction.model_validate({**tx("T1", amount=7), "status": "cancelled"})
        assert await source.append([changed, changed]) == ["updated", "unchanged"]
        [lines] = await source.load_many(["loyalty:LD11112222"])
        assert sorted(str(x.transaction_id) for x in lines) == ["T1", "T2"]  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("kind", "span"),
    [
        pytest.param("mongodb-emulated", "sources.lines", marks=pytest.mark.mongodb, id="mongodb"),
        pytest.param("http", "GET", id="http"),
    ],
)
async def test_a_traced_lookup_is_one_client_span_under_the_request(
    kind: str, span: str, tmp_path: Path
) -> None:

    provider, exporter = recording_provider()
    tracer = provider.get_tracer("test")
    async with backend(kind, tmp_path) as source:
        source.tracer = tracer  # type: ignore[attr-defined]
        await source.load_many(["loyalty:LD99990000"])  # outside a request: no span
        with tracer.start_as_current_span("POST /graphql") as request:
            answer = await source.load_many(["loyalty:LD11112222"])
    assert len(answer[0]) == 2  # type: ignore[arg-type]
    (call,) = [s for s in exporter.get_finished_spans() if s.name != "POST /graphql"]
    assert call.name == span
    assert call.parent is not None and call.parent.span_id == request.get_span_context().span_id


@pytest.mark.parametrize("kind", [k for k in KINDS if "mongodb" in str(k)])
@pytest.mark.parametrize(
    ("number", "said"),
    [(math.nan, "NaN"), (math.inf, "Infinity"), (-math.inf, "-Infinity")],
    ids=["nan", "infinity", "minus-infinity"],
)
async def test_a_document_holding_a_number_json_cannot_is_refused_naming_it(
    kind: Any, number: float, said: str, tmp_path: Path
) -> None:
    """BSON holds NaN, JSON none: a document another program wrote with one (in a field of
    its own) was taken, and its answers carried null for it; it is refused as a line of
    text holding ``NaN`` is, naming the field."""
    async with backend(kind, tmp_path) as source:
        assert isinstance(source, MongoSource)
        doc = {**tx("T6"), "basket": {"score": number}}
        await source.collection.insert_one({"_id": "T6", "_owner": owner_key_of(doc), **doc})
        listed = sorted([str(line.transaction_id) async for line in source.scan()])
        assert listed == ["T1", "T2", "T3"]  # T6 too is refused, not taken with a null
        refusals = [str(e) for e in source.report.errors if "T6" in str(e)]
        assert refusals == [
            f"transactions/T6: basket.score: {said} is not JSON"
            " (a number is finite: write null, or leave the field out)"
        ]

"""The connector contract: keys in, one result per key out, in order; a failure is the source's."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import orjson
import pytest

from membergraph.connectors.base import FakeConnector, SourceTimeout, SourceUnavailable
from membergraph.connectors.files import FileConnector
from membergraph.connectors.models import SourceName, Transaction
from membergraph.connectors.sources import SOURCES
from membergraph.identity.load import owner_key


def _transactions(folder: Path) -> FileConnector:
    return FileConnector(
        SOURCES[SourceName.TRANSACTIONS],
        folder,
        lambda line: owner_key(SourceName.TRANSACTIONS, line),
    )


def _tx(
    tid: str, card: str | None = "LD11112222", email: str | None = None, status: str = "completed"
) -> dict[str, object]:
    return {
        "transaction_id": tid,
        "loyalty_id": card,
        "email": email,
        "channel": "store",
        "occurred_at": "2026-05-01T12:00:00Z",
        "amount_cents": 1000,
        "status": status,
    }


async def test_file_connector_answers_one_result_per_key_in_order(tmp_path: Path) -> None:
    lines = [_tx("T1"), _tx("T2", card="ld-1111-2222"), _tx("T3", card=None, email="Ann@Lee.org")]
    (tmp_path / "transactions.jsonl").write_bytes(
        b"\n".join(orjson.dumps(x) for x in lines) + b"\n"
    )
    conn = _transactions(tmp_path)
    assert conn.load().accepted == 3
    result = await conn.load_many(["online:ann@lee.org", "loyalty:NOPE0000", "loyalty:LD11112222"])
    assert [[t.transaction_id for t in r] for r in result] == [["T3"], [], ["T1", "T2"]]  # type: ignore[union-attr]
    assert conn.calls == 1


async def test_append_is_idempotent_on_the_line_id_and_updates_a_changed_line(
    tmp_path: Path,
) -> None:
    conn = _transactions(tmp_path)
    conn.load()
    line = Transaction.model_validate(_tx("T1"))
    assert await conn.append([line]) == ["created"]
    assert await conn.append([line]) == ["unchanged"]
    refunded = Transaction.model_validate(_tx("T1", status="refunded"))
    assert await conn.append([refunded]) == ["updated"]
    reread = _transactions(tmp_path)
    reread.load()
    [[only]] = await reread.load_many(["loyalty:LD11112222"])  # type: ignore[misc]
    assert only.status == "refunded"
    assert reread.size() == 1


async def test_append_after_a_file_without_final_newline_keeps_lines_apart(tmp_path: Path) -> None:
    (tmp_path / "transactions.jsonl").write_bytes(orjson.dumps(_tx("T1")))
    conn = _transactions(tmp_path)
    conn.load()
    await conn.append([Transaction.model_validate(_tx("T2"))])
    reread = _transactions(tmp_path)
    assert reread.load().malformed == 0
    assert reread.size() == 2


def test_a_line_without_an_owner_is_reported_not_dropped_silently(tmp_path: Path) -> None:
    (tmp_path / "transactions.jsonl").write_bytes(orjson.dumps(_tx("T1", card=None)) + b"\n")
    report = _transactions(tmp_path).load()
    assert report.malformed == 1
    assert str(report.errors[0]).startswith("transactions.jsonl:1: no owner")


def _events(folder: Path, *events: dict[str, object]) -> FileConnector:
    (folder / "web_analytics.jsonl").write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return FileConnector(
        SOURCES[SourceName.WEB_ANALYTICS],
        folder,
        lambda line: owner_key(SourceName.WEB_ANALYTICS, line),
    )


def _event(event_id: str, name: str = "Product Viewed") -> dict[str, object]:
    return {
        "event_id": event_id,
        "anonymous_id": "anon-1",
        "type": "track",
        "name": name,
        "occurred_at": "2026-05-01T12:00:00Z",
    }


def test_a_second_content_for_one_event_id_is_reported_like_a_malformed_line(
    tmp_path: Path,
) -> None:
    conn = _events(tmp_path, _event("E1"), _event("E1"), _event("E1", "Email Opened"))
    report = conn.load()
    # The same line twice is one event; other content under its id is refused, as a push is.
    assert (report.lines, report.accepted, report.malformed) == (3, 2, 1)
    assert str(report.errors[0]) == (
        "web_analytics.jsonl:3: event_id E1 is already taken with other content, "
        "and web_analytics lines never change: send a new id"
    )
    assert [line.name for line in conn.lines()] == ["Product Viewed"]  # type: ignore[attr-defined]


def test_a_line_nested_too_deep_is_reported_and_the_load_goes_on(tmp_path: Path) -> None:
    deep: dict[str, object] = {"leaf": 1}
    for _ in range(150):
        deep = {"k": deep}
    conn = _events(tmp_path, {**_event("E1"), "properties": deep}, _event("E2"))
    report = conn.load()
    assert (report.accepted, report.malformed) == (1, 1)
    assert str(report.errors[0]) == (
        "web_analytics.jsonl:1: nested deeper than the 100 levels a line may have"
    )


async def test_fake_connector_failures_stay_with_their_key() -> None:
    def handler(keys: Sequence[str]) -> list[object]:
        return [ValueError("boom") if k == "bad" else [k] for k in keys]

    conn = FakeConnector(SourceName.CRM, handler)
    good, bad = await conn.load_many(["good", "bad"])
    assert good == ["good"]
    assert isinstance(bad, SourceUnavailable) and bad.source == "crm"


async def test_a_slow_source_times_out_with_its_name() -> None:
    async def slow(keys: Sequence[str]) -> list[list[str]]:
        await asyncio.sleep(5)
        return [[] for _ in keys]

    conn = FakeConnector(SourceName.CALL_CENTER, slow, timeout=0.05)
    [result] = await conn.load_many(["I1"])
    assert isinstance(result, SourceTimeout)
    assert str(result) == "source call_center: no answer within 0.05 s"


@pytest.mark.parametrize(
    "handler",
    [
        pytest.param(lambda keys: 1 / 0, id="raises"),
        pytest.param(lambda keys: [[]], id="wrong-length"),
    ],
)
async def test_a_broken_source_answers_an_error_per_key(handler: object) -> None:
    conn = FakeConnector(SourceName.TRANSACTIONS, handler)  # type: ignore[arg-type]
    results = await conn.load_many(["a", "b"])
    assert all(isinstance(r, SourceUnavailable) for r in results)

"""Two gateways over one MongoDB (emulated), pushed two versions of one line at once: the
change feed announces them in the order of the line's versions, never the newer first.

A push stores its lines marked, then applies identity and appends their feed entries, then
drops the marks. A newer version pushed through the other process while the first is marked
waits for it (the conditional ``_rev`` replace decides, against the version it waited for);
an older one is ``stale`` at once; a mark whose push died is finished by the waiting push.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from membergraph.connectors.models import SourceName
from membergraph.gateway_parts import Gateway
from membergraph.ingest import IngestService
from tests.support.gateways import two_gateways

pytestmark = pytest.mark.mongodb

LINE = "T-TWO-VERSIONS"


def _purchase(status: str, updated_at: str) -> dict[str, object]:
    return {
        "transaction_id": LINE,
        "loyalty_id": "LD-5150-2026",  # Jane Doe's card: in every demo set
        "channel": "store",
        "occurred_at": "2026-11-20T10:00:00Z",
        "updated_at": updated_at,
        "amount_cents": 1000,
        "points_earned": 10,
        "status": status,
    }


COMPLETED = _purchase("completed", "2026-11-20T10:00:00Z")
CANCELLED = _purchase("cancelled", "2026-11-20T12:00:00Z")


class Held:
    """Holds a gateway's pushes between storing their lines and applying them (where a slow
    or killed process would be), until released."""

    def __init__(self, gateway: Gateway) -> None:
        self.release = asyncio.Event()
        self.reached = asyncio.Event()
        self._ingest = gateway.identity.ingest
        gateway.identity.ingest = self._held  # type: ignore[method-assign]

    async def _held(self, records: Sequence[Any]) -> Any:
        self.reached.set()
        await self.release.wait()
        return await self._ingest(records)


@pytest.fixture
async def gateways(tmp_path: Path) -> AsyncIterator[tuple[Gateway, Gateway]]:
    """Two gateways (two processes' worth) over one emulated database."""
    async with two_gateways("mongodb", tmp_path) as both:
        yield both


async def _fed(gateway: Gateway) -> list[str]:
    entries = await gateway.identity.store.feed_after(0, 100_000)
    return [e.kind.value.upper() for e in entries if e.line_id == LINE]


def _status(pushed: Any) -> str:
    return str(pushed.lines[0]["status"])


async def test_a_newer_version_waits_for_the_older_ones_announcement(
    gateways: tuple[Gateway, Gateway],
) -> None:
    one, other = gateways
    held = Held(one)
    # Given the purchase stored through one process, not yet announced
    first = asyncio.create_task(IngestService(one).push(SourceName.TRANSACTIONS, [COMPLETED]))
    await held.reached.wait()
    # When its cancellation is pushed through the other process meanwhile
    second = asyncio.create_task(IngestService(other).push(SourceName.TRANSACTIONS, [CANCELLED]))
    await asyncio.sleep(0.3)
    assert not second.done(), "the newer version did not wait for the older one's entry"
    held.release.set()
    answers = await asyncio.gather(first, second)
    # Then each was taken, and the feed says recorded, then cancelled: the versions' order
    assert [_status(a) for a in answers] == ["created", "updated"]
    assert await _fed(one) == ["PURCHASE_RECORDED", "PURCHASE_STATUS_CHANGED"]
    owner = answers[1].lines[0]["record"]["key"]
    stored = await other.sources[SourceName.TRANSACTIONS].load_many([owner])
    assert [t.status for t in stored[0] if t.transaction_id == LINE] == ["cancelled"]


async def test_an_older_version_is_stale_at_once_whatever_is_in_flight(
    gateways: tuple[Gateway, Gateway],
) -> None:
    one, other = gateways
    held = Held(one)
    # Given the cancellation stored through one process, not yet announced
    first = asyncio.create_task(IngestService(one).push(SourceName.TRANSACTIONS, [CANCELLED]))
    await held.reached.wait()
    # When the till's original line is pushed through the other: stale, without waiting
    late = await IngestService(other).push(SourceName.TRANSACTIONS, [COMPLETED])
    assert _status(late) == "stale"
    held.release.set()
    assert _status(await first) == "created"
    assert await _fed(one) == ["PURCHASE_RECORDED"]  # its one entry: a new purchase


async def test_a_version_whose_push_died_is_finished_by_the_next_one(
    gateways: tuple[Gateway, Gateway],
) -> None:
    one, other = gateways
    held = Held(one)
    # Given a push that stored the purchase and died before announcing it
    dying = asyncio.create_task(IngestService(one).push(SourceName.TRANSACTIONS, [COMPLETED]))
    await held.reached.wait()
    dying.cancel()
    with pytest.raises(asyncio.CancelledError):
        await dying
    # When its cancellation is pushed through the other process
    answer = await IngestService(other).push(SourceName.TRANSACTIONS, [CANCELLED])
    # Then that push finished the dead one's line first (after the source's timeout): the
    # feed holds both, in the versions' order, each once
    assert _status(answer) == "updated"
    assert await _fed(other) == ["PURCHASE_RECORDED", "PURCHASE_STATUS_CHANGED"]
    assert await other.sources[SourceName.TRANSACTIONS].unsettled() == []  # type: ignore[attr-defined]

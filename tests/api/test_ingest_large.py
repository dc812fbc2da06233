"""Large pushes take turns: one large push's lines, models and answers are held at a time
(four 28,000-line pushes at once held four times as much, and the allocator kept that peak:
docs/benchmarks.md, ``big_push.py``); a small push never waits for the turn."""

from __future__ import annotations

import asyncio
from pathlib import Path

from membergraph.connectors.models import SourceName
from membergraph.ingest import LARGE_PUSH_LINES, IngestService
from tests.support.gateways import two_gateways

BOUND = 120.0  # seconds: a push that waits longer is a failure, not a slow run


def _purchases(prefix: str, count: int) -> list[dict[str, object]]:
    return [
        {
            "transaction_id": f"T-{prefix}-{i}",
            "email": f"buyer{i % 50}@harborcoffee.net",
            "channel": "online",
            "occurred_at": "2026-11-20T10:00:00Z",
            "amount_cents": 700,
        }
        for i in range(count)
    ]


class HoldFirst:
    """A push's ``steps`` hook that counts the pushes screened and holds the first there."""

    def __init__(self) -> None:
        self.screened = 0
        self.reached = asyncio.Event()
        self.go = asyncio.Event()

    async def __call__(self, step: str) -> None:
        if step != "screened":
            return
        self.screened += 1
        if self.screened == 1:
            self.reached.set()
            await self.go.wait()


async def _read_or_waiting(service: IngestService, hold: HoldFirst) -> None:
    """Until the pushes held are three read, or two read and the third waiting its turn."""
    while hold.screened < 3 and service.large.waiting < 2:  # noqa: ASYNC110 (no event says it)
        await asyncio.sleep(0.01)


async def test_a_large_push_waits_for_the_one_in_flight_and_a_small_one_does_not(
    tmp_path: Path,
) -> None:
    async with two_gateways("sqlite", tmp_path) as (gateway, _):
        hold = HoldFirst()
        service = IngestService(gateway, steps=hold)
        large = LARGE_PUSH_LINES + 1
        # Given a large push held once its lines are read and screened
        first = asyncio.create_task(
            service.push(SourceName.TRANSACTIONS, _purchases("FIRST", large))
        )
        await asyncio.wait_for(hold.reached.wait(), BOUND)
        # When a small push and a second large push come meanwhile
        small = await asyncio.wait_for(
            service.push(SourceName.TRANSACTIONS, _purchases("SMALL", 3)), BOUND
        )
        second = asyncio.create_task(
            service.push(SourceName.TRANSACTIONS, _purchases("SECOND", large))
        )
        await asyncio.wait_for(_read_or_waiting(service, hold), BOUND)
        # Then the small one is taken at once, the second large one waits unread
        assert [line["status"] for line in small.lines] == ["created"] * 3
        assert hold.screened == 2, "only the first large push and the small one were read"
        assert service.large.waiting == 2
        hold.go.set()
        pushed = await asyncio.wait_for(asyncio.gather(first, second), BOUND)
        # And both are taken whole, one after the other
        for each in pushed:
            assert {line["status"] for line in each.lines} == {"created"}
            assert len(each.lines) == large
        assert hold.screened == 3
        assert service.large.ran == 2

"""A large push shares the event loop: it reads, screens and answers its lines a few hundred
at a time, and other requests are answered in between. Before, an 8 MiB body held every
request, ``/healthz`` included, for the whole of its reading (1.2-2.4 s on a shared core):
an orchestrator's probe with a 1 s timeout would have killed a healthy replica."""

from __future__ import annotations

import asyncio
import gc

import httpx

from membergraph.app import create_app
from membergraph.settings import Settings

LINES = 30_000


async def _pushed_while_probed(settings: Settings, body: bytes) -> tuple[httpx.Response, int]:
    """Push ``body`` while a probe asks ``/healthz`` again and again, on the app's own event
    loop: the push's answer, and how many probes were answered before it."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            push = asyncio.create_task(
                client.post(
                    "/ingest/transactions",
                    content=body,
                    headers={"content-type": "application/x-ndjson"},
                )
            )
            answered = 0
            while not push.done():
                await asyncio.sleep(0)  # the probe's interval: in memory, a request may not wait
                if (await client.get("/healthz")).status_code == 200 and not push.done():
                    answered += 1
            return await push, answered


def test_health_is_answered_while_a_large_push_is_read(settings: Settings) -> None:
    # Given a body of 30,000 purchase lines, each refused for its amount (read, not stored)
    body = b"\n".join(
        b'{"transaction_id": "T-TURN-%d", "loyalty_id": "LD-1", "channel": "store", '
        b'"occurred_at": "2026-11-20T10:00:00Z", "amount_cents": "twelve"}' % n
        for n in range(LINES)
    )
    # When it is pushed while a probe asks /healthz again and again
    answer, answered = asyncio.run(_pushed_while_probed(settings, body))
    # Then every line was answered, and the probe many times while the push was read
    assert answer.status_code == 422
    assert answer.json()["rejected"] == LINES
    assert answered >= 100, answered  # before: 25 to 45, however many lines
    # and the cyclic collector, paused while the push held its lines, runs again
    assert gc.isenabled()

"""A push that stored its lines and failed before their feed entry (the store stalled, the
process died) leaves lines every process reads and no subscriber heard of. The process that
failed finishes them within seconds, without waiting for another push of the source or a
restart; a dead process's are finished by a live one over the same store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

import membergraph.ingest
import membergraph.ingest_finish
from membergraph.app import create_app
from membergraph.gateway import open_gateway
from membergraph.identity.store import StoreError
from membergraph.ingest import IngestService
from membergraph.settings import Settings
from tests.conftest import gql

FEED = "{ changes(first: 1000) { edges { node { kind lineId } } } }"
PURCHASE = {
    "transaction_id": "T-HEAL-1",
    "email": "heal.me@mailbox.org",
    "channel": "online",
    "occurred_at": "2026-11-20T10:00:00Z",
    "amount_cents": 1500,
}


@pytest.fixture(autouse=True)
def _heal_often(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(membergraph.ingest_finish, "HEAL_SECONDS", 0.1)


def _announce_fails_once(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The feed write of the next push fails, as a store that stalls there would."""
    calls: list[int] = []
    real: Callable[..., Any] = membergraph.ingest_finish.announce

    async def announce(*args: Any) -> None:
        calls.append(1)
        if len(calls) == 1:
            raise StoreError("the store did not answer (injected)")
        await real(*args)

    monkeypatch.setattr(membergraph.ingest_finish, "announce", announce)
    return calls


def _told(http: TestClient) -> list[str]:
    edges = gql(http, FEED)["data"]["changes"]["edges"]  # type: ignore[index]
    return [e["node"]["kind"] for e in edges if e["node"]["lineId"] == PURCHASE["transaction_id"]]


def _told_within(http: TestClient, seconds: float = 20.0) -> list[str]:
    deadline = time.monotonic() + seconds
    while not (told := _told(http)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return told


def test_a_push_failed_at_its_feed_entry_is_finished_without_another_push(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    _announce_fails_once(monkeypatch)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        # Given a push whose lines were stored but whose feed entry failed
        answer = http.post("/ingest/transactions", json=[PURCHASE])
        assert answer.status_code == 503 and answer.json()["code"] == "STORE_UNAVAILABLE"
        # Then, with no other push and no restart, the purchase is announced, once
        assert _told_within(http) == ["PURCHASE_RECORDED"]


def test_a_dead_processs_push_is_finished_by_a_live_one(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as live:
        assert _told(live) == []

        async def dies_after_storing() -> None:
            # Another process over the same store: its push fails after the append, and
            # the process is gone before it could finish it (no healer, no restart).
            gateway, sources, _ = await open_gateway(settings)
            try:
                with pytest.raises(membergraph.ingest.IngestRefused):
                    await IngestService(gateway).push(
                        membergraph.ingest.SourceName.TRANSACTIONS, [PURCHASE]
                    )
            finally:
                await gateway.identity.store.aclose()
                await sources.aclose()

        _announce_fails_once(monkeypatch)
        asyncio.run(dies_after_storing())
        # Then the live process, pushed nothing, announces the purchase the dead one stored
        assert _told_within(live) == ["PURCHASE_RECORDED"]


def test_a_line_sent_again_while_its_first_push_cannot_be_finished_is_refused_and_told_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(membergraph.ingest_finish, "HEAL_SECONDS", 3600)  # the retry comes first
    # The store stalls for the push's own feed write, then the retry's two tries to finish it
    stalls, real = [1, 2, 3], membergraph.ingest_finish.announce

    async def announce(*args: Any) -> None:
        if stalls:
            stalls.pop()
            raise StoreError("the store did not answer (injected)")
        await real(*args)

    monkeypatch.setattr(membergraph.ingest_finish, "announce", announce)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        # Given a push stored and not announced, sent again while the store still stalls
        assert http.post("/ingest/transactions", json=[PURCHASE]).status_code == 503
        again = http.post("/ingest/transactions", json=[PURCHASE])
        # Then the retry is refused (taking it would drop the mark that has it announced)
        assert again.status_code == 503 and again.json()["code"] == "STORE_UNAVAILABLE"
        assert PURCHASE["transaction_id"] in again.json()["error"]
        # And once the store answers, the next send is taken and the purchase told once
        third = http.post("/ingest/transactions", json=[PURCHASE])
        assert third.status_code == 200, third.text
        assert _told_within(http) == ["PURCHASE_RECORDED"]

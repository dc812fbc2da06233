"""A mutation whose write MongoDB is still answering when the request's time budget runs
out answers what it saved, not ``TIMEOUT`` (docs/bad-input.md): a write sent is not called
back, so its answer waits for it. Over the emulated client (writes made, then held), on a
real uvicorn server."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from membergraph.app import create_app
from membergraph.demo import write_demo_data
from membergraph.settings import Settings
from tests.support.http import serving
from tests.support.mongo import EmulatedClient, EmulatedCollection, load

pytestmark = pytest.mark.mongodb

URL = "mongodb://app:s3cret@mongo.example:27017/membergraph?replicaSet=rs0"
BUDGET = 0.3
VALUE = "slow.server@mail-example.org"


@pytest.fixture
def address(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "small"
    write_demo_data(folder, 30, seed=3)
    client = EmulatedClient()
    asyncio.run(load(folder, URL, client))
    settings = Settings(
        store=URL, sources=URL, cache_dir=tmp_path / "cache", request_timeout=BUDGET
    )
    with serving(create_app(settings, mongo_client=client)) as served:
        yield f"http://{served}"


def _ask(url: str, query: str) -> dict[str, Any]:
    return dict(httpx.post(f"{url}/graphql", json={"query": query}, timeout=120).json())


def test_a_suppression_written_past_the_budget_answers_it_was_kept(
    address: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    written, let_go = threading.Event(), threading.Event()
    update_one = EmulatedCollection.update_one

    async def slow(self: EmulatedCollection, *args: Any, **kwargs: Any) -> Any:
        done = await update_one(self, *args, **kwargs)
        if self.name == "suppressions":  # made; the server's answer is slow to come
            written.set()
            await asyncio.to_thread(let_go.wait)
        return done

    monkeypatch.setattr(EmulatedCollection, "update_one", slow)
    answered: dict[str, Any] = {}
    thread = threading.Thread(
        target=lambda: answered.update(
            _ask(address, f'mutation {{ suppress(kind: EMAIL, value: "{VALUE}") }}')
        )
    )
    thread.start()
    try:
        assert written.wait(120), "the suppression was never written"
        thread.join(4 * BUDGET)  # (the budget spent meanwhile, the answer held)
    finally:
        let_go.set()
    thread.join(120)
    assert answered.get("data") == {"suppress": True}, answered  # as the store holds it:
    again = _ask(address, f'mutation {{ unsuppress(kind: EMAIL, value: "{VALUE}") }}')
    assert again["data"] == {"unsuppress": True}, again

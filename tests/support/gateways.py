"""Gateways over SQLite or an emulated MongoDB (store and sources) for tests: two over one
store, as two processes would be (one connection each), for what processes do to each
other; and one app in a test client over a folder of lines."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.demo import write_demo_data
from membergraph.gateway import open_gateway
from membergraph.gateway_parts import Gateway
from membergraph.settings import Settings
from tests.support.mongo import EmulatedClient, load


@contextlib.asynccontextmanager
async def two_gateways(backend: str, tmp_path: Path) -> AsyncIterator[tuple[Gateway, Gateway]]:
    """Two gateways over one store holding a small demo set (20 people, Jane Doe among
    them); ``backend`` is ``sqlite`` or ``mongodb``. Yields them, then closes both."""
    folder = tmp_path / "data"
    write_demo_data(folder, 20, seed=3)
    client: Any = None
    if backend == "sqlite":
        settings = Settings(
            data=folder, store=f"sqlite:///{tmp_path / 'one.db'}", cache_dir=tmp_path / "c"
        )
    else:
        client = EmulatedClient()
        url = "mongodb://mongo.example:27017/race?replicaSet=rs0"
        await load(folder, url, client)
        settings = Settings(store=url, sources=url, cache_dir=tmp_path / "c")
    opened = [await open_gateway(settings, client) for _ in range(2)]
    try:
        yield opened[0][0], opened[1][0]
    finally:
        for gateway, sources, _ in opened:
            await gateway.identity.store.aclose()
            await sources.aclose()


EMULATED_URL = "mongodb://emulated/membergraph"


@contextlib.contextmanager
def app_client(backend: str, data: Path, tmp_path: Path) -> Iterator[TestClient]:
    """The gateway's app over the lines in ``data`` in a test client (started, closed on
    leaving): on SQLite, or (``backend`` ``mongodb``) an emulated MongoDB loaded from them."""
    settings = Settings(data=data, store=f"sqlite:///{tmp_path / 'id.db'}", cache_dir=tmp_path)
    mongo = None
    if backend == "mongodb":
        mongo = EmulatedClient()
        asyncio.run(load(data, EMULATED_URL, mongo))
        settings = Settings(store=EMULATED_URL, sources=EMULATED_URL, cache_dir=tmp_path / "c")
    with TestClient(create_app(settings, mongo_client=mongo), base_url="http://127.0.0.1") as c:
        yield c

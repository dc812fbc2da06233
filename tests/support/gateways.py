"""Two gateways over one store, as two processes would be (one connection each), for tests
of what processes do to each other: SQLite, or an emulated MongoDB (store and sources)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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

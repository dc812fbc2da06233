"""Asked again while a process that died mid-erasure still holds her lease: the answer is a
coded "ask again shortly" within the request's time budget, never the budget's TIMEOUT."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.gateway import open_gateway
from membergraph.privacy import privacy_of
from membergraph.privacy.lease import LEASE
from membergraph.settings import Settings
from tests.conftest import gql
from tests.privacy.people import add_to_folder

ERASE = 'mutation($id: ID!) { eraseMember(id: $id, reason: "DPO-7") { state } }'


async def _held_by_a_dead_process(settings: Settings, member: str) -> None:
    """Take her erasure's lease as a process killed before it saved its request leaves it."""
    gateway, sources, _ = await open_gateway(settings)
    try:
        privacy = await privacy_of(gateway)
        now = datetime.now(UTC)
        assert await privacy.store.lease(f"erase:{member}", "killed", now + LEASE, now)
    finally:
        await gateway.identity.store.aclose()
        await sources.aclose()


def test_asking_again_while_a_dead_process_holds_her_erasure_says_ask_again(
    data_dir: Path, tmp_path: Path
) -> None:
    add_to_folder(data_dir)
    settings = Settings(
        data=data_dir,
        store=f"sqlite:///{tmp_path / 'store.db'}",
        cache_dir=tmp_path / "cache",
        request_timeout=3,
    )
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        her = gql(client, '{ memberByIdentifier(kind: CRM_ID, value: "C-ZQ-77") { id } }')
        member = her["data"]["memberByIdentifier"]["id"]  # type: ignore[index]
        # Given a process killed in her erasure, its lease not run out yet
        asyncio.run(_held_by_a_dead_process(settings, member))
        # When the data-protection officer asks again
        answer = gql(client, ERASE, id=member)
    # Then the answer says to ask again shortly, within the request's time budget
    assert answer["errors"][0]["extensions"]["code"] == "UNAVAILABLE", answer  # type: ignore[index]

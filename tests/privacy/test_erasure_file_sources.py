"""Erasure where the sources are JSON Lines files pushed to by several gateways (a MongoDB
store with a ``--data`` folder): the file is rewritten without her, and every gateway's view
of it follows, the erasing one's and the others' (told by the change feed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from membergraph.connectors.models import SourceName
from membergraph.demo import write_demo_data
from membergraph.gateway import follow_feed, open_gateway
from membergraph.ingest import IngestService
from membergraph.privacy.erasure import erasure_of
from membergraph.settings import Settings
from tests.support.mongo import EmulatedClient

pytestmark = pytest.mark.mongodb

CONTACT = {
    "contact_id": "C-FILE-1",
    "first_name": "Rosalind",
    "last_name": "Filewell",
    "emails": ["rosalind.filewell@filemail.org"],
    "updated_at": "2026-11-01T00:00:00Z",
}


async def test_every_gateway_forgets_her_file_lines_once_she_is_erased(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    write_demo_data(folder, 20, seed=3)
    client = EmulatedClient()
    url = "mongodb://mongo.example:27017/files?replicaSet=rs0"
    settings = Settings(store=url, data=folder, cache_dir=tmp_path / "c")
    opened = [await open_gateway(settings, client) for _ in range(2)]
    (one, _, _), (other, _, _) = opened
    follower = await follow_feed(other)
    try:
        # Given her contact, pushed through one gateway, and held by the other one too
        pushed = await IngestService(one).push(SourceName.CRM, [CONTACT])
        [member] = pushed.members_changed
        await follower.catch_up()
        crm = [gateway.sources[SourceName.CRM] for gateway in (one, other)]
        for source in crm:
            [held] = await source.load_many(["C-FILE-1"])
            assert [line.contact_id for line in held] == ["C-FILE-1"]  # type: ignore[union-attr]
        # When one gateway erases her
        request = await (await erasure_of(one)).erase(member, "ticket DPO-FILE", "dpo")
        assert request.state == "done", request.steps
        await follower.catch_up()
        # Then her line is out of the file, and out of both gateways' views of it
        assert b"Filewell" not in (folder / "crm.jsonl").read_bytes()
        for source in crm:
            assert await source.load_many(["C-FILE-1"]) == [[]]
    finally:
        await follower.aclose()
        for gateway, sources, _ in opened:
            await gateway.identity.store.aclose()
            await sources.aclose()

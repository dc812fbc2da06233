"""`membergraph reresolve` over MongoDB while a gateway erases a person: it resolves the
collections' lines (a load changed them since the store was resolved from them), which
still held hers. Whenever the erasure falls (emulated, the resolution held at a step), it
must not write her back: nothing of hers is stored after both. (A start resolved them once;
no start resolves anything now, ``tests/api/test_mongodb_restart.py``.)"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from membergraph.connectors.models import SourceName
from membergraph.connectors.mongodb_loads import Load
from membergraph.gateway import open_gateway
from membergraph.identity.normalize import IdentifierKind
from membergraph.ingest import IngestService
from membergraph.privacy.erasure import erasure_of
from membergraph.resolve_cli import bring_up
from tests.privacy.test_erasure_race import BOUND, CONTACT, EMAIL
from tests.support.gateways import two_gateways

pytestmark = pytest.mark.mongodb

TRACES = ("rosalind", "Rosalind", "Racewell", "C-RACE-1")  # her contact's (no purchases)


@pytest.mark.parametrize(
    "held_at",
    [
        # It listed and screened the sources, and has read nothing of the store yet.
        pytest.param("values", id="erased-after-it-listed-her-lines"),
        # It also read what is suppressed (nothing yet), not yet the store.
        pytest.param("records", id="erased-after-it-screened-her-lines"),
    ],
)
async def test_a_reresolve_running_while_she_is_erased_does_not_write_her_back(
    tmp_path: Path, held_at: str
) -> None:
    async with two_gateways("mongodb", tmp_path) as (one, _):
        # Given her contact, taken through one gateway
        pushed = await IngestService(one).push(SourceName.CRM, [CONTACT])
        [member] = pushed.members_changed
        client = one.identity.store.client  # type: ignore[attr-defined]
        # And a load that changed the collections since, so that reresolve resolves them
        await Load(one.identity.store.db).begin()  # type: ignore[attr-defined]
        # When `membergraph reresolve` runs, and is held once it has listed her line
        hold = client.faults.hold_read(held_at)
        starting = asyncio.create_task(bring_up(one.settings, client=client))
        await asyncio.wait_for(hold.reached.wait(), BOUND)
        # ... while the first erases her, then lets it go on
        request = await asyncio.wait_for(
            (await erasure_of(one)).erase(member, "ticket DPO-START", "dpo"), BOUND
        )
        assert request.state == "done", request.steps
        hold.go.set()
        report = await asyncio.wait_for(starting, BOUND)
        assert report.behind
        gateway, sources, _ = await open_gateway(one.settings, client)
        try:
            # Then it did not bring her back: no gateway finds her, nothing of hers
            for each in (one, gateway):
                found = await each.identity.store.find_members(IdentifierKind.EMAIL, EMAIL)
                assert found == []
            db = one.identity.store.db  # type: ignore[attr-defined]
            stored = [
                (name, repr(doc))
                for name in await db.list_collection_names()
                async for doc in db[name].find({})
            ]
            assert [(n, t) for n, s in stored for t in TRACES if t in s] == []
        finally:
            await gateway.identity.store.aclose()
            await sources.aclose()

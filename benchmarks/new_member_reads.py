"""What a new member's ID costs an ingest: the store's round trips, with and without erasures.

    python benchmarks/new_member_reads.py [--contacts 100]

Ingests ``--contacts`` new CRM contacts one at a time (each a new member, whose fresh ID the
store is asked whether it was ever used: live, merged away or erased) into the embedded
SQLite store and the MongoDB adapter over the in-process emulation, first into a store no
erasure touched, then into one where a member was erased (its tombstone written), and prints
the store's round trips per ingest (SQLite: trips to its connection's thread; MongoDB: every
mapped read or write, each a round trip to the server).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# Run as a script from anywhere: the repository's root holds the test builders it uses.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.service import IdentityService
from membergraph.identity.store.mongodb import MongoStore
from membergraph.identity.store.port import IdentityStore
from membergraph.identity.store.sqlite import SqliteStore
from membergraph.privacy import privacy_store_for
from membergraph.privacy.port import Erasure
from tests.identity.builders import crm
from tests.support.mongo import EmulatedClient


@contextlib.asynccontextmanager
async def _opened(kind: str) -> AsyncIterator[tuple[IdentityStore, Callable[[], int]]]:
    if kind == "sqlite":
        async with SqliteStore(":memory:") as lite:
            yield lite, lambda: lite.trips
        return
    async with MongoStore("mongodb://emulated/membergraph", client=EmulatedClient()) as mongo:
        trips = 0
        mapped = mongo._mapped

        def counted(what: str) -> Any:
            nonlocal trips
            trips += 1
            return mapped(what)

        mongo._mapped = counted  # type: ignore[method-assign]
        yield mongo, lambda: trips


async def _per_ingest(kind: str, erased: bool, contacts: int) -> float:
    async with _opened(kind) as (store, trips):
        service = IdentityService(store)
        await service.ingest([crm("C-0", emails=["c0@bench.org"])])
        if erased:
            privacy = privacy_store_for(store)
            await privacy.open()
            [her] = await store.find_members(IdentifierKind.EMAIL, "c0@bench.org")
            refs = tuple((await store.member_records([her]))[0])
            await privacy.erase_identity(Erasure((her,), refs, (), ("C-0",)), datetime.now(UTC))
        before = trips()
        for n in range(1, contacts + 1):
            await service.ingest([crm(f"C-{n}", emails=[f"c{n}@bench.org"])])
        return (trips() - before) / contacts


async def main(contacts: int) -> None:
    print("| store | no erasure | after an erasure |")
    print("| --- | ---: | ---: |")
    for kind in ("sqlite", "mongodb-emulated"):
        plain = await _per_ingest(kind, False, contacts)
        erased = await _per_ingest(kind, True, contacts)
        print(f"| {kind} | {plain:.2f} | {erased:.2f} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100)
    asyncio.run(main(parser.parse_args().contacts))

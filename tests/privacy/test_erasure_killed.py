"""A process killed in the middle of an erasure, after her identity went and before the
request was finished: the request says which steps were done and what went, and the retry
in another process finishes it without losing that record or leaving her bytes unchecked.
One killed (SIGKILL, its lease left held) before her identity went: the next gateway finishes
it as it starts, before it answers anyone."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from membergraph.app import create_app
from membergraph.gateway import open_gateway
from membergraph.identity.normalize import IdentifierKind
from membergraph.privacy import privacy_of
from membergraph.privacy.erasure import erasure_of
from membergraph.settings import Settings
from tests.conftest import gql
from tests.privacy.people import add_to_folder


class Killed(BaseException):
    """What a SIGKILL amounts to for the code after it: nothing runs, nothing is caught."""


async def _member(gateway: Any) -> str:
    [member] = await gateway.identity.store.find_members(IdentifierKind.CRM_ID, "C-ZQ-77")
    return str(member)


async def _killed_after_identity(settings: Settings) -> str:
    gateway, sources, _ = await open_gateway(settings)
    try:
        member = await _member(gateway)

        async def die(entries: Any) -> None:  # the feed step: the process dies here
            raise Killed

        gateway.identity.store.append_feed = die
        with pytest.raises(Killed):
            await (await erasure_of(gateway)).erase(member, "ticket DPO-9", "dpo")
        return member
    finally:
        await gateway.identity.store.aclose()
        await sources.aclose()


async def _requests(settings: Settings, retry: bool) -> list[Any]:
    gateway, sources, _ = await open_gateway(settings)
    try:
        if retry:
            await (await erasure_of(gateway)).retry_unfinished()
        return await (await privacy_of(gateway)).store.requests(10)
    finally:
        await gateway.identity.store.aclose()
        await sources.aclose()


async def test_a_killed_erasure_keeps_what_its_finished_steps_did(
    data_dir: Path, tmp_path: Path
) -> None:
    add_to_folder(data_dir)
    db = tmp_path / "store.db"
    settings = Settings(data=data_dir, store=f"sqlite:///{db}", cache_dir=tmp_path / "cache")
    # Given an erasure whose process died once her identity was gone, before its feed step
    member = await _killed_after_identity(settings)
    # Then the request says so: the steps that ended, and what they took
    [request] = await _requests(settings, retry=False)
    assert request.member_id == member and request.state == "pending"
    assert request.steps == {
        "suppress": "done",
        "sources": "done",
        "identity": "done",
        "reresolve": "done",
    }
    assert request.counts["records"] >= 4 and request.counts["lines_crm"] == 1
    # When another process retries it (as its minute's upkeep does once the lease is free)
    [request] = await _requests(settings, retry=True)
    # Then it is done, and still says what went; the file was rewritten, as the retry could
    # not know her values to look for
    assert request.state == "done", request.steps
    assert set(request.steps.values()) == {"done"}
    assert request.counts["records"] >= 4 and request.counts["lines_crm"] == 1
    assert request.counts["rewritten"] == 1
    with sqlite3.connect(db) as raw:
        erased = raw.execute("SELECT count(*) FROM feed WHERE kind = 'erased'").fetchone()
    assert erased == (1,)


KILLED_AT_IDENTITY = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from pathlib import Path
    from membergraph.gateway import open_gateway
    from membergraph.identity.normalize import IdentifierKind
    from membergraph.privacy import privacy_of
    from membergraph.privacy.erasure import erasure_of
    from membergraph.settings import Settings

    async def main():
        data, store, cache = sys.argv[1:4]
        settings = Settings(data=Path(data), store=store, cache_dir=Path(cache))
        gateway, sources, _ = await open_gateway(settings)
        [member] = await gateway.identity.store.find_members(IdentifierKind.CRM_ID, "C-ZQ-77")
        print(member, flush=True)

        async def die(*args, **kwargs):  # her identity's step: the process is killed here
            os.kill(os.getpid(), signal.SIGKILL)

        (await privacy_of(gateway)).store.erase_identity = die
        await (await erasure_of(gateway)).erase(member, "ticket DPO-24", "dpo")

    asyncio.run(main())
    """
)
FIND = "query($v: String!) { memberByIdentifier(kind: CRM_ID, value: $v) { id } }"


def test_an_erasure_killed_after_her_sources_is_finished_as_the_next_gateway_starts(
    data_dir: Path, tmp_path: Path
) -> None:
    add_to_folder(data_dir)
    db, cache = tmp_path / "store.db", tmp_path / "cache"
    settings = Settings(data=data_dir, store=f"sqlite:///{db}", cache_dir=cache)
    # Given a gateway killed (SIGKILL: nothing after it runs, its lease stays held) as her
    # erasure's identity step began, her sources' lines gone, her records still stored
    argv = [sys.executable, "-c", KILLED_AT_IDENTITY, str(data_dir), settings.store, str(cache)]
    killed = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=os.environ)
    assert killed.returncode == -9, killed.stderr
    member = killed.stdout.strip()
    [request] = asyncio.run(_requests(settings, retry=False))
    assert (request.state, request.steps) == ("pending", {"suppress": "done", "sources": "done"})
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT count(*) FROM privacy_leases").fetchone() == (1,)
        kept = raw.execute("SELECT count(*) FROM records WHERE member_id = ?", (member,))
        assert kept.fetchone()[0] >= 4
    # When the next gateway starts over the store (no minute's retry comes in this test)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        # Then its first answers know her erasure done: no read finds her
        assert gql(client, FIND, v="C-ZQ-77")["data"] == {"memberByIdentifier": None}
        listed = gql(client, "{ privacyRequests { memberId state } }")["data"]
        assert listed == {"privacyRequests": [{"memberId": member, "state": "DONE"}]}
    with sqlite3.connect(db) as raw:
        kept = raw.execute("SELECT count(*) FROM records WHERE member_id = ?", (member,))
        assert kept.fetchone() == (0,)

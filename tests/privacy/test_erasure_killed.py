"""A process killed in the middle of an erasure, after her identity went and before the
request was finished: the request says which steps were done and what went, and the retry
in another process finishes it without losing that record or leaving her bytes unchecked."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from membergraph.gateway import open_gateway
from membergraph.identity.normalize import IdentifierKind
from membergraph.privacy import privacy_of
from membergraph.privacy.erasure import erasure_of
from membergraph.settings import Settings
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

"""Two stewards undoing one change at the same instant, in two processes over one store (two
gateways, `serve --workers 2`): one undoes it, the other is told ``ALREADY_UNDONE``, on every
store adapter. Both were once told it worked, with one undo written."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from membergraph.identity.service import IdentityService
from membergraph.identity.steward_link import link_records
from membergraph.identity.steward_request import StewardError
from membergraph.identity.store.port import IdentityEvent
from membergraph.identity.undo import undo_event
from tests.identity.builders import crm
from tests.support.stores import ADAPTERS, after_first_read, two_processes

ANN, BO = ("crm", "C-ANN"), ("crm", "C-BO")


@pytest.mark.parametrize("kind", ADAPTERS)
@pytest.mark.parametrize("undone", ["steward", "merged"], ids=["the-link", "its-merge"])
async def test_two_stewards_undoing_one_change_at_once_one_is_refused(
    kind: str, undone: str, tmp_path: Path
) -> None:
    async with two_processes(kind, tmp_path) as (one, two):
        service = IdentityService(one)
        event = await _linked(service, undone)
        barrier = asyncio.Barrier(2)
        for store in (one, two):
            # Each first read of histories (where undo looks for an undo already made) waits
            # until the other steward's process has read them too: two clicks at one instant
            after_first_read(store, "member_events", barrier.wait)

        answers = await asyncio.gather(
            *(
                undo_event(IdentityService(store), event.id, f"steward {n}", f"steward-{n}")
                for n, store in enumerate((one, two))
            ),
            return_exceptions=True,
        )

        # One undo is made; the other steward is told it was undone already, by which event
        refused = [a for a in answers if isinstance(a, BaseException)]
        assert len(refused) == 1, answers
        assert isinstance(refused[0], StewardError) and refused[0].code == "ALREADY_UNDONE"
        after = await one.assignments([ANN, BO])
        assert after[ANN] != after[BO]
        histories = await one.member_events([after[ANN], after[BO]])
        # (a merge's undo is its `unmerged` event, beside the steward event of the cut)
        said = "event_id" if undone == "merged" else "undoes"
        undos = {e.id for h in histories for e in h if e.evidence.get(said) == event.id}
        assert len(undos) == 1 and f"undone by event {undos.pop()}" in str(refused[0])


@pytest.mark.parametrize("kind", ADAPTERS)
async def test_an_undo_landing_between_a_merges_two_reads_is_named(
    kind: str, tmp_path: Path
) -> None:
    # A full suite under load (the nineteenth round's CI): the other steward's undo was
    # committed after this one read the merge's history and before it read where the
    # records are, and the refusal said only "apart already", naming no undo.
    async with two_processes(kind, tmp_path) as (one, two):
        service = IdentityService(one)
        merge = await _linked(service, "merged")
        made: list[str] = []

        async def the_other_steward_undoes() -> None:
            made.extend(await undo_event(service, merge.id, "not her", "steward-1"))

        # Given the other steward's undo lands just after this process read the history
        after_first_read(two, "member_events", the_other_steward_undoes)
        # When this steward undoes the same merge
        with pytest.raises(StewardError) as refused:
            await undo_event(IdentityService(two), merge.id, "not her", "steward-2")
        # Then it is told so, naming the undo that was made
        assert made and refused.value.code == "ALREADY_UNDONE"
        after = await one.assignments([ANN, BO])
        histories = await one.member_events(sorted(set(after.values())))
        [undo] = {e.id for h in histories for e in h if e.evidence.get("event_id") == merge.id}
        assert f"was undone by event {undo}" in str(refused.value)


@pytest.mark.parametrize("kind", ADAPTERS)
async def test_an_undo_landing_between_the_histories_and_the_links_is_named(
    kind: str, tmp_path: Path
) -> None:
    # The other steward's undo committed after this one read the histories (no undo there
    # yet) and before it read whether the link still stands (gone): it was refused as
    # "changed since" (LATER_CHANGES_DEPEND), 3 runs in 20 of the test above under load.
    async with two_processes(kind, tmp_path) as (one, two):
        service = IdentityService(one)
        link = await _linked(service, "steward")
        made: list[str] = []
        read = two.manual_links

        async def the_other_steward_undoes_first(*args: Any) -> Any:
            if not made:
                made.extend(await undo_event(service, link.id, "not her", "steward-1"))
            return await read(*args)

        # Given the other steward's undo lands just before this process reads the links
        two.manual_links = the_other_steward_undoes_first  # type: ignore[method-assign]
        # When this steward undoes the same link
        with pytest.raises(StewardError) as refused:
            await undo_event(IdentityService(two), link.id, "not her", "steward-2")
        # Then it is told it was undone already
        assert made and refused.value.code == "ALREADY_UNDONE", refused.value


async def _linked(service: IdentityService, kind: str) -> IdentityEvent:
    """Ann's and Bo's contacts linked by a steward; the event of ``kind`` it recorded (the
    steward's own, or the merge it made)."""
    await service.ingest(
        [crm("C-ANN", first="Ann", last="Lee"), crm("C-BO", first="Bo", birth="1990-02-02")]
    )
    [member] = await link_records(service, ANN, BO, "same person", "steward-1")
    [history] = await service.store.member_events([member])
    event = [e for e in history if e.kind == kind][-1]
    assert event.id is not None
    return event

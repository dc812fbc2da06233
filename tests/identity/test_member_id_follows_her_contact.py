"""When a member comes apart, her member ID stays with the piece holding her profile (her CRM
contact), not with her web visitors: a frontend holding the ID keeps finding her. Her history
names the member the other piece went to, and a split undone gives every record its ID back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from membergraph.identity.service import IdentityService
from membergraph.identity.steward import split_member
from membergraph.identity.steward_record import STEWARD
from membergraph.identity.undo import undo_event
from tests.identity.builders import crm, purchase, visitor
from tests.support.stores import ADAPTERS, open_store

HER = ("crm", "C1")
VISITORS = [("web_analytics", "a-1"), ("web_analytics", "a-2")]
EMAIL = "brenda.vasquez410@gmail.com"


@pytest.fixture(params=ADAPTERS)
async def service(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[IdentityService]:
    async with open_store(request.param, tmp_path) as store:
        service = IdentityService(store)
        await service.ingest(
            [
                crm("C1", first="Brenda", last="Vasquez", emails=[EMAIL]),
                *(visitor(anon, emails=(EMAIL,)) for _, anon in VISITORS),
            ]
        )
        yield service


async def _members(service: IdentityService) -> dict[tuple[str, str], str]:
    return await service.store.assignments([HER, *VISITORS])


async def test_a_contact_renamed_apart_from_her_visitors_keeps_her_member_id(
    service: IdentityService,
) -> None:
    before = await _members(service)
    assert len(set(before.values())) == 1, "given: her contact and two visitors, one member"
    # A newer line names her "Tied", a name her e-mail does not: the rules part her visitors.
    await service.ingest([crm("C1", first="Tied", last="Vasquez", emails=[EMAIL])])
    after = await _members(service)
    theirs = after[VISITORS[0]]
    assert after[HER] == before[HER], "her ID stays with her contact"
    assert theirs != before[HER] and after[VISITORS[1]] == theirs
    [history] = await service.store.member_events([before[HER]])
    told = [e.evidence.get("member_ids") for e in history if e.kind == "unlinked"]
    assert told and all(ids == [before[HER], theirs] for ids in told), "and names theirs"


async def test_a_stewards_split_of_her_visitors_and_its_undo_keep_her_member_id(
    service: IdentityService,
) -> None:
    before = await _members(service)
    member = before[HER]
    await split_member(service, member, VISITORS, "a shared computer", "steward")
    parted = await _members(service)
    assert parted[HER] == member and parted[VISITORS[0]] != member
    [history] = await service.store.member_events([member])
    split = next(e for e in history if e.kind == STEWARD and e.rule == "split")
    assert split.id is not None
    await undo_event(service, split.id, "it was hers", "steward")
    assert await _members(service) == before, "joined again under her ID"


CARD = ("transactions", "loyalty:LD100")
THEIRS = ("crm", "C2")
PAT = "pat.person77@gmail.com"


async def test_a_contact_joined_to_her_card_by_a_typo_leaves_without_her_member_id(
    tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    # Given Pat's card (her e-mail on it) and two devices naming her e-mail: one member,
    # whose ID her app holds; another person's contact names her card by a typo and joins.
    for kind in ("sqlite", "mongodb-emulated"):
        async with open_store(kind, tmp_path / kind) as store:
            service = IdentityService(store)
            await service.ingest(
                [
                    purchase(card="LD100", email=PAT, tid="T1"),
                    visitor("p-1", emails=(PAT,)),
                    visitor("p-2", emails=(PAT,)),
                ]
            )
            pats = (await store.assignments([CARD]))[CARD]
            [records] = await store.member_records([pats])
            await service.ingest([crm("C2", first="Quinn", last="Other", card="LD100")])
            assert (await store.assignments([THEIRS]))[THEIRS] == pats, kind
            # When a steward splits the other person's contact off, Pat keeps her ID.
            await split_member(service, pats, [THEIRS], "a typo of her card", "steward")
            after = await store.assignments([*records, THEIRS])
            assert {after[r] for r in records} == {pats}, kind
            assert after[THEIRS] != pats, kind
            # And the split undone joins them again under her ID.
            [history] = await store.member_events([pats])
            split = next(e for e in history if e.kind == STEWARD and e.rule == "split")
            assert split.id is not None
            await undo_event(service, split.id, "it was a family card", "steward")
            again = await store.assignments([*records, THEIRS])
            assert set(again.values()) == {pats}, kind

"""A change that keys records anew (``Change.renamed``), as every adapter writes it: the old
record gone, the new one in its member with its first member's ID, the stewards' links,
cannot-links and events naming the new key."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator

import pytest

from membergraph.identity.service import IdentityService
from membergraph.identity.steward import link_records, split_member
from membergraph.identity.store.port import Change, IdentityStore
from tests.identity.builders import crm, purchase
from tests.support.stores import ADAPTERS, open_store

ANN, CY = ("crm", "C1"), ("crm", "C3")
OLD = ("transactions", "online:ann@x.org\u200b")
NEW = ("transactions", "online:ann@x.org")


@pytest.fixture(params=ADAPTERS)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[IdentityStore]:
    async with open_store(request.param) as adapter:
        yield adapter


async def test_a_renamed_record_takes_its_member_and_its_stewards_decisions(
    store: IdentityStore,
) -> None:
    # Given an online customer's record a steward linked to Ann, and split from Cy
    service = IdentityService(store)
    order = purchase(email="ann@x.org", channel="online")
    old = dataclasses.replace(order, key=OLD[1])
    await service.resolve_all(
        {r.ref: r for r in (crm("C1", first="Ann"), crm("C3", first="Cy"), old)}
    )
    first = (await store.origins([OLD]))[OLD]
    await link_records(service, OLD, CY, "same shopper", "steward-1")
    await split_member(service, (await store.all_assignments())[CY], [CY], "no", "steward-1")
    await link_records(service, ANN, OLD, "her receipt", "steward-2")
    member = (await store.all_assignments())[OLD]
    assert first != member  # (merged into Ann's since: the first ID is not the current one)

    # When a change keys it anew
    new = dataclasses.replace(order, key=NEW[1])
    await store.apply(
        Change(
            records=[new], renamed={OLD: NEW}, assignments={NEW: member},
            replace_identifiers=True, actor="reresolve",
        )
    )  # fmt: skip

    # Then the old record is gone and the new one is in its member, with its first member
    assigned = await store.all_assignments()
    assert OLD not in assigned and assigned[NEW] == member == assigned[ANN]
    assert (await store.origins([NEW]))[NEW] == first
    assert set(await store.load_records([OLD, NEW])) == {NEW}
    # And the stewards' link and cannot-link name it, with who made them
    [link] = await store.manual_links([NEW])
    assert {link.a, link.b} == {ANN, NEW} and link.actor == "steward-2"
    assert await store.cannot_links([OLD]) == []
    assert {frozenset(p) for p in await store.cannot_links([NEW])} >= {frozenset((NEW, CY))}
    # And so do their events (undo finds the decisions there)
    [history] = await store.member_events([member])
    steward = [e for e in history if e.kind == "steward"]
    assert steward and all(OLD not in e.records for e in steward)
    assert any(NEW in e.records for e in steward)

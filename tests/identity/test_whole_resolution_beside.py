"""A whole resolution (a start that resolves, ``membergraph resolve``, a ``load``) beside a
gateway serving over the same store: what the serving one writes after the whole
resolution read the store is neither undone nor ignored (issue 17: nothing lost).

Each test runs the serving one's ingest right after the starting one read the store's
records (``after_whole_read``), on every adapter.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.service import IdentityService
from tests.identity.builders import crm, purchase, world
from tests.support.stores import ADAPTERS, after_whole_read, two_processes

OLD, NEW = "cara.lee@gmail.com", "carla.lee@fastmail.com"
CONTACT = ("crm", "C1")
ORDER = ("transactions", f"online:{NEW}")
MOVED = {"line1": "9 Pine St", "city": "Springfield", "postal_code": "62701", "country": "US"}


def _cara(*emails: str, first: str = "Cara", address: dict[str, str] | None = None) -> RecordData:
    return crm("C1", first=first, last="Lee", emails=[OLD, *emails], address=address)


async def _profile(service: IdentityService, email: str) -> tuple[str | None, list[RecordKey]]:
    """The member an e-mail finds, and its records (what a profile shows)."""
    found = await service.find_member_parts(IdentifierKind.EMAIL, email)
    return (None, []) if found is None else (found.member, sorted(found.parts.records))


@pytest.mark.parametrize("kind", ADAPTERS)
async def test_a_merge_the_serving_process_makes_meanwhile_is_not_undone(
    kind: str, tmp_path: Path
) -> None:
    # Given a contact, and an online order under an e-mail nobody else has yet: two members
    async with two_processes(kind, tmp_path) as (starting, serving):
        order = purchase(email=NEW, channel="online", tid="W1")
        await IdentityService(serving).ingest([_cara(), order])
        # and, once a starting gateway read the store, the serving one takes the contact's
        # new version: her new name and address, and that e-mail (the order is hers now)
        update = _cara(NEW, first="Carla", address=MOVED)
        merged = after_whole_read(starting, lambda: IdentityService(serving).ingest([update]))
        # When the starting one resolves the whole store (its folder: what the store held)
        await IdentityService(starting).resolve_all(world(_cara(), order))
        service = IdentityService(serving)
        member, records = await _profile(service, OLD)
        by_new = await service.find_member(IdentifierKind.EMAIL, NEW)
        held = (await serving.load_records([CONTACT]))[CONTACT]
    # Then her profile keeps the order the merge gave it, found by either e-mail, and her
    # new name and address
    assert merged and records == [CONTACT, ORDER] and by_new == member
    assert (held.first_name, held.address) == ("Carla", "9 pine st|62701")


@pytest.mark.parametrize("kind", ADAPTERS)
async def test_an_email_the_serving_process_adds_meanwhile_joins_the_folders_order(
    kind: str, tmp_path: Path
) -> None:
    # Given a contact, and a serving gateway that takes, once a starting one read the store,
    # a new e-mail of hers (it moves no record to another member)
    async with two_processes(kind, tmp_path) as (starting, serving):
        await IdentityService(serving).ingest([_cara()])
        added = after_whole_read(starting, lambda: IdentityService(serving).ingest([_cara(NEW)]))
        # When the starting one resolves the whole store with a folder bringing an online
        # order under that e-mail
        folder = world(_cara(), purchase(email=NEW, channel="online", tid="W1"))
        await IdentityService(starting).resolve_all(folder)
        service = IdentityService(serving)
        member, records = await _profile(service, OLD)
        by_new = await service.find_member(IdentifierKind.EMAIL, NEW)
    # Then the order is hers: her profile shows it, and the e-mail finds her
    assert added and records == [CONTACT, ORDER] and by_new == member

"""The guard on a contact's version written alone (a newer line saying what her record says:
a consent changed), so that it never puts back what another process wrote meanwhile.

The record is written whole (its names, birth date and address as read): another gateway
process over the store that wrote her newer name after this one read the record would have
it put back, with an older version, by a write no member version guarded. The members
holding the records are read, then the records again: unchanged, their versions are what
the write expects (:attr:`~membergraph.identity.store.types.Change.expected_versions`);
moved, the ingest is computed again (``ConcurrentChange``), and finds the newer line held.
"""

from __future__ import annotations

from collections.abc import Mapping

from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.store.port import ConcurrentChange, IdentityStore

__all__ = ["versions_expected"]


async def versions_expected(
    store: IdentityStore,
    versioned: Mapping[RecordKey, RecordData],
    read: Mapping[RecordKey, str | None],
) -> dict[str, int]:
    """The versions of the members holding ``versioned`` (records whose version alone moved,
    from ``read``) to expect when they are written (none: nothing to guard).

    Raises:
        ConcurrentChange: a record is no longer as it was read.
    """
    if not versioned:
        return {}
    refs = list(versioned)
    members = await store.record_members("member_id", refs)
    versions = await store.member_versions(set(members.values()))
    again = await store.load_records(refs)
    for ref, record in versioned.items():
        now = again.get(ref)
        if now is None or _person(now) != _person(record) or now.version != read[ref]:
            raise ConcurrentChange(f"a record changed meanwhile: {ref[0]}:{ref[1]}")
    return versions


def _person(record: RecordData) -> tuple[object, ...]:
    return (record.first_name, record.last_name, record.birth_date, record.address)

"""Ingesting changed records: what of each moved, and the write that follows.

A record whose identifiers or person moved is resolved again with its closure
(:meth:`~membergraph.identity.service.IdentityService.closure`); one whose purchases by day
moved and nothing the engine weighs, or only its line's version, is written alone, with no
closure to walk.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from membergraph.identity.records import RecordData, RecordKey, sorted_refs
from membergraph.identity.scope_change import ApplyResult
from membergraph.identity.store.port import Change, DaysRead
from membergraph.identity.values import day_evidence
from membergraph.identity.version_guard import versions_expected

if TYPE_CHECKING:
    from membergraph.identity.service import IdentityService

__all__ = ["ingest_records"]


async def ingest_records(
    service: IdentityService,
    incoming: Sequence[RecordData],
    actor: str,
    older: Sequence[RecordData] = (),
) -> ApplyResult:
    """:meth:`IdentityService.ingest`'s attempt: fold ``incoming`` into the records the
    store holds, and write what moved (a closure's resolution, or the records alone when
    only their purchases by day or their line's version moved)."""
    folded: dict[RecordKey, RecordData] = {}
    for record in incoming:
        if record.ref in folded:
            folded[record.ref].merge(record)
        else:
            folded[record.ref] = RecordData(
                record.source,
                record.key,
                record.role,
                set(record.identifiers),
                record.first_name,
                record.last_name,
                record.birth_date,
                record.address,
                None if record.days is None else dict(record.days),
                None if record.email_days is None else dict(record.email_days),
                record.version,
            )
    stored = await service.store.load_records({*folded, *(r.ref for r in older)})
    changed: dict[RecordKey, RecordData] = {}
    counted: dict[RecordKey, RecordData] = {}  # only their purchases by day moved
    versioned: dict[RecordKey, RecordData] = {}  # only their line's version moved
    versions_read: dict[RecordKey, str | None] = {}
    read: dict[RecordKey, DaysRead] = {}  # their days as read (fold_days replaces them)
    for ref, record in folded.items():
        held = stored.get(ref)
        if held is None:
            changed[ref] = record
            continue
        version = held.version
        if held.fold(record):
            held.fold_days(record)
            changed[ref] = held
            continue
        was, read[ref] = day_evidence(held, service.rules), (held.days, held.email_days)
        if held.fold_days(record):
            if day_evidence(held, service.rules) == was:
                counted[ref] = held
            else:
                changed[ref] = held
        elif held.version != version:
            # A contact's newer line saying what the record says (a consent changed):
            # its version is kept, without a closure (no member can move), so that an
            # older line a whole resolution brings later is known to be older.
            versioned[ref], versions_read[ref] = held, version
    for record in older:
        ref = record.ref
        held = changed.get(ref) or counted.get(ref) or versioned.get(ref) or stored.get(ref)
        if held is not None and held.remember(record):
            changed[ref] = held
            counted.pop(ref, None)
            versioned.pop(ref, None)
    expected = await versions_expected(service.store, versioned, versions_read)
    if versioned and changed:
        await service.store.apply(
            Change(actor=actor, records=_in_order(versioned), expected_versions=expected)
        )
    if not changed:
        counted |= versioned
        if counted:
            # A known card's purchase on a new day: the days are kept, and nothing the
            # engine weighs moved (day_evidence), so no member can: no closure to walk
            # (an ingest of 5 purchases walked 64 records on average, two thirds of
            # its time).
            # Another process may keep other days of these records meanwhile: the
            # write checks they are still as read (no member version guards them).
            kept = _in_order(counted)
            days_read = {ref: read[ref] for ref in counted if ref not in versioned}
            await service.store.apply(
                Change(actor=actor, records=kept, days_read=days_read, expected_versions=expected)
            )
        return ApplyResult(members=0)
    changed |= counted
    (scope, hubs), state = await service.closure(changed)
    return await service.apply_scope(scope, set(changed), hubs, actor, state=state)


def _in_order(records: Mapping[RecordKey, RecordData]) -> list[RecordData]:
    return [records[ref] for ref in sorted_refs(records)]

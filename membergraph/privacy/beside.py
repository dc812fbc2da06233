"""The people an erased person's records stood beside, resolved again once she is gone.

Her records weighed on how others were resolved: a family e-mail she also gave counted her as
one more person on it (a hub, so her relatives' two contacts of one person stayed apart);
her purchases made a placeholder of an address; her contact was a CRM holder of a card
others' purchases claim; her record in another member held its records together. Once her
records leave the store, the records that carried one of her values (and those of the
members that lost a record of hers, and the records she shared) are resolved again by the
identity engine's incremental path, the one a steward's link takes: the closure walk from
them over the store without her, then the engine on that closure. The store ends where a
whole resolution of the remaining records would, with the usual history and feed entries
for each member that changes.

Which records those are can only be read while hers are still there, so they are read
first (:func:`records_beside`) and kept with the request until resolved
(``PrivacyRequest.resolve_again``): a process killed between the two finishes at its retry.
They are other people's records, never hers, and leave the request once resolved.
"""

from __future__ import annotations

from membergraph.identity.records import RecordKey
from membergraph.identity.scope_change import Adjustments, ApplyResult
from membergraph.identity.service import IdentityService
from membergraph.identity.store.port import IdentityStore
from membergraph.privacy.subject import Subject

__all__ = ["records_beside", "resolve_beside"]


async def records_beside(store: IdentityStore, subject: Subject, cap: int) -> list[RecordKey]:
    """The records, not hers, that her records' presence may have resolved otherwise: the
    carriers of any value her records carry (a value still on more than ``cap`` records
    without her is a hub whatever she did, and is passed by), the records she shares, and
    the other records of the members that held one of hers."""
    hers = set(subject.refs)
    records = await store.load_records(subject.refs)
    values = {(i.kind, i.key) for record in records.values() for i in record.identifiers}
    values |= subject.theirs  # (what the records she shares lose)
    beside: set[RecordKey] = set(subject.shared)
    for refs in (await store.carriers(values)).values() if values else ():
        others = set(refs) - hers
        if len(others) <= cap:
            beside |= others
    if subject.touched:
        for refs in await store.member_records(list(subject.touched)):
            beside.update(refs)
    return sorted(beside - hers)


async def resolve_beside(
    identity: IdentityService, refs: list[RecordKey], actor: str, reason: str
) -> ApplyResult:
    """Resolve the closure of ``refs`` (those still stored) again, and write what changed:
    members merged or split get their events and feed entries, told with ``reason``."""

    async def attempt() -> ApplyResult:
        records = await identity.store.load_records(refs)
        if not records:
            return ApplyResult(members=0)
        (scope, hubs), state = await identity.closure(records)
        return await identity.apply_scope(
            scope, set(), hubs, actor, adjust=Adjustments(reason=reason), state=state
        )

    async with identity.lock:
        return await identity.retrying(attempt)

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

from collections.abc import Iterable

from membergraph.identity.hub_stops import HubStops
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.scope_change import Adjustments, ApplyResult
from membergraph.identity.service import IdentityService
from membergraph.identity.store.port import IdentityStore
from membergraph.privacy.subject import Subject

__all__ = ["records_beside", "resolve_beside"]


async def records_beside(store: IdentityStore, subject: Subject, rules: Rules) -> list[RecordKey]:
    """The records, not hers, that her records' presence may have resolved otherwise: the
    carriers of any value her records carry, the records she shares, and the other records
    of the members that held one of hers.

    Passed by, as the closure walk passes them (``identity/hub_stops.py``): a blocked value
    (``none@none.com`` links nothing whoever carries it), a value still on more than
    ``rules.hub_max_records`` records without her, and a device still crowded without her (a
    mail privacy proxy's): hubs whatever she did, so nothing beyond them can move."""
    hers = set(subject.refs)
    records = await store.load_records(subject.refs)
    values = {(i.kind, i.key) for record in records.values() for i in record.identifiers}
    values |= subject.theirs  # (what the records she shares lose)
    values = {v for v in values if not rules.is_junk(*v)}
    beside: set[RecordKey] = set(subject.shared)
    stops = HubStops({}, rules)
    for value, refs in (await store.carriers(values)).items() if values else ():
        others = sorted(set(refs) - hers)
        if len(others) > rules.hub_max_records:
            continue
        if value[0] is IdentifierKind.ANONYMOUS_ID:
            loaded = await store.load_records(others)
            if stops.crowded(value, stops.steady(others, loaded)):
                continue
        beside.update(others)
    if subject.touched:
        for refs in await store.member_records(list(subject.touched)):
            beside.update(refs)
    return sorted(beside - hers)


async def resolve_beside(
    identity: IdentityService,
    refs: list[RecordKey],
    actor: str,
    reason: str,
    erased_ids: Iterable[str] = (),
) -> ApplyResult:
    """Resolve the closure of ``refs`` (those still stored) again, and write what changed:
    members merged or split get their events and feed entries, told with ``reason``. No
    member gets one of ``erased_ids``: the store forgot them with her, and a new member's
    ID derived from its first record's key may be one (hers, made for a record a steward
    later split off to another member)."""

    async def attempt() -> ApplyResult:
        records = await identity.store.load_records(refs)
        if not records:
            return ApplyResult(members=0)
        (scope, hubs), state = await identity.closure(records)
        state.taken |= set(erased_ids)
        return await identity.apply_scope(
            scope, set(), hubs, actor, adjust=Adjustments(reason=reason), state=state
        )

    async with identity.lock:
        return await identity.retrying(attempt)

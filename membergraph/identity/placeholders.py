"""Placeholders the data reveals: an e-mail or phone carried by many different people.

The rules' blocklist names the placeholders anyone can see (``none@none.com``); others only
the data shows (a store's own address, typed at the till for every customer who gives none).
Resolution treats both alike: such a value links nothing (``values.status_of`` calls it a
hub). A member's contact e-mail and phone, the channels it is reachable on and the export
must leave them out alike, so they ask this module, which weighs a value's carriers by the
very function resolution weighs them by.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.store.port import IdentityStore
from membergraph.identity.values import ValueKey, person_of, status_of

__all__ = [
    "CONTACT_KINDS",
    "Placeholders",
    "carrier_floor",
    "placeholder_flags",
    "placeholder_rule",
    "revealed_placeholders",
    "weigh_placeholders",
    "weighed_refs",
]

CONTACT_KINDS = (IdentifierKind.EMAIL, IdentifierKind.PHONE)
"""The kinds a placeholder can be of (a card or an id is never typed to get past a form)."""

Placeholders = Callable[[IdentifierKind, str], bool]
"""Whether a value (kind, match key) identifies no one."""


async def revealed_placeholders(
    store: IdentityStore, rules: Rules, values: Iterable[ValueKey]
) -> set[ValueKey]:
    """The e-mails and phones among ``values`` that the data shows to be placeholders (hubs:
    on more people than the rules allow), read from the store in two queries at most: the
    carriers of every value, then the records of the few carried often enough to be one."""
    wanted = _wanted(rules, values)
    if not wanted:
        return set()
    carried = await store.carriers(wanted)
    refs = weighed_refs(rules, carried)
    records = await store.load_records(refs) if refs else {}
    return weigh_placeholders(rules, wanted, carried, records)


def _wanted(rules: Rules, values: Iterable[ValueKey]) -> set[ValueKey]:
    return {v for v in values if v[0] in CONTACT_KINDS and not rules.is_junk(*v)}


def carrier_floor(rules: Rules) -> int:
    """Carriers a value may have and be no placeholder whatever they are: fewer carriers
    than both people thresholds cannot be too many people."""
    return min(rules.hub_max_people, rules.till_max_people)


def weighed_refs(rules: Rules, carried: Mapping[ValueKey, Sequence[RecordKey]]) -> set[RecordKey]:
    """The records to weigh: those carrying a value carried more often than the floor but
    not so often that it is a placeholder whatever they are (``hub_max_records``)."""
    floor = carrier_floor(rules)
    return {
        r for refs in carried.values() if floor < len(refs) <= rules.hub_max_records for r in refs
    }


def weigh_placeholders(
    rules: Rules,
    wanted: Iterable[ValueKey],
    carried: Mapping[ValueKey, Sequence[RecordKey]],
    records: Mapping[RecordKey, RecordData],
) -> set[ValueKey]:
    """Which of ``wanted`` (e-mails and phones not on the blocklist) are placeholders, given
    their carriers (all of them, or at least one more than ``hub_max_records``) and the
    records of :func:`weighed_refs`: by the very function resolution weighs them by."""
    floor = carrier_floor(rules)
    wanted = set(wanted)
    over = {v: refs for v, refs in carried.items() if v in wanted and len(refs) > floor}
    revealed = {v for v, refs in over.items() if len(refs) > rules.hub_max_records}
    weighed = {v: refs for v, refs in over.items() if v not in revealed}
    if not weighed:
        return revealed
    people = _People(records)
    for value, refs in weighed.items():
        carriers = [records[r] for r in refs if r in records]
        if status_of(carriers, value, rules, frozenset(), people) == "hub":
            revealed.add(value)
    return revealed


def placeholder_flags(
    rules: Rules,
    values: Iterable[ValueKey],
    carried: Mapping[ValueKey, Sequence[RecordKey]],
    records: Mapping[RecordKey, RecordData],
) -> dict[ValueKey, bool]:
    """Whether each of a member's e-mails and phones is a placeholder (the blocklist, or
    :func:`weigh_placeholders`), from reads made with its lookup: what the request's
    placeholder loader answers, without its read."""
    values = [v for v in values if v[0] in CONTACT_KINDS]
    wanted = _wanted(rules, values)  # the contact values the blocklist leaves
    revealed = weigh_placeholders(rules, wanted, carried, records)
    return {v: v in revealed or v not in wanted for v in values}


class _People(dict[RecordKey, object]):
    """Who each record stands for (:func:`~membergraph.identity.values.person_of`), found
    when first asked: ``status_of`` asks it of the carriers of a value only when their
    number could make it a placeholder (a value on 3 to ``hub_max_people`` records, the
    most common, asks it only of those typed at a till)."""

    __slots__ = ("records",)

    def __init__(self, records: Mapping[RecordKey, RecordData]) -> None:
        super().__init__()
        self.records = records

    def __missing__(self, ref: RecordKey) -> object:
        record = self.records[ref]
        found = self[ref] = person_of(record, record.signature)
        return found


def placeholder_rule(rules: Rules, revealed: set[ValueKey]) -> Placeholders:
    """The blocklist and the values the data revealed, as one predicate."""
    return lambda kind, key: rules.is_junk(kind, key) or (kind, key) in revealed

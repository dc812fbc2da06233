"""Placeholders the data reveals: an e-mail or phone carried by many different people.

The rules' blocklist names the placeholders anyone can see (``none@none.com``); others only
the data shows (a store's own address, typed at the till for every customer who gives none).
Resolution treats both alike: such a value links nothing (``values.status_of`` calls it a
hub). A member's contact e-mail and phone, the channels it is reachable on and the export
must leave them out alike, so they ask this module, which weighs a value's carriers by the
very function resolution weighs them by.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.rules import Rules
from membergraph.identity.store.port import IdentityStore
from membergraph.identity.values import ValueKey, person_of, status_of

__all__ = [
    "CONTACT_KINDS",
    "Placeholders",
    "carrier_floor",
    "placeholder_rule",
    "revealed_placeholders",
    "settled_by_carriers",
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
    wanted = {v for v in values if v[0] in CONTACT_KINDS and not rules.is_junk(*v)}
    if not wanted:
        return set()
    floor = carrier_floor(rules)
    carried = {v: refs for v, refs in (await store.carriers(wanted)).items() if len(refs) > floor}
    revealed = {v for v, refs in carried.items() if len(refs) > rules.hub_max_records}
    weighed = {v: refs for v, refs in carried.items() if v not in revealed}
    if not weighed:
        return revealed
    records = await store.load_records({r for refs in weighed.values() for r in refs})
    people = {ref: person_of(record, record.signature) for ref, record in records.items()}
    for value, refs in weighed.items():
        carriers = [records[r] for r in refs if r in records]
        if status_of(carriers, value, rules, frozenset(), people) == "hub":
            revealed.add(value)
    return revealed


def carrier_floor(rules: Rules) -> int:
    """Carriers a value may have and be no placeholder whatever they are: fewer carriers
    than both people thresholds cannot be too many people."""
    return min(rules.hub_max_people, rules.till_max_people)


def settled_by_carriers(rules: Rules, carried: Mapping[ValueKey, int]) -> dict[ValueKey, bool]:
    """Whether each value is a placeholder, for the values their number of carriers (counted
    up to more than :func:`carrier_floor`) settles as :func:`revealed_placeholders` and the
    blocklist would: one on the blocklist is, one with no more carriers than the floor is
    not. The others are left out (weighed by their records, another read)."""
    floor = carrier_floor(rules)
    settled: dict[ValueKey, bool] = {}
    for value, count in carried.items():
        if rules.is_junk(*value):
            settled[value] = True
        elif count <= floor:
            settled[value] = False
    return settled


def placeholder_rule(rules: Rules, revealed: set[ValueKey]) -> Placeholders:
    """The blocklist and the values the data revealed, as one predicate."""
    return lambda kind, key: rules.is_junk(kind, key) or (kind, key) in revealed

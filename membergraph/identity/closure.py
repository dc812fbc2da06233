"""A change's closure: the records that may resolve differently once the changed ones are
in (an ingest's, a steward's link or split). Those sharing a linking value with them, the
records of their members, and so on from each record reached, until nothing new is reached.

The walk is written once, as a generator that asks for one step at a time (a
:class:`~membergraph.identity.store.types.ClosureStep`). The store port's default answers
each step with a round trip (:func:`run_walk_async`); SQLite runs the whole walk in its own
thread (:func:`run_walk`), in one hop and one snapshot.

The walk does not go through values many people carry (``hub_stops.py``): a store's e-mail
typed by clerks for every guest, a mail privacy proxy's device. Where such a value may be a
hub, it peeks at the CRM contacts holding its carriers' cards and logins (a step that
follows nothing) to count its people as the engine does.
"""

from __future__ import annotations

import typing
from collections import ChainMap
from collections.abc import Awaitable, Callable, Generator, Mapping, MutableMapping
from collections.abc import Set as AbstractSet
from typing import TYPE_CHECKING, Any

from membergraph.identity.devices import device_names
from membergraph.identity.hub_stops import HubStops, claims_of
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.values import ValueKey, closure_values

if TYPE_CHECKING:
    from membergraph.identity.store.types import ClosureStep

__all__ = ["Closure", "Crowded", "Step", "Walk", "closure_walk", "run_walk", "run_walk_async"]

Step = tuple[
    list[ValueKey],
    list[RecordKey],
    set[str],
    AbstractSet[RecordKey],
    int,
    list[ValueKey],
    dict[ValueKey, frozenset[RecordKey]],
]
"""What the walk asks of a store: ``closure_step``'s arguments."""
Crowded = MutableMapping[ValueKey, frozenset[RecordKey]]
"""Devices found crowded by earlier walks, each with its witnesses: steady carriers, one a
name, just enough names to be crowded. While they all still carry the device and none is
the change's, the store loads only them, not the device's every carrier (a mail privacy
proxy's hundred), and the walk judges the device on them as read now: still crowded, it
stops there; not (an erasure took a name), its carriers are read after all."""
CROWDED_KEPT = 10_000  # devices remembered, at most (then forgotten, all at once)
Closure = tuple[dict[RecordKey, RecordData], frozenset[ValueKey]]
"""The records in scope, and the values found to be hubs on the way (and crowded devices)."""
Walk = Generator[Step, "ClosureStep", Closure]

_EVERY = 1 << 62  # a step's cap that no value reaches: every carrier of its values


def closure_walk(
    changed: Mapping[RecordKey, RecordData], rules: Rules, crowded: Crowded | None = None
) -> Walk:
    """The closure of ``changed``, one step at a time. A value on more records than
    ``rules.hub_max_records`` is a hub, not followed; so is one the engine holds to be a hub
    by its people whatever the change does, and a crowded device (``hub_stops.py``; those
    found are remembered in ``crowded``, see :data:`Crowded`)."""
    known_crowded: Crowded = {} if crowded is None else crowded
    scope: dict[RecordKey, RecordData] = dict(changed)
    seen_values: set[ValueKey] = set()
    seen_members: set[str] = set()
    hubs: set[ValueKey] = set()
    held: set[ValueKey] = set()  # the hubs claimed, whose CRM contacts were read
    stops = HubStops(changed, rules)
    held_by_changed = {
        (i.kind, i.key)
        for r in changed.values()
        if r.source == "crm"
        for i in r.identifiers
        if i.kind is not IdentifierKind.PHONE
    }
    limit = rules.hub_max_records
    frontier = list(changed.values())
    while frontier:
        values = set().union(*(closure_values(r) for r in frontier)) - seen_values
        seen_values |= values
        # A blocked value links nothing whoever carries it: no need to visit its carriers.
        linkable = [v for v in values if not rules.is_junk(*v)]
        witnessed = {
            v: witnesses
            for v in linkable
            if (witnesses := known_crowded.get(v)) is not None and witnesses.isdisjoint(changed)
        }
        refs = [r.ref for r in frontier]
        step = yield (linkable, refs, seen_members, scope.keys(), limit, [], witnessed)
        hubs |= step.hubs
        seen_members |= step.members
        # A changed contact's value that is a hub by its records, a card or a login, may
        # be claimed by records beyond it (a card's purchases, calls that typed it): who
        # they are is who its contacts are, which the change may alter. They are followed.
        holding = sorted(step.hubs & held_by_changed)
        if holding:
            every = yield (holding, [], seen_members, scope.keys(), _EVERY, [], {})
            step.records.update(every.records)
            step.joined.update(*every.carried.values())
        stopped: set[ValueKey] = set()
        recheck = []
        for v, read in step.crowded.items():
            held_now = ChainMap(read, scope)
            if stops.crowded(v, stops.steady(list(witnessed[v]), held_now)):
                stopped.add(v)
            else:
                recheck.append(v)
                known_crowded.pop(v, None)
        if recheck:  # no longer crowded by its witnesses: every carrier, as for any device
            again = yield (recheck, [], seen_members, scope.keys(), limit, [], {})
            hubs |= again.hubs
            step.records.update(again.records)
            step.carried.update(again.carried)
        loaded = ChainMap(step.records, scope)
        for v, carriers in step.carried.items():
            if v[0] is IdentifierKind.ANONYMOUS_ID:
                steady = stops.steady(carriers, loaded)
                if stops.crowded(v, steady):
                    stopped.add(v)
                    _remember(known_crowded, v, steady, rules)
        wide = {
            v: claims
            for v, refs in step.carried.items()
            if v not in stopped and (claims := stops.candidate(v, refs, loaded)) is not None
        }
        if wide:
            peek = sorted({claim for claims in wide.values() for claim in claims})
            peeked = {}
            if peek:
                answer = yield ([], [], seen_members, scope.keys(), limit, peek, {})
                peeked = answer.peeked
            stopped |= {v for v in wide if stops.hub(v, step.carried[v], loaded, peeked)}
        found = step.records
        if stopped:
            hubs |= stopped
            kept = set(step.joined).union(
                *(refs for v, refs in step.carried.items() if v not in stopped)
            )
            found = {ref: record for ref, record in found.items() if ref in kept}
        # A hub a record claims (a card on more records than the cap, a login on hundreds
        # of devices): whose that record is, and whose a card's purchases are, depends on
        # every CRM contact holding it, which the engine reads. They join the closure.
        claimed = {v for r in frontier if r.source != "crm" for v in claims_of(r)} & hubs - held
        if claimed:
            held |= claimed
            answer = yield ([], [], seen_members, scope.keys(), limit, sorted(claimed), {})
            for holders in answer.peeked.values():
                found = {**found, **{r: c for r, c in (holders or {}).items() if r not in scope}}
        scope.update(found)
        frontier = list(found.values())
    return scope, frozenset(hubs)


def _remember(crowded: Crowded, device: ValueKey, steady: list[RecordData], rules: Rules) -> None:
    """Keep a crowded device's witnesses: steady carriers, each naming someone the ones
    before did not, until there are more names than a crowded device has."""
    names: set[tuple[IdentifierKind, str]] = set()
    witnesses = []
    for record in steady:
        named = device_names((record,), rules.is_junk) - names
        if named:
            names |= named
            witnesses.append(record.ref)
            if len(names) > rules.device_max_names:
                break
    if len(crowded) >= CROWDED_KEPT:
        crowded.clear()
    crowded[device] = frozenset(witnesses)


def run_walk(walk: Walk, step: Callable[..., ClosureStep]) -> Closure:
    """Run a walk to its end, answering each request with ``step``."""
    request, closure = _send(walk, None)  # None first: what starts a generator
    while request is not None:
        request, closure = _send(walk, step(*request))
    return typing.cast(Closure, closure)


async def run_walk_async(walk: Walk, step: Callable[..., Awaitable[ClosureStep]]) -> Closure:
    """:func:`run_walk`, with a step that is awaited (one round trip each)."""
    request, closure = _send(walk, None)
    while request is not None:
        request, closure = _send(walk, await step(*request))
    return typing.cast(Closure, closure)


def _send(walk: Walk, answer: Any) -> tuple[Step | None, Closure | None]:
    """The walk's next request, or its result once it has none."""
    try:
        return walk.send(answer), None
    except StopIteration as done:
        return None, done.value

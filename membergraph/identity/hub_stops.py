"""Where a change's closure walk stops short of a value's carriers: at a value the engine
holds to be a hub by its people, and at a device many people use, whatever the change does.

A value on fewer records than ``hub_max_records`` may still be carried by many people: a
store's own e-mail typed by clerks for each guest, a mail privacy proxy's device naming
every reader it opens mail for. Following such a value joins much of the store into one
closure. The walk leaves its carriers out when the engine would find it a hub (a crowded
device) both before the change and after it, so that nothing beyond it can move:

- it counts only the *steady* carriers, those the change leaves as they were, whose person
  (:class:`~membergraph.identity.people.People`) is the same before and after: not a record
  the change adds or replaces, not a device's record borrowing the device's names, not one
  claiming a card or contact whose CRM contacts the change touches. The engine counts these
  and perhaps more (people on a value only grow with its carriers), so a count over the
  threshold here is one over it in the engine, before the change and after;
- it never stops at a value a carrier claims (a card, a login): whose that record is
  depends on all of the value's CRM contacts, which the closure would then miss.

The engine is told of each stop (``hubs``), so the carriers the closure holds anyway see
the value as a hub, or the device as crowded, exactly as the whole store does.
"""

from __future__ import annotations

from collections.abc import Mapping

from membergraph.identity.devices import borrows, device_names
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.people import People, crm_signatures
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.values import ValueKey, person_of, typed_at_till

__all__ = ["HubStops", "claims_of"]

Peeked = Mapping[ValueKey, Mapping[RecordKey, RecordData] | None]


class HubStops:
    """Judges, for one change, the values a closure walk meets on few enough records to be
    followed."""

    def __init__(self, changed: Mapping[RecordKey, RecordData], rules: Rules) -> None:
        self.changed, self.rules = changed, rules
        # The change's records by the values they carry (a claim on one of them may change
        # holders): looked up per value met, not scanned, or a push of thousands of records
        # meeting thousands of values took minutes on the store's thread.
        self._carrying: dict[ValueKey, list[RecordData]] = {}
        for record in changed.values():
            for value in dict.fromkeys((i.kind, i.key) for i in record.identifiers):
                self._carrying.setdefault(value, []).append(record)
        self.touched = set(self._carrying)

    def steady(
        self, refs: list[RecordKey], loaded: Mapping[RecordKey, RecordData]
    ) -> list[RecordData]:
        """The carriers among ``refs`` that the change leaves as they were, and that borrow
        nothing from their device."""
        return [
            loaded[ref]
            for ref in dict.fromkeys(refs)
            if ref not in self.changed
            and ref in loaded
            and not borrows(loaded[ref], self.rules.is_junk)
        ]

    def crowded(self, value: ValueKey, steady: list[RecordData]) -> bool:
        """Whether a device's steady records name more people than a crowded device does."""
        if value[0] is not IdentifierKind.ANONYMOUS_ID:
            return False
        return len(device_names(steady, self.rules.is_junk)) > self.rules.device_max_names

    def candidate(
        self, value: ValueKey, refs: list[RecordKey], loaded: Mapping[RecordKey, RecordData]
    ) -> list[ValueKey] | None:
        """For a linking value that may be a hub by its people, the values whose CRM
        contacts must be peeked at to count them (the claims of its carriers); None when it
        cannot be one, or when a carrier claims it."""
        if value[0] is IdentifierKind.ANONYMOUS_ID or len(refs) <= min(
            self.rules.hub_max_people, self.rules.till_max_people
        ):
            return None
        carriers = [loaded[r] for r in dict.fromkeys(refs) if r in loaded]
        carriers += self._carrying.get(value, ())
        if any(value in claims_of(r) for r in carriers if r.source != "crm"):
            return None
        steady = self.steady(refs, loaded)
        # At most one person per claim, per contact, per record: too few, and it is no hub.
        classes = {_class(r, self.rules) for r in steady}
        typed = {_class(r, self.rules) for r in steady if typed_at_till(r, value)}
        if len(classes - {None}) <= self.rules.hub_max_people and len(typed) <= (
            self.rules.till_max_people
        ):
            return None
        return sorted({claim for r in steady if (claim := _claim(r)) is not None})

    def hub(
        self,
        value: ValueKey,
        refs: list[RecordKey],
        loaded: Mapping[RecordKey, RecordData],
        peeked: Peeked,
    ) -> bool:
        """Whether a value is a hub by its steady carriers' people, counted as the engine
        counts them (their claims' CRM contacts in ``peeked``)."""
        steady = []
        for record in self.steady(refs, loaded):
            claim = _claim(record)
            if claim is not None and (claim in self.touched or peeked.get(claim) is None):
                continue  # whose it is may change with the change, or is not known here
            steady.append(record)
        holders = {
            claim: list(found.values()) for claim, found in peeked.items() if found is not None
        }
        every = {r.ref: r for r in steady}
        for found in holders.values():
            every.update({r.ref: r for r in found})
        people = People(
            every, crm_signatures(every.values(), self.rules), holders, self.rules.is_junk
        )
        persons = {people[r.ref] for r in steady} - {None}
        typed = {people[r.ref] for r in steady if typed_at_till(r, value)}
        return len(persons) > self.rules.hub_max_people or len(typed) > self.rules.till_max_people


def claims_of(record: RecordData) -> set[ValueKey]:
    """The values a non-CRM record claims (:func:`~membergraph.identity.values.person_of`)."""
    return {
        (i.kind, i.key)
        for i in record.identifiers
        if i.kind is IdentifierKind.LOYALTY_ID
        or (record.role == "leaf" and i.via in ("login", "agent"))
    }


def _claim(record: RecordData) -> ValueKey | None:
    """The value whose CRM contacts say who a record is, if any."""
    if record.source == "crm":
        return None
    claimed = claims_of(record)
    return min(claimed) if claimed else None


def _class(record: RecordData, rules: Rules) -> object:
    """Who a record is, with a claim standing for itself: one class is one person or none."""
    claim = _claim(record)
    if claim is not None:
        return ("claims", claim)
    return person_of(record, crm_signatures([record], rules).get(record.ref))

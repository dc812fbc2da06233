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
from membergraph.identity.people import People, crm_signatures
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.store.port import IdentityStore
from membergraph.identity.values import (
    ValueKey,
    bag_reason,
    status_of,
    stored_nobodys_reason,
    typed_at_till,
)

__all__ = [
    "CONTACT_KINDS",
    "Holders",
    "PlaceholderValue",
    "Placeholders",
    "carrier_floor",
    "placeholder_flags",
    "nobodys_card",
    "placeholder_rule",
    "revealed_placeholders",
    "unsure_claims",
    "weigh_placeholders",
    "weighed_refs",
]

CONTACT_KINDS = (IdentifierKind.EMAIL, IdentifierKind.PHONE)
"""The kinds a placeholder can be of (a card or an id is never typed to get past a form)."""

Placeholders = Callable[[IdentifierKind, str], bool]
"""Whether a value (kind, match key) identifies no one."""

Holders = Mapping[ValueKey, Sequence[RecordData]]
"""The CRM contacts holding each card or login that a carrier claims."""


async def revealed_placeholders(
    store: IdentityStore,
    rules: Rules,
    values: Iterable[ValueKey],
    weighed: dict[ValueKey, bool] | None = None,
) -> set[ValueKey]:
    """The e-mails and phones among ``values`` that the data shows to be placeholders (hubs:
    on more people than the rules allow), read from the store in two queries at most: the
    carriers of every value (no more than tell a hub: a store's e-mail typed at the tills
    has more carriers the more people there are), then the records of the few carried
    often enough to be one.

    ``weighed``: the verdicts of a run over many pages (an export), kept for the values
    carried by more records than :func:`carrier_floor` and asked again by them: such a
    value (a store's e-mail, a household's phone) is on many members' pages, and weighing
    it reads and compares its carriers' records every time, more of them the more people
    there are. Those values are few (each is on several records), so the verdicts are.
    """
    wanted = _wanted(rules, values)
    revealed: set[ValueKey] = set()
    if weighed is not None:
        known = wanted.intersection(weighed)
        revealed = {v for v in known if weighed[v]}
        wanted -= known
    if not wanted:
        return revealed
    carried = await store.carriers(wanted, rules.hub_max_records + 1)
    refs = weighed_refs(rules, carried)
    records = await store.load_records(refs) if refs else {}
    found = await _weighed_with_holders(store, rules, wanted, carried, records)
    if weighed is not None:
        floor = carrier_floor(rules)
        weighed.update((v, v in found) for v, refs in carried.items() if len(refs) > floor)
    return revealed | found


async def _weighed_with_holders(
    store: IdentityStore,
    rules: Rules,
    wanted: Iterable[ValueKey],
    carried: Mapping[ValueKey, Sequence[RecordKey]],
    records: Mapping[RecordKey, RecordData],
) -> set[ValueKey]:
    """:func:`weigh_placeholders`, reading the CRM contacts of the cards and logins that
    decide the values it finds placeholders only while they are unknown (rare: two more
    queries then)."""
    revealed = weigh_placeholders(rules, wanted, carried, records)
    claims = unsure_claims(rules, revealed, carried, records)
    if not claims:
        return revealed
    holding = await store.carriers(claims)
    contacts = {r for refs in holding.values() for r in refs if r[0] == "crm"}
    crm = await store.load_records(contacts) if contacts else {}
    holders = {claim: [crm[r] for r in refs if r in crm] for claim, refs in holding.items()}
    return weigh_placeholders(rules, revealed, carried, records, holders)


def unsure_claims(
    rules: Rules,
    revealed: Iterable[ValueKey],
    carried: Mapping[ValueKey, Sequence[RecordKey]],
    records: Mapping[RecordKey, RecordData],
) -> set[ValueKey]:
    """The cards and logins (not the blocklist's) whose CRM contacts could make a weighed
    placeholder among ``revealed`` one person's value after all: her card's purchases and
    her contact are one person, not two. None for a value whose other carriers are too
    many people whoever holds the claims."""
    floor = carrier_floor(rules)
    claims: set[ValueKey] = set()
    # A claim stands for itself here (its holders unread), the others as resolution has them.
    people = People(records, crm_signatures(records.values(), rules), {}, rules.is_junk)
    for value in revealed:
        refs = carried.get(value, ())
        if not floor < len(refs) <= rules.hub_max_records:
            continue  # not weighed: who its carriers are decides nothing
        carriers = [records[r] for r in refs if r in records]
        claimed = {c for r in carriers if (c := _claim(people[r.ref])) is not None}
        others = [r for r in carriers if _claim(people[r.ref]) is None]
        persons = {people[r.ref] for r in others} - {None}
        typed = {people[r.ref] for r in others if typed_at_till(r, value)}
        if len(persons) <= rules.hub_max_people and len(typed) <= rules.till_max_people:
            claims |= claimed
    return {claim for claim in claims if not rules.is_junk(*claim)}


def _claim(person: object) -> ValueKey | None:
    """The card or login a person stands for (``("claims", value)``), if that is what it is."""
    if isinstance(person, tuple) and len(person) == 2 and person[0] == "claims":
        return person[1]  # type: ignore[no-any-return]
    return None


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
    holders: Holders | None = None,
) -> set[ValueKey]:
    """Which of ``wanted`` (e-mails and phones not on the blocklist) are placeholders, given
    their carriers (all of them, or at least one more than ``hub_max_records``), the
    records of :func:`weighed_refs` and the CRM contacts of the cards and logins those
    claim: by the very function resolution weighs them by
    (:class:`~membergraph.identity.people.People`).

    Without ``holders`` a record claiming a card stands for the card, never for fewer
    people: a value found no placeholder is none, one found a placeholder may not be
    (:func:`unsure_claims` names the claims to read)."""
    floor = carrier_floor(rules)
    wanted = set(wanted)
    over = {v: refs for v, refs in carried.items() if v in wanted and len(refs) > floor}
    revealed = {v for v, refs in over.items() if len(refs) > rules.hub_max_records}
    weighed = {v: refs for v, refs in over.items() if v not in revealed}
    if not weighed:
        return revealed
    holders = holders or {}
    every = [*records.values(), *(r for found in holders.values() for r in found)]
    people = People(records, crm_signatures(every, rules), holders, rules.is_junk)
    for value, refs in weighed.items():
        carriers = [records[r] for r in refs if r in records]
        if status_of(carriers, value, rules, frozenset(), people) == "hub":
            revealed.add(value)
    return revealed


async def placeholder_flags(
    store: IdentityStore,
    rules: Rules,
    values: Iterable[ValueKey],
    carried: Mapping[ValueKey, Sequence[RecordKey]],
    records: Mapping[RecordKey, RecordData],
) -> dict[ValueKey, bool]:
    """Whether each of a member's e-mails and phones is a placeholder (the blocklist, or
    :func:`weigh_placeholders`), from reads made with its lookup: what the request's
    placeholder loader answers, without its read (but for the rare claims that decide a
    value, :func:`unsure_claims`)."""
    values = [v for v in values if v[0] in CONTACT_KINDS]
    wanted = _wanted(rules, values)  # the contact values the blocklist leaves
    revealed = await _weighed_with_holders(store, rules, wanted, carried, records)
    return {v: v in revealed or v not in wanted for v in values}


class PlaceholderValue(ValueError):
    """A value looked up that identifies no one: the rules' blocklist (exactly or by pattern)
    or the data (on many different people) makes it a placeholder, as they keep it from
    linking. ``why`` says which, as a person reads it: ``a placeholder e-mail (blocklist)``.
    """

    def __init__(self, kind: IdentifierKind, by: str) -> None:
        self.why = f"a placeholder {_LABELS[kind]} ({by})"
        super().__init__(self.why)


def nobodys_card(rules: Rules, record: RecordData) -> str:
    """Why a card's own purchase record that resolution left in no member is nobody's, as
    :class:`PlaceholderValue` says it: a till's own (used many times a day on many days), or
    carried by many different people (tills typed many guests' e-mails with it)."""
    reason = bag_reason(record, rules) or stored_nobodys_reason(record, rules)
    if reason.endswith("(a till's own)"):
        return "a till's own"
    if reason.endswith("carried by many different people"):
        return "carried by many different people"
    return "it identifies no one"


_LABELS = {
    IdentifierKind.EMAIL: "e-mail",
    IdentifierKind.PHONE: "phone",
    IdentifierKind.LOYALTY_ID: "card",
    IdentifierKind.CRM_ID: "CRM id",
    IdentifierKind.ANONYMOUS_ID: "anonymous id",
}


def placeholder_rule(rules: Rules, revealed: set[ValueKey]) -> Placeholders:
    """The blocklist and the values the data revealed, as one predicate."""
    return lambda kind, key: rules.is_junk(kind, key) or (kind, key) in revealed

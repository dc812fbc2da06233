"""The identity engine: records in, members (components of accepted links) out.

Pure and deterministic: the result depends on the set of records, never on their order,
and it depends only on the records that share a value, so resolving a closure of records
(what incremental ingestion does) gives exactly what resolving everything gives there.

Phases, in priority order:

1. **Value status.** Each identifier value is *linkable*, *blocked* (junk), *hub* (on too
   many people or records) or *shared* (on two or more CRM people: a household landline or
   a family e-mail). Only linkable values link, except for CRM duplicates.
2. **Profile links** (CRM contacts, loyalty accounts, online customers): stewards' manual
   links; CRM duplicates (same first name, last name and birth date sharing a value, or close
   names and the birth date sharing a card or e-mail: ``rules.near_duplicates``); shared
   loyalty number; shared e-mail. Each union respects cannot-links and per-kind limits; a
   refused union is a conflict for stewards. Which pairs a shared value links, and under
   which rule, is :mod:`~membergraph.identity.profile_edges`; bags and relatives' e-mails
   link no one (:mod:`~membergraph.identity.set_aside`).
3. **Leaf attachment**: a web visitor or a call joins at most one member, chosen by the
   strongest evidence; disagreements are conflicts, never merges.
4. Visitors that attached nowhere but share a login or e-mail form members of their own;
   a visitor logged in as two members (a family computer) belongs to no one.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from membergraph._perf import gc_paused
from membergraph.identity.card_addresses import CardAddresses
from membergraph.identity.device_orders import claimed_online_orders
from membergraph.identity.devices import (
    confirmed_by_device,
    crowded_devices,
    with_device_logins,
)
from membergraph.identity.leaves import LeafChooser, in_order
from membergraph.identity.member_emails import (
    shared_emails_given_for_others,
    shared_emails_of_one_member,
    shared_emails_of_users,
)
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.partition import Partition
from membergraph.identity.people import People, crm_signatures
from membergraph.identity.profile_edges import DUPLICATES, ProfileEvidence
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.set_aside import (
    names_its_contacts,
    set_bags_aside,
    set_relatives_emails_aside,
)
from membergraph.identity.values import LINKING_KINDS, ValueKey, nobodys_reason, status_of

__all__ = ["Conflict", "Link", "Resolution", "ValueKey", "resolve"]

_PAUSE_GC_FROM = 20_000  # records from which a resolution pauses the garbage collector
_HAND_OVER_EVERY = 16384  # leaves attached between two runs of links given to on_links
_DEVICE_EMAIL = "device_email"  # an event's e-mail its device's login confirms


@dataclass(frozen=True, slots=True)
class Link:
    """An accepted link between two records, with the rule and evidence that made it."""

    a: RecordKey
    b: RecordKey
    rule: str
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Conflict:
    """Evidence the engine did not follow, listed for stewards."""

    kind: str  # limit | shared_device | call_mismatch | cannot_link | ambiguous
    records: tuple[RecordKey, ...]
    detail: dict[str, Any]


@dataclass(slots=True)
class Resolution:
    """The outcome of :func:`resolve`: members as components, and why."""

    components: list[list[RecordKey]]
    links: list[Link]
    conflicts: list[Conflict]
    value_status: dict[ValueKey, str]
    stopped_on: dict[ValueKey, list[RecordKey]] = field(default_factory=dict)
    """Each value whose status is not ``linkable``, with the records carrying it in key
    order, once per way each captured it (the events of a change name them: finding them
    needs no walk over every record)."""
    unattributed: dict[RecordKey, str] = field(default_factory=dict)
    """Purchase records keyed by a value the data shows to be a placeholder
    (:func:`~membergraph.identity.values.nobodys_reason`), in key order, each with why:
    no steward linked them, so they are in no component, and their lines belong to no one."""


class _Resolver:
    def __init__(
        self,
        records: Mapping[RecordKey, RecordData],
        rules: Rules,
        manual_links: Iterable[tuple[RecordKey, RecordKey, dict[str, Any]]],
        cannot_links: Iterable[tuple[RecordKey, RecordKey]],
        hubs: frozenset[ValueKey],
        order: Sequence[RecordKey] | None = None,
        on_links: Callable[[list[Link], bool], object] | None = None,
    ) -> None:
        # A device's own record is resolved as carrying its logins (devices.py).
        self.given = records  # as the lines said: a device's own records name no one
        self.crowded = crowded_devices(records.values(), rules, hubs)
        self.records = records = with_device_logins(records, rules.is_junk, self.crowded)
        self.on_links, self.handed = on_links, 0
        self.rules = rules
        self.manual = _manual_pairs(manual_links, records)
        self.cannot: dict[RecordKey, set[RecordKey]] = defaultdict(set)
        for a, b in cannot_links:
            self.cannot[a].add(b)
            self.cannot[b].add(a)
        # A contact a till typed for whoever stood there (Walk-In Customer) signs as no one.
        self.signature = crm_signatures(records.values(), rules)
        # Carriers and leaves in key order: a deterministic run.
        self.order = sorted(records) if order is None else order
        self.carriers: dict[ValueKey, list[RecordData]] = defaultdict(list)
        carriers_of, linking = self.carriers, LINKING_KINDS
        for ref in self.order:
            record = records[ref]
            for ident in record.identifiers:
                if ident.kind in linking:
                    carriers_of[(ident.kind, ident.key)].append(record)
        people = People(records, self.signature, self.carriers, rules.is_junk)
        self.status = {k: status_of(c, k, rules, hubs, people) for k, c in self.carriers.items()}
        self.bags = set_bags_aside(records, self.order, self.carriers, rules)
        # Shared only by a contact that carries it as a relative's: the others' own, when it
        # names them (not another young adult's of the household).
        left = set_relatives_emails_aside(records, self.order, self.carriers, rules)
        self.unnamed = {key for key in left if not names_its_contacts(key, self.carriers, rules)}
        for key in left - self.unnamed:
            if self.status[key] == "shared" and rules.relatives_emails_share_nothing:
                self.status[key] = status_of(self.carriers[key], key, rules, hubs, people)
        self.profiles = ProfileEvidence(records, rules, self.carriers, self.status, self.signature)
        self.card_addresses = CardAddresses(
            records, self.status, self.profiles.strangers_on_card, rules.card_addresses_keep_dots
        )
        self.partition = Partition(records, rules)
        self.links: list[Link] = []
        self.conflicts: list[Conflict] = []
        self.leaf_nobodys: dict[RecordKey, str] = {}

    # -- profile links ---------------------------------------------------------------

    def _forbidden(self, ra: RecordKey, rb: RecordKey) -> bool:
        if not self.cannot:
            return False
        ga, gb = self.partition.groups[ra], self.partition.groups[rb]
        if len(ga.members) > len(gb.members):
            ga, gb = gb, ga
        other = set(gb.members)
        return any(self.cannot.get(m, set()) & other for m in ga.members)

    def _cards_apart(self, ra: RecordKey, rb: RecordKey) -> bool:
        if not self.rules.near_duplicates.member_cards_apart:
            return False
        groups = self.partition.groups
        return self.card_addresses.apart(groups[ra].members, groups[rb].members)

    def _try_link(self, a: RecordKey, b: RecordKey, rule: str, evidence: dict[str, Any]) -> bool:
        p = self.partition
        ra, rb = p.find(a), p.find(b)
        if ra == rb:  # a steward's link joined already by others stays (an undo drops it)
            self.links.extend([Link(a, b, rule, evidence)] if rule == "manual" else [])
            return False
        if self._forbidden(ra, rb):
            self.conflicts.append(Conflict("cannot_link", (a, b), {"rule": rule, **evidence}))
            return False
        # Stewards and duplicates are exempt from limits; so is a leaf joining the member it
        # was chosen for, whose losing evidence (an agent's typo) must not count against it.
        if rule not in ("manual", "attach", _DEVICE_EMAIL) and rule not in DUPLICATES:
            broken = p.over_limit(ra, rb)
            if broken is not None:
                kind, values = broken
                detail = {"rule": rule, "limit": kind.value, "values": values, **evidence}
                self.conflicts.append(Conflict("limit", (a, b), detail))
                return False
        if rule in DUPLICATES and p.births_apart(ra, rb):  # namesakes through a third
            self.conflicts.append(Conflict("births_apart", (a, b), {"rule": rule, **evidence}))
            return False
        if rule in DUPLICATES and self._cards_apart(ra, rb):  # two people ordering apart
            self.conflicts.append(Conflict("cards_apart", (a, b), {"rule": rule, **evidence}))
            return False
        p.union(ra, rb)
        self.links.append(Link(a, b, rule, evidence))
        return True

    def run(self) -> Resolution:
        for a, b, evidence in self.manual:
            self._try_link(a, b, "manual", evidence)
        profiles, part, near = self.profiles, self.partition, self.rules.near_duplicates
        strangers = profiles.strangers_on_card
        for _, kind, value, a, b, rule in profiles.edges():
            said: dict[str, Any] = {"kind": kind.value, "value": value}
            if rule in DUPLICATES:
                said.update(profiles.names_and_birth(a, b, rule))
            self._try_link(a, b, rule, said)
        if self.rules.shared_emails_of_one_member:
            for ref, contact, (kind, value) in shared_emails_of_one_member(
                self.carriers, self.status, part, profiles.given, strangers, self.unnamed
            ):
                self._try_link(ref, contact, "email", {"kind": kind.value, "value": value})
        if self.rules.shared_emails_of_users:
            for ref, contact, (kind, value) in shared_emails_of_users(
                self.carriers, self.status, part, self.records, strangers, near
            ):
                evidence = {"kind": kind.value, "value": value, "via": "used"}
                self._try_link(ref, contact, "email", evidence)
        if self.rules.shared_emails_given_for_others:
            for ref, contact, (kind, value) in shared_emails_given_for_others(
                self.carriers, self.status, part, self.records, profiles.never_orders, near
            ):
                evidence = {"kind": kind.value, "value": value, "via": "given_for_others"}
                self._try_link(ref, contact, "email", evidence)
        for ref, contact, (kind, value), via in claimed_online_orders(
            self.carriers, self.status, part, self.records, self.given, self.rules, self.crowded
        ):
            said = {"kind": kind.value, "value": value, "via": via}
            self._try_link(ref, contact, "login_email", said)
        self._hand_over()  # the links among profiles: final, later steps only add links
        # Leaves join members regardless of limits: no need to keep the members' values.
        self.partition.forget_values()
        leaves = [record for ref in self.order if (record := self.records[ref]).role == "leaf"]
        chooser = LeafChooser(
            self.records,
            self.rules,
            self.partition,
            self.status,
            self.carriers,
            self._forbidden if self.cannot else None,
            self.crowded,
        )
        choices = [(leaf, chooser.choose(leaf)) for leaf in leaves]
        self.conflicts += [Conflict(*found) for found in chooser.found]
        for start in range(0, len(choices), _HAND_OVER_EVERY):
            for leaf, choice in choices[start : start + _HAND_OVER_EVERY]:
                if choice is not None:
                    ident, carrier = choice
                    evidence = {"kind": ident.kind.value, "value": ident.value, "via": ident.via}
                    self._try_link(leaf.ref, carrier, "attach", evidence)
            self._hand_over()
        self.leaf_nobodys = chooser.nobodys
        unplaced = [
            leaf for leaf, choice in choices if choice is None and leaf.ref not in chooser.nobodys
        ]
        if self.rules.devices_confirm_emails:
            unplaced = self._confirmed_by_device(unplaced, choices)
        self._group_unattached(unplaced)
        self._hand_over(last=True)
        unattributed = self._unattributed()
        groups = self.partition.groups.values()
        components = sorted(
            in_order(g.members)
            for g in groups
            if len(g.members) > 1 or g.members[0] not in unattributed
        )
        stopped_on = {
            key: [record.ref for record in self.carriers[key]]
            for key, status in self.status.items()
            if status != "linkable"
        }
        return Resolution(
            components, self.links, self.conflicts, self.status, stopped_on, unattributed
        )

    def _confirmed_by_device(
        self, unplaced: list[RecordData], choices: list[tuple[RecordData, Any]]
    ) -> list[RecordData]:
        """Join each event whose e-mail the device's logins confirm
        (:func:`~membergraph.identity.devices.confirmed_by_device`) to the login's member;
        answers the events still unplaced."""
        find = self.partition.find
        placed = {leaf.ref: find(choice[1]) for leaf, choice in choices if choice is not None}
        status = self.status
        joined = set()
        for record, ident, login in confirmed_by_device(
            (r for r in unplaced if r.source == "web_analytics"),
            placed,
            self.carriers,
            lambda key: status.get(key) in ("linkable", "shared"),
            find,
            self.crowded,
        ):
            evidence = {"kind": ident.kind.value, "value": ident.value, "via": "device"}
            if self._try_link(record.ref, login, _DEVICE_EMAIL, evidence):
                joined.add(record.ref)
        return [r for r in unplaced if r.ref not in joined]

    def _unattributed(self) -> dict[RecordKey, str]:
        """The records that identify no one and that nothing linked (a steward may link
        one), each with why: purchases keyed by placeholders, shared devices, calls of no one."""
        found: dict[RecordKey, str] = {}
        status, groups, calls = self.status, self.partition.groups, self.rules.calls_identify_no_one
        said = {**self.bags, **self.leaf_nobodys}  # (a shared device's reason first)
        for ref in self.order:
            why = said.get(ref) or nobodys_reason(self.records[ref], status, calls)
            group = groups.get(ref)
            if why is not None and group is not None and len(group.members) == 1:
                found[ref] = why
        return found

    def _hand_over(self, last: bool = False) -> None:
        """Give ``on_links`` the links made since its last call, if any (the last time, even
        none: it may then finish what needs them all)."""
        if self.on_links is not None and (last or len(self.links) > self.handed):
            self.on_links(self.links[self.handed :], last)
            self.handed = len(self.links)

    def _group_unattached(self, leaves: Iterable[RecordData]) -> None:
        first_seen: dict[ValueKey, RecordKey] = {}
        for leaf in leaves:
            if leaf.source != "web_analytics":
                continue
            for ident in in_order(leaf.identifiers):
                key = (ident.kind, ident.key)
                if ident.kind not in (IdentifierKind.EMAIL, IdentifierKind.CRM_ID):
                    continue
                if self.status.get(key) != "linkable":
                    continue
                if key in first_seen:
                    evidence = {"kind": ident.kind.value, "value": ident.value}
                    self._try_link(
                        first_seen[key], leaf.ref, "visitor_" + ident.kind.value.lower(), evidence
                    )
                else:
                    first_seen[key] = leaf.ref


def _manual_pairs(
    links: Iterable[tuple[RecordKey, RecordKey, dict[str, Any]]],
    records: Mapping[RecordKey, RecordData],
) -> list[tuple[RecordKey, RecordKey, dict[str, Any]]]:
    """Stewards' links among ``records`` in pair order, one per pair: a pair given twice
    (two stewards, two reasons) keeps the evidence that sorts first, whatever the order
    given. (Evidence dicts do not compare: they are never sort keys.)"""
    by_pair: dict[tuple[RecordKey, RecordKey], dict[str, Any]] = {}
    for a, b, evidence in links:
        if a not in records or b not in records:
            continue
        pair = (min(a, b), max(a, b))
        held = by_pair.get(pair)
        if held is None or _evidence_key(evidence) < _evidence_key(held):
            by_pair[pair] = evidence
    return [(a, b, by_pair[(a, b)]) for a, b in sorted(by_pair)]


def _evidence_key(evidence: Mapping[str, Any]) -> str:
    return json.dumps(evidence, sort_keys=True, default=str)


def resolve(
    records: Mapping[RecordKey, RecordData],
    rules: Rules | None = None,
    manual_links: Iterable[tuple[RecordKey, RecordKey, dict[str, Any]]] = (),
    cannot_links: Iterable[tuple[RecordKey, RecordKey]] = (),
    hubs: frozenset[ValueKey] = frozenset(),
    order: Sequence[RecordKey] | None = None,
    on_links: Callable[[list[Link], bool], object] | None = None,
) -> Resolution:
    """Resolve records into members.

    Args:
        records: every record to resolve, by ``(source, key)``.
        rules: the match rules (defaults if None).
        manual_links: stewards' links, ``(a, b, evidence)``; they override limits.
        cannot_links: pairs that must never share a member (from splits).
        hubs: values known to be hubs from outside ``records`` (incremental resolution).
        order: ``sorted(records)``, when the caller has it already.
        on_links: given the links as they are made, while the engine goes on, in runs:
            those among profiles, then the leaves' every few thousand, then the rest with
            ``True`` (the last run, perhaps empty). The runs, in the order given, are
            :attr:`Resolution.links` (a store may write them meanwhile).

    Example:
        >>> resolve({}).components
        []
    """
    # A batch's millions of objects pause the collector; an ingest's closure does not (the
    # pause is process-wide, and the event loop goes on meanwhile).
    paused: AbstractContextManager[None] = (
        gc_paused(freeze=False) if len(records) >= _PAUSE_GC_FROM else nullcontext()
    )
    with paused:
        return _Resolver(
            records, rules or Rules(), manual_links, cannot_links, hubs, order, on_links
        ).run()

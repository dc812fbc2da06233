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
   refused union is a conflict for stewards.
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
from membergraph.identity.card_emails import a_strangers_email
from membergraph.identity.devices import (
    confirmed_by_device,
    crowded_devices,
    with_device_logins,
)
from membergraph.identity.email_names import a_relatives_email, names_her
from membergraph.identity.leaves import LeafChooser, in_order
from membergraph.identity.member_emails import online_orders_of_logins, shared_emails_of_one_member
from membergraph.identity.near_edges import RULE as NEAR_RULE
from membergraph.identity.near_edges import near_duplicates
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.partial_names import (
    PLACEHOLDER_NAME_RULE,
    partial_duplicates,
    partial_signature,
)
from membergraph.identity.partial_names import RULE as PARTIAL_RULE
from membergraph.identity.partition import Partition
from membergraph.identity.people import People, crm_signatures
from membergraph.identity.phone_duplicates import postcode_of
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.reenrolments import CARD_ORDER_RULE, PHONE_RULE, Reenrolments
from membergraph.identity.rules import Rules
from membergraph.identity.values import (
    LINKING_KINDS,
    ValueKey,
    bag_reason,
    nobodys_reason,
    own_values_disagree,
    own_values_part,
    status_of,
)

__all__ = ["Conflict", "Link", "Resolution", "ValueKey", "resolve"]

_PAUSE_GC_FROM = 20_000  # records from which a resolution pauses the garbage collector
_HAND_OVER_EVERY = 16384  # leaves attached between two runs of links given to on_links
_DEVICE_EMAIL = "device_email"  # an event's e-mail its device's login confirms
_NO_ONES = ("hub", "blocked")  # statuses of values that identify no one
_RULE_ORDER = {"manual": 0, "crm_duplicate": 1, "loyalty_id": 2, "crm_id": 2, "email": 3}
_DUPLICATES = (
    "crm_duplicate",
    NEAR_RULE,
    PHONE_RULE,
    CARD_ORDER_RULE,
    PARTIAL_RULE,
    PLACEHOLDER_NAME_RULE,
)  # one person entered twice


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
        self.bags = self._set_bags_aside()
        # Shared only by a contact that carries it as a relative's: the others' own, when it
        # names them (not another young adult's of the household).
        left = self._set_relatives_emails_aside()
        self.unnamed = {key for key in left if not self._names_its_contacts(key)}
        for key in left - self.unnamed:
            if self.status[key] == "shared" and rules.relatives_emails_share_nothing:
                self.status[key] = status_of(self.carriers[key], key, rules, hubs, people)
        self.reenrolments = Reenrolments(rules, records, self.status, self.signature)
        self.partition = Partition(records, rules)
        self.links: list[Link] = []
        self.conflicts: list[Conflict] = []
        self.leaf_nobodys: dict[RecordKey, str] = {}

    def _set_bags_aside(self) -> dict[RecordKey, str]:
        """The purchase records whose own lines show many people's purchases
        (:func:`~membergraph.identity.values.bag_reason`: a card scanned for many guests, a
        till's own card or address used many times a day), each with why. Such a record is
        nobody's and links nothing: it leaves the carriers the engine links through (the
        values' status was weighed with it, as one more person who typed them at a till)."""
        rules, bags = self.rules, {}
        for ref in self.order:
            record = self.records[ref]
            if record.source == "transactions" and (why := bag_reason(record, rules)):
                bags[ref] = why
        for ref in bags:
            for ident in self.records[ref].identifiers:
                key = (ident.kind, ident.key)
                if key in self.carriers:
                    self.carriers[key] = [r for r in self.carriers[key] if r.ref not in bags]
        return bags

    def _set_relatives_emails_aside(self) -> set[ValueKey]:
        """A CRM contact leaves the carriers of an e-mail that names another person of her
        family (``rules.relatives_emails``: a parent's address given for a student): it
        links her to no one, and no one to her (the value's status was weighed with her,
        as for a bag). Answers the e-mails some contact left."""
        left: set[ValueKey] = set()
        if not self.rules.relatives_emails:
            return left
        names = self.rules.near_duplicates
        for ref in self.order:
            record = self.records[ref]
            if record.source != "crm" or not record.first_name or not record.last_name:
                continue
            for ident in record.identifiers:
                if ident.kind is not IdentifierKind.EMAIL:
                    continue
                key = (ident.kind, ident.key)
                if key in self.carriers and a_relatives_email(
                    ident.value, record.first_name, record.last_name, names
                ):
                    self.carriers[key] = [r for r in self.carriers[key] if r.ref != ref]
                    left.add(key)
        return left

    def _names_its_contacts(self, key: ValueKey) -> bool:
        """Whether an e-mail names every CRM contact still carrying it
        (:func:`~membergraph.identity.email_names.names_her`)."""
        near = self.rules.near_duplicates
        return all(
            names_her(key[1], r.first_name, r.last_name, near)
            for r in self.carriers[key]
            if r.source == "crm"
        )

    # -- profile links ---------------------------------------------------------------

    def _forbidden(self, ra: RecordKey, rb: RecordKey) -> bool:
        if not self.cannot:
            return False
        ga, gb = self.partition.groups[ra], self.partition.groups[rb]
        if len(ga.members) > len(gb.members):
            ga, gb = gb, ga
        other = set(gb.members)
        return any(self.cannot.get(m, set()) & other for m in ga.members)

    def _try_link(self, a: RecordKey, b: RecordKey, rule: str, evidence: dict[str, Any]) -> bool:
        p = self.partition
        ra, rb = p.find(a), p.find(b)
        if ra == rb:
            return False
        if self._forbidden(ra, rb):
            self.conflicts.append(Conflict("cannot_link", (a, b), {"rule": rule, **evidence}))
            return False
        # Stewards and duplicates are exempt from limits; so is a leaf joining the member it
        # was chosen for, whose losing evidence (an agent's typo) must not count against it.
        if rule not in ("manual", "attach", _DEVICE_EMAIL) and rule not in _DUPLICATES:
            broken = p.over_limit(ra, rb)
            if broken is not None:
                kind, values = broken
                detail = {"rule": rule, "limit": kind.value, "values": values, **evidence}
                self.conflicts.append(Conflict("limit", (a, b), detail))
                return False
        if rule in _DUPLICATES and p.births_apart(ra, rb):  # namesakes through a third
            self.conflicts.append(Conflict("births_apart", (a, b), {"rule": rule, **evidence}))
            return False
        p.union(ra, rb)
        self.links.append(Link(a, b, rule, evidence))
        return True

    def _profile_edges(
        self,
    ) -> list[tuple[int, IdentifierKind, str, RecordKey, RecordKey, str]]:
        edges = []
        signature, status_of_value = self.signature, self.status
        for key, carriers in self.carriers.items():
            if len(carriers) < 2:
                continue
            status = status_of_value[key]
            if status == "blocked" or status == "hub":
                continue
            profiles = [r.ref for r in carriers if r.role == "profile"]
            kind, value = key
            if kind is IdentifierKind.EMAIL and len(profiles) > 1:
                profiles = [ref for ref in profiles if not self._strangers_on_card(ref, value)]
            if len(profiles) < 2:
                continue
            signed = [(sig, ref) for ref in profiles if (sig := signature.get(ref))]
            if len(signed) > 1:  # most values are on one CRM contact at most
                by_signature: dict[tuple[str, str, str], list[RecordKey]] = defaultdict(list)
                for sig, ref in signed:
                    by_signature[sig].append(ref)
                for sig, same in by_signature.items():
                    for other in same[1:]:
                        if self._namesakes(kind, sig, same[0], other):
                            continue
                        edges.append((1, kind, value, same[0], other, "crm_duplicate"))
                if len(by_signature) > 1 and kind in self.rules.near_duplicates.kinds:
                    edges += near_duplicates(
                        self.rules, kind, value, by_signature, self.records, self.status
                    )
                elif len(by_signature) > 1 and kind is IdentifierKind.PHONE:
                    edges += self.reenrolments.on_phone(value, by_signature)
            if signed and len(signed) < len(profiles):  # a contact with a name left empty
                edges += partial_duplicates(self.rules, kind, value, profiles, signed, self.records)
            if signed and kind is IdentifierKind.EMAIL:
                holders = {ref: self._holders(ref) for ref in profiles}
                edges += self.reenrolments.on_card_orders(value, profiles, signed, holders)
            if status != "linkable" or kind is IdentifierKind.PHONE:
                # A phone alone never merges: households share landlines.
                continue
            if not self._given(key, carriers):
                continue  # staff typed it each time: for whom, the value cannot say
            rule = "email" if kind is IdentifierKind.EMAIL else kind.value.lower()
            order = _RULE_ORDER[rule]
            for other in profiles[1:]:
                edges.append((order, kind, value, profiles[0], other, rule))
        edges.sort()
        return edges

    def _namesakes(
        self, kind: IdentifierKind, sig: tuple[str, str, str], a: RecordKey, b: RecordKey
    ) -> bool:
        """Whether two contacts of one name and no birth date to compare, sharing a value
        a family shares (not a card), each have values of their own: a father and son of
        one name on the household's landline, each with his own e-mail
        (``reenrolments.namesakes_need_own_values``: values that identify her)."""
        held = self.rules.near_duplicates.birth_date_placeholders
        if not own_values_part(kind) or (sig[2] and sig[2] not in held):
            return False
        one, other = self.records[a], self.records[b]
        if not own_values_disagree(one, other, self.rules):
            return False
        if not self.rules.reenrolments.namesakes_need_own_values:
            return True
        # A value that identifies no one (the store's address a clerk typed when she gave
        # none) is no value of her own: differing only by such, one person at one postcode.
        status = self.status
        if own_values_disagree(
            one, other, self.rules, lambda k, key: status.get((k, key)) not in _NO_ONES
        ):
            return True
        reenrolments = self.rules.reenrolments
        return not reenrolments.placeholders_one_person(postcode_of(one), postcode_of(other))

    def _names_and_birth(self, a: RecordKey, b: RecordKey, rule: str) -> dict[str, list[str]]:
        """What two CRM contacts found one person's agreed on, for the link's evidence: each
        name the same or ``close``, and the birth date only when both have one (a date left
        out or a placeholder is ``left_out``: not compared; day and month ``swapped``)."""
        if rule == PLACEHOLDER_NAME_RULE:  # a till's word for a name: the date agreed or
            births = [(self.records[r].signature or ("", "", ""))[2] for r in (a, b)]
            said_birth = self.rules.near_duplicates.birth_said(*births)  # none to compare
            return {said_birth: ["birth_date"], "names_no_one": ["first_name", "last_name"]}
        said: dict[str, list[str]] = {"agreed": []}
        sig_a = self.signature.get(a) or partial_signature(self.records[a])
        sig_b = self.signature.get(b) or partial_signature(self.records[b])
        for n, name in enumerate(("first_name", "last_name")):
            if sig_a and sig_b and not (sig_a[n] and sig_b[n]):
                said.setdefault("left_out", []).append(name)  # a field left empty
                continue
            same = rule == "crm_duplicate" or bool(sig_a and sig_b and sig_a[n] == sig_b[n])
            said.setdefault("agreed" if same else "close", []).append(name)
        birth = self.rules.near_duplicates.birth_said(
            sig_a[2] if sig_a else "", sig_b[2] if sig_b else ""
        )
        said.setdefault(birth, []).append("birth_date")
        return said

    def _holders(self, ref: RecordKey) -> list[RecordData]:
        """A card's purchase record's CRM contacts (none for any other record)."""
        record = self.records[ref]
        if record.source != "transactions" or not record.key.startswith("loyalty:"):
            return []
        return [
            carrier
            for ident in record.identifiers
            if ident.kind is IdentifierKind.LOYALTY_ID
            for carrier in self.carriers.get((ident.kind, ident.key), ())
            if carrier.source == "crm"
        ]

    def _strangers_on_card(self, ref: RecordKey, email: str) -> bool:
        """Whether an e-mail on a card's purchases is someone else's than the card holder's
        (:func:`~membergraph.identity.card_emails.a_strangers_email`): a guest's, given for
        an online order a clerk put on her own card."""
        holders = self._holders(ref)
        if not holders:
            return False
        record = self.records[ref]
        given = [i.key for i in record.identifiers if i.kind is IdentifierKind.EMAIL]
        days = len((record.email_days or {}).get(email, ()))
        rules = self.rules
        return a_strangers_email(
            email,
            holders,
            rules.is_junk,
            given,
            days,
            rules.card_email_days,
            rules.card_handle_email_days,
            rules.near_duplicates,
        )

    def _given(self, key: ValueKey, carriers: list[RecordData]) -> bool:
        """Whether a record carries the value by a channel other than staff typing it
        (``rules.typed_by_staff``): the customer gave it."""
        staff, (kind, value) = self.rules.typed_by_staff, key
        return not staff or any(
            i.kind is kind and i.key == value and i.via not in staff
            for record in carriers
            for i in record.identifiers
        )

    def run(self) -> Resolution:
        for a, b, evidence in self.manual:
            self._try_link(a, b, "manual", evidence)
        for _, kind, value, a, b, rule in self._profile_edges():
            said: dict[str, Any] = {"kind": kind.value, "value": value}
            if rule in _DUPLICATES:
                said.update(self._names_and_birth(a, b, rule))
            self._try_link(a, b, rule, said)
        if self.rules.shared_emails_of_one_member:
            for ref, contact, (kind, value) in shared_emails_of_one_member(
                self.carriers,
                self.status,
                self.partition,
                self._given,
                self._strangers_on_card,
                self.unnamed,
            ):
                self._try_link(ref, contact, "email", {"kind": kind.value, "value": value})
        if self.rules.logins_claim_online_orders:
            for ref, contact, (kind, value) in online_orders_of_logins(
                self.carriers, self.status, self.partition, self.records, self.given, self.rules
            ):
                evidence = {"kind": kind.value, "value": value, "via": "login"}
                self._try_link(ref, contact, "login_email", evidence)
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
        one), each with why: purchases keyed by placeholders, shared devices."""
        found: dict[RecordKey, str] = {}
        status, groups, leaves = self.status, self.partition.groups, self.leaf_nobodys
        for ref in self.order:
            why = leaves.get(ref) or self.bags.get(ref) or nobodys_reason(self.records[ref], status)
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

"""Which member a leaf (a web visitor, a call) joins: at most one, on its strongest evidence.

A leaf never joins two members. When its evidence names two (a family computer logged in
as two people, an agent typing another member's card while the switch shows the caller's
phone), one wins by the rules' trust or none does, and the disagreement is a conflict for
stewards. A call whose evidence names one member but also carries a real e-mail or phone
that member does not have (a household landline answered by someone the CRM does not know,
an agent's typo of a card while the caller rings from an unknown number) joins no one:
its evidence disagrees, and a misattributed call is worse than an unattributed one. A
visitor logged in as two members (a family computer), or a device's events that name no one
on a device seen with two members' logins or e-mails (``devices.py``), join no one and, by
the rules (``shared_devices_identify_no_one``), belong to no one: that browsing is two
people's.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any, TypeVar

from rapidfuzz.distance import Levenshtein

from membergraph.identity.devices import borrows, device_of, devices_own
from membergraph.identity.email_names import names_anyone, names_her
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.partition import Partition
from membergraph.identity.records import Identifier, RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.values import LINKING_KINDS, SHARED_DEVICE, ValueKey

__all__ = ["Choice", "LeafChooser", "in_order"]

_T = TypeVar("_T")
Target = tuple[Identifier, RecordKey, RecordKey]  # identifier, carrier record, carrier's root
Choice = tuple[Identifier, RecordKey]
Found = tuple[str, tuple[RecordKey, ...], dict[str, Any]]  # a conflict: kind, records, detail

# Values anyone may have that the business never saw: one the member lacks names someone
# else. (Cards and contact IDs are issued by the business: an unknown one is a typo.)
_OPEN_KINDS = (IdentifierKind.EMAIL, IdentifierKind.PHONE)
_UNUSABLE = ("blocked", "hub")


def in_order(items: Collection[_T]) -> list[_T]:
    """``sorted(items)``, without the call for the many single ones (leaves, members)."""
    return list(items) if len(items) < 2 else sorted(items)  # type: ignore[type-var]


class LeafChooser:
    """Chooses leaves' members over the partition of profile records (the engine's second
    phase); the conflicts it meets are collected in :attr:`found`."""

    def __init__(
        self,
        records: Mapping[RecordKey, RecordData],
        rules: Rules,
        partition: Partition,
        status: Mapping[ValueKey, str],
        carriers: Mapping[ValueKey, list[RecordData]],
        forbidden: Callable[[RecordKey, RecordKey], bool] | None,
        crowded: Collection[str] = frozenset(),
    ) -> None:
        self.records, self.rules, self.partition = records, rules, partition
        self.crowded = crowded  # devices many people use (``devices.crowded_devices``)
        self.status, self.carriers = status, carriers
        # (root, root) -> whether a cannot-link keeps them apart; None: no cannot-links.
        self.forbidden = forbidden
        self.found: list[Found] = []
        # Leaves that belong to no one, with why: a family computer logged in as two members.
        self.nobodys: dict[RecordKey, str] = {}
        self._held: dict[RecordKey, dict[IdentifierKind, set[str]]] = {}

    def _targets(self, leaf: RecordData) -> list[Target]:
        """(identifier, carrier record, carrier's root) for each profile the leaf points to."""
        found = []
        status, carriers_of = self.status, self.carriers
        # Sorted after filtering: a visitor's own id is never a target, and one is not sorted.
        linking = [ident for ident in leaf.identifiers if ident.kind in LINKING_KINDS]
        for ident in in_order(linking):
            key = (ident.kind, ident.key)
            if status.get(key) != "linkable":
                continue
            for carrier in carriers_of[key]:
                if carrier.role == "profile":
                    found.append((ident, carrier.ref, self.partition.find(carrier.ref)))
                    break
        return found

    def _values_of(self, root: RecordKey) -> dict[IdentifierKind, set[str]]:
        """The e-mails and phones of a member's profile records (placeholders and hubs
        left out: they say nothing of anyone)."""
        held = self._held.get(root)
        if held is None:
            held = self._held[root] = {}
            for ref in self.partition.groups[root].members:
                record = self.records[ref]
                if record.role != "profile":
                    continue
                for ident in record.identifiers:
                    usable = self.status.get((ident.kind, ident.key)) not in _UNUSABLE
                    if ident.kind in _OPEN_KINDS and usable:
                        held.setdefault(ident.kind, set()).add(ident.key)
        return held

    def _disagrees(
        self, leaf: RecordData, root: RecordKey, weighed: list[Target]
    ) -> list[Identifier]:
        """A call's real values of the kinds the rules say disagree (``call_disagrees``)
        that name no one known and that the member has none like: it has values of that
        kind, none this one nor one slip from it (``call_value_slips`` edits: an agent's typo
        of the member's own e-mail). (A value naming a profile, ``weighed``, was weighed as
        evidence for that profile's member already.)"""
        if leaf.source != "call_center":
            return []
        held = self._values_of(root)
        named = {ident for ident, _, _ in weighed}
        kinds, slips = self.rules.call_disagrees, self.rules.call_value_slips
        return [
            ident
            for ident in in_order(leaf.identifiers)
            if ident.kind in kinds
            and ident not in named
            and self.status.get((ident.kind, ident.key)) not in _UNUSABLE
            and held.get(ident.kind)
            and not any(
                Levenshtein.distance(ident.key, v, score_cutoff=slips) <= slips
                for v in held[ident.kind]
            )
        ]

    def _names_several(self, leaf: RecordData, every: list[Target]) -> bool:
        """Whether a device's own record (its events naming no one, carrying the people its
        other records name: ``devices.py``) names several people: its names lead to two
        members, or it has more names than one person has (``hub_max_people``, as for a
        value) and one of its e-mails leads to no member (a mail privacy proxy's readers,
        most of whom the business knows by no profile). A few names one of which leads
        nowhere are one person's as often as not (her old or work e-mail beside her login),
        unless that e-mail names another person (:meth:`_another_on_device`), and a login no
        contact has yet is a contact still to come."""
        if len({root for _, _, root in every}) > 1:
            return True
        names = {
            (i.kind, i.key)
            for i in leaf.identifiers
            if i.kind in LINKING_KINDS and self.status.get((i.kind, i.key)) == "linkable"
        }
        led = {(i.kind, i.key) for i, _, _ in every}
        others = self.rules.devices_naming_others
        if every and others and self._another_on_device(leaf, led, every[0][2]):
            return True
        if len(names) <= self.rules.hub_max_people:
            return False
        return any(kind is IdentifierKind.EMAIL for kind, _ in names - led)

    def _another_on_device(self, leaf: RecordData, led: set[ValueKey], root: RecordKey) -> bool:
        """Whether a device's own record, whose names lead to one member, also borrows an
        e-mail that leads to no member and names another person than that member's contacts
        do (``kedwards@`` beside John Edwards's login: his wife signing up on the family
        computer). Her old or work address names her, and a handle names no one: hers."""
        contacts = [
            self.records[m]
            for m in self.partition.groups[root].members
            if self.records[m].source == "crm"
            and (self.records[m].first_name or self.records[m].last_name)
        ]
        if not contacts:
            return False
        names = self.rules.near_duplicates
        return any(
            names_anyone(i.value, names)
            and not any(names_her(i.value, c.first_name, c.last_name, names) for c in contacts)
            for i in in_order(leaf.identifiers)
            if i.kind is IdentifierKind.EMAIL
            and (i.kind, i.key) not in led
            and self.status.get((i.kind, i.key)) == "linkable"
        )

    def _household(self, ra: RecordKey, rb: RecordKey) -> bool:
        def marks(root: RecordKey) -> tuple[set[str], set[str]]:
            crm = [self.records[m] for m in self.partition.groups[root].members]
            crm = [r for r in crm if r.source == "crm"]
            return (
                {r.address for r in crm if r.address},
                {r.last_name.casefold() for r in crm if r.last_name},
            )

        (addr_a, last_a), (addr_b, last_b) = marks(ra), marks(rb)
        return bool(addr_a & addr_b or last_a & last_b)

    def _one(self, leaf: RecordData, target: Target, weighed: list[Target]) -> Choice | None:
        """The only member a leaf's evidence names, unless its other evidence disagrees."""
        against = self._disagrees(leaf, target[2], weighed)
        if not against:
            return target[0], target[1]
        refs, detail = conflict_of(leaf, [target])
        detail["disagrees"] = [_said(i) for i in against]
        detail["decision"] = "none (the call's evidence disagrees)"
        self.found.append(("call_mismatch", refs, detail))
        return None

    def _one_spelling(self, leaf: RecordData, targets: list[Target]) -> list[Target]:
        """The targets, less a typed contact id whose spellings (``12345``: ``C0012345`` or
        ``BSM-12345``) name two members: which one the agent meant, nothing says."""
        spelt: dict[str, set[RecordKey]] = {}
        for ident, _, root in targets:
            if ident.kind is IdentifierKind.CRM_ID and ident.key != ident.value:
                spelt.setdefault(ident.value, set()).add(root)
        doubtful = {value for value, roots in spelt.items() if len(roots) > 1}
        if not doubtful:
            return targets
        unsure = [
            t for t in targets if t[0].kind is IdentifierKind.CRM_ID and t[0].value in doubtful
        ]
        refs, detail = conflict_of(leaf, unsure)
        detail["decision"] = "none (a typed contact id that fits two)"
        self.found.append(("ambiguous", refs, detail))
        return [t for t in targets if t not in unsure]

    def choose(self, leaf: RecordData) -> Choice | None:
        """The member (a carrier record of it) a leaf joins, and on what; None: none."""
        every = self._one_spelling(leaf, self._targets(leaf))
        several = (devices_own(leaf) and self._names_several(leaf, every)) or (
            bool(self.crowded)
            and device_of(leaf) in self.crowded
            and borrows(leaf, self.rules.is_junk)
        )
        if len(every) < 2 and self.forbidden is None and not several:
            # Most leaves: one target or none, nothing to weigh and no steward's objection.
            return self._one(leaf, every[0], every) if every else None
        if several or len({root for ident, _, root in every if ident.via == "login"}) > 1:
            # Logged in as two members, or a device's events naming no one on a device seen
            # with two members' logins or e-mails (a family computer, a mail privacy proxy):
            # a shared device, whatever stewards forbid since.
            refs, detail = conflict_of(leaf, every)
            self.found.append(("shared_device", refs, detail))
            if self.rules.shared_devices_identify_no_one:
                self.nobodys[leaf.ref] = SHARED_DEVICE
            return None
        # The leaf's own group: a steward's link may have placed it in a member already.
        own = self.partition.find(leaf.ref)
        apart = self.forbidden or (lambda a, b: False)
        targets = [t for t in every if not apart(own, self.partition.find(t[2]))]
        roots = {root for _, _, root in targets}
        if len(roots) <= 1:
            return self._one(leaf, targets[0], every) if targets else None
        refs, detail = conflict_of(leaf, targets)
        if leaf.source == "call_center":
            by_switch = [t for t in targets if t[0].via == "switch"]
            typed = [t for t in targets if t[0].via == "agent"]
            if by_switch and typed:
                shared_line = self._household(by_switch[0][2], typed[0][2])
                winner = typed[0] if shared_line else by_switch[0]
                detail["decision"] = (
                    "typed account (shared line)" if shared_line else "caller phone"
                )
                self.found.append(("call_mismatch", refs, detail))
                return winner[0], winner[1]
        trust = self.rules.trust
        # Ties go to the shorter key, measured on its text: a key read back from the store
        # (source a str) and one from a source line (a SourceName) must weigh the same.
        best = max(targets, key=lambda t: (trust.get(t[0].via, 0), -len(t[1][0]) - len(t[1][1])))
        kind = "shared_device" if leaf.source == "web_analytics" else "ambiguous"
        self.found.append((kind, refs, {**detail, "decision": best[0].via}))
        return best[0], best[1]


def _said(ident: Identifier) -> dict[str, str]:
    return {"kind": ident.kind.value, "value": ident.value, "via": ident.via}


def conflict_of(
    leaf: RecordData, targets: list[Target]
) -> tuple[tuple[RecordKey, ...], dict[str, Any]]:
    """The records a leaf's disagreeing evidence names, and that evidence."""
    refs = tuple(sorted({leaf.ref, *(carrier for _, carrier, _ in targets)}))
    return refs, {"evidence": [_said(i) for i, _, _ in targets]}

"""The engine's partition: union-find whose groups know their members and, for the
identifier kinds with a per-member limit, their values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules

__all__ = ["Group", "Partition"]

_NO_VALUES: frozenset[str] = frozenset()


@dataclass(slots=True)
class Group:
    members: list[RecordKey]
    # The members' values of limited kinds: built when a limit is first asked of the group,
    # kept up to date from then on. Most leaves' groups are never asked.
    values: dict[IdentifierKind, set[str]] | None = None


class Partition:
    """Union-find whose roots know their members and limited values."""

    def __init__(self, records: Mapping[RecordKey, RecordData], rules: Rules) -> None:
        self.records = records
        self.parent: dict[RecordKey, RecordKey] = {ref: ref for ref in records}
        self.groups: dict[RecordKey, Group] = {ref: Group([ref]) for ref in records}
        self.limits = rules.limits
        self.near = rules.near_duplicates

    def _values(self, root: RecordKey) -> dict[IdentifierKind, set[str]]:
        group = self.groups[root]
        if group.values is None:
            group.values = {}
            self._add_values(group.values, group.members)
        return group.values

    def _add_values(self, values: dict[IdentifierKind, set[str]], refs: list[RecordKey]) -> None:
        limits, records = self.limits, self.records
        for ref in refs:
            for ident in records[ref].identifiers:
                if ident.kind in limits:
                    values.setdefault(ident.kind, set()).add(ident.key)

    def find(self, ref: RecordKey) -> RecordKey:
        parent = self.parent
        root = ref
        while parent[root] != root:
            root = parent[root]
        while parent[ref] != root:
            parent[ref], ref = root, parent[ref]
        return root

    def over_limit(self, a: RecordKey, b: RecordKey) -> tuple[IdentifierKind, list[str]] | None:
        """The kind whose limit joining a and b would break (never one already broken)."""
        values_a, values_b = self._values(a), self._values(b)
        for kind, limit in self.limits.items():
            va, vb = values_a.get(kind, _NO_VALUES), values_b.get(kind, _NO_VALUES)
            if len(va) + len(vb) <= limit:
                continue  # within the limit however many they share
            joined = len(va | vb)
            if joined > limit and joined > max(len(va), len(vb)):
                return kind, sorted(va | vb)
        return None

    def births_apart(self, a: RecordKey, b: RecordKey) -> bool:
        """Whether joining the groups of roots a and b would make a member holding two CRM
        contacts whose birth dates disagree (``near_duplicates.member_births_agree``): two
        namesakes born years apart, each joined to a third contact that gave no date."""
        if not self.near.member_births_agree:
            return False
        births_a, births_b = self._births(a), self._births(b)
        same = self.near.same_birth
        return any(not same(x, y) for x in births_a for y in births_b)

    def _births(self, root: RecordKey) -> set[str]:
        records, held = self.records, self.near.birth_date_placeholders
        return {
            born
            for ref in self.groups[root].members
            if ref[0] == "crm"
            and (day := records[ref].birth_date) is not None
            and (born := day.isoformat()) not in held
        }

    def forget_values(self) -> None:
        """Drop the groups' limited values: kept up to date, they cost a set update at each
        union; dropped, they are built again from the members if a limit is asked again."""
        for group in self.groups.values():
            group.values = None

    def union(self, a: RecordKey, b: RecordKey) -> RecordKey:
        ga, gb = self.groups[a], self.groups[b]
        if len(ga.members) < len(gb.members):
            a, b, ga, gb = b, a, gb, ga
        self.parent[b] = a
        values_a = ga.values
        if values_a is not None:  # else built from all the members when first asked
            if gb.values is None:
                self._add_values(values_a, gb.members)
            else:
                for kind, values in gb.values.items():
                    values_a.setdefault(kind, set()).update(values)
        ga.members.extend(gb.members)
        del self.groups[b]
        return a

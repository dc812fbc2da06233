"""An older store's records keyed anew, in place (``membergraph reresolve``).

A release may key a line to another record than the one an older release filed it under
(format 4: ``online:ann@mail.org\\u200b`` is ``online:ann@mail.org``), and match identifiers
on other keys (``ann+shop@mail.org`` is matched as ``ann@mail.org``). The lines are where
the store keeps them with their owner
(:class:`~membergraph.identity.owned_lines.OwnedLines`: the embedded store's source table,
MongoDB source collections), lines that arrived by ``POST /ingest`` or ``sync`` included,
so nothing needs a folder: :func:`rekey` reads which lines this release keys
otherwise, and writes one change (:class:`~membergraph.identity.store.types.Change`'s
``renamed`` and ``gone``) that

- deletes each record whose lines all went elsewhere and writes the record(s) they go to,
  derived again from every line now theirs, in the old record's member;
- renames, in place, the links, cannot-links and stewards' events naming a record whose
  lines all went to one record: a steward's link, split or rejected suggestion follows it,
  with its actor, time and reason, and ``undo`` finds it; a moved web event's consent fact
  follows its line;
- retracts (links) or lifts (cannot-links) a decision that cannot follow: its record's lines
  went to several records or to none, or both its records are one now; each is reported,
  in the run's output and in the member's identity history, never dropped in silence;
- derives every stored identifier again from its value (:func:`identifiers_again`);
- writes a ``rekeyed`` event in each member's identity history and a ``linked`` feed entry.

Then the source's owners are written
(:meth:`~membergraph.identity.owned_lines.OwnedLines.set_owners`). A run stopped between the
two is finished by the next: the change is computed from the lines and what the store
holds, so a record already re-keyed is not re-keyed again, and its event is not written
twice. The members are then resolved again as any older store is (``reresolve``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, datetime

from membergraph.connectors.models import SourceName
from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.owned_lines import Moved, OwnedLines
from membergraph.identity.records import Identifier, RecordData, RecordKey, identifiers_again
from membergraph.identity.service import IdentityService
from membergraph.identity.store.format import STORE_FORMAT
from membergraph.identity.store.types import Change, IdentityEvent, StoredLink

__all__ = ["Rekeyed", "rekey"]

ACTOR = "reresolve"
_FACT_SOURCES = frozenset({SourceName.WEB_ANALYTICS.value})
Targets = set[RecordKey | None]
"""The records a record's lines go to (None: a line that identifies no one now)."""


@dataclass(slots=True)
class Rekeyed:
    """What keying the store anew changed (or, in a dry run, would change)."""

    lines: int = 0
    """Lines filed under another record."""
    renamed: int = 0
    """Records whose lines all went to one record (their decisions follow)."""
    gone: int = 0
    """Records whose lines went to several records, or to none."""
    suppressed: int = 0
    """Records dropped as their lines now go only to records carrying a suppressed
    identifier (an erased or suppressed person's: kept in the source, refused, no one's)."""
    identifiers: int = 0
    """Records whose identifiers this release derives otherwise from their values."""
    followed: int = 0
    """Stewards' decisions (links, splits, rejected suggestions) that follow their record."""
    reported: list[str] = field(default_factory=list)
    """Stewards' decisions that could not follow, one line each."""
    examples: list[str] = field(default_factory=list)
    written: dict[RecordKey, RecordData] = field(default_factory=dict, repr=False)
    """The records the change writes (a dry run resolves them in place of those stored)."""

    def lines_said(self, dry_run: bool) -> list[str]:
        would = "would be" if dry_run else "were"
        said = [
            f"{self.lines} line(s) {would} keyed to another record: {self.renamed} record(s) "
            f"{would} re-keyed, {self.gone} split into several or left to no one, "
            f"{self.suppressed} left out: their lines carry a suppressed identifier; "
            f"{self.identifiers} record(s)' identifiers {would} keyed anew; {self.followed} "
            f"steward decision(s) {would} kept on the re-keyed records",
            *self.examples,
        ]
        if self.reported:
            said.append(f"{len(self.reported)} steward decision(s) cannot follow their record:")
            said.extend(f"  {line}" for line in self.reported)
        return said


async def rekey(
    identity: IdentityService,
    held: OwnedLines,
    derived: Mapping[RecordKey, RecordData],
    moved: Sequence[Moved],
    have: int,
    dry_run: bool = False,
    suppressed: Set[RecordKey] = frozenset(),
) -> Rekeyed:
    """Key the store's records as this release keys their lines (see the module): ``moved``
    and ``derived`` as :meth:`OwnedLines.read` found them (``derived`` without
    ``suppressed``: those the lines derive that carry a suppressed identifier). ``have``:
    the store's format."""
    report = Rekeyed(lines=len(moved))
    store = identity.store
    async with identity.lock:
        stored = await store.load_records(None)
        assigned = await store.all_assignments()
        plan = _Plan(stored, assigned, derived, moved, identity.region, suppressed)
        olds = sorted({*plan.renamed, *plan.gone})
        links = await store.active_links(olds) if olds else []
        cannot = await store.cannot_links(olds) if olds else []
        change = plan.change(links, cannot, have, report)
        report.written = plan.records
        if not dry_run:
            await store.apply(change)
    if not dry_run and moved:
        await held.set_owners(moved)
    return report


class _Plan:
    """What keying anew writes, from the lines moved and what the store holds."""

    def __init__(
        self,
        stored: Mapping[RecordKey, RecordData],
        assigned: Mapping[RecordKey, str],
        derived: Mapping[RecordKey, RecordData],
        moved: Sequence[Moved],
        region: str,
        suppressed: Set[RecordKey] = frozenset(),
    ) -> None:
        self.stored, self.assigned, self.region = stored, assigned, region
        goes: dict[RecordKey, Targets] = {}
        self.lines: Counter[RecordKey] = Counter()
        for m in moved:
            if m.old:
                goes.setdefault((m.source, m.old), set()).add((m.source, m.new) if m.new else None)
                self.lines[m.source, m.old] += 1
        # A record still holding lines of its own keeps its key; one already gone from the
        # store was re-keyed by a run stopped before the source's owners were written.
        leaving = {old: to for old, to in goes.items() if old not in derived and old in stored}
        self.renamed: dict[RecordKey, RecordKey] = {}
        self.gone: dict[RecordKey, list[RecordKey]] = {}
        self.refused: set[RecordKey] = set()
        """Those of :attr:`gone` whose lines go only to records a suppression refuses."""
        for old, to in sorted(leaving.items()):
            # (A record of lines a suppressed identifier refuses is derived no more.)
            targets = sorted(t for t in to if t is not None and t in derived)
            if len(targets) == 1 and len(to) == 1:
                self.renamed[old] = targets[0]
            else:
                self.gone[old] = targets
                if not targets and to and all(t in suppressed for t in to):
                    self.refused.add(old)
        self.records = self._records(derived, goes)
        # A web event's consent fact is filed under its visitor record; a CRM contact's under
        # the contact, which never moves (insights/consent.py).
        self.facts = [
            (m.source, m.line_id, m.old, m.new)
            for m in moved
            if m.old and m.new and m.source in _FACT_SOURCES
        ]

    def _again(self, record: RecordData) -> set[Identifier]:
        return identifiers_again(record.identifiers, self.region)

    def _records(
        self, derived: Mapping[RecordKey, RecordData], goes: Mapping[RecordKey, Targets]
    ) -> dict[RecordKey, RecordData]:
        """Every record whose stored form changes: the records lines went to or left (as
        the lines derive them, with the values the old record held), and those whose
        identifiers this release derives otherwise."""
        dropped = {*self.renamed, *self.gone}
        out: dict[RecordKey, RecordData] = {}
        touched = {t for to in goes.values() for t in to if t is not None}
        touched |= {old for old in goes if old in derived}
        into: dict[RecordKey, list[RecordKey]] = {}
        for old, new in self.renamed.items():
            into.setdefault(new, []).append(old)
        for ref in sorted(touched):
            if ref not in derived:
                continue
            record = dataclasses.replace(derived[ref], identifiers=set(derived[ref].identifiers))
            held = self.stored.get(ref)
            if held is not None and ref not in goes:  # (values only an older version held)
                record.identifiers |= self._again(held)
            for old in into.get(ref, ()):
                record.identifiers |= self._again(self.stored[old])
            if held is None or _differs(record, held):
                out[ref] = record
        for ref, held in self.stored.items():
            if ref in dropped or ref in out or ref in touched:
                continue
            again = self._again(held)
            if again != held.identifiers:
                out[ref] = dataclasses.replace(held, identifiers=again)
        return out

    def change(
        self,
        links: Sequence[StoredLink],
        cannot: Sequence[tuple[RecordKey, RecordKey]],
        have: int,
        report: Rekeyed,
    ) -> Change:
        at = datetime.now(UTC)
        why = f"store format {have} -> {STORE_FORMAT}: its lines are keyed anew"
        change = Change(
            records=list(self.records.values()),
            renamed=dict(self.renamed),
            gone=sorted(self.gone),
            replace_identifiers=True,
            facts_moved=self.facts,
            actor=ACTOR,
            reason=why,
            at=at,
        )
        report.renamed, report.gone = len(self.renamed), len(self.gone) - len(self.refused)
        report.suppressed = len(self.refused)
        # A record kept whose stored identifiers this release keys otherwise, a record that
        # lines moved into included (its own identifiers are keyed anew as well).
        report.identifiers = sum(
            1
            for ref, held in self.stored.items()
            if ref not in self.renamed
            and ref not in self.gone
            and self._again(held) != held.identifiers
        )
        # A new record joins the member of the (first) record its lines came from.
        for old, new in sorted(self.renamed.items()) + [
            (old, new) for old, to in sorted(self.gone.items()) for new in to
        ]:
            member = self.assigned.get(old)
            if member is not None and new not in self.stored:
                change.assignments.setdefault(new, member)
        decisions = self._decisions(change, links, cannot, report)
        # A member left with no record (its records' lines identify no one now) is retired.
        dropped = {*change.renamed, *change.gone}
        left = {m for ref, m in self.assigned.items() if ref not in dropped}
        left |= set(change.assignments.values())
        emptied = {self.assigned[r] for r in dropped if r in self.assigned}
        change.retired = sorted(emptied - left)
        self._history(change, decisions, why, at)
        report.examples = [
            f"  re-keyed: {old[0]} {old[1]!r} -> {new[1]!r}"
            for old, new in list(self.renamed.items())[:5]
        ]
        return change

    def _decisions(
        self,
        change: Change,
        links: Sequence[StoredLink],
        cannot: Sequence[tuple[RecordKey, RecordKey]],
        report: Rekeyed,
    ) -> dict[str, list[str]]:
        """Retract the links and lift the cannot-links that cannot follow their records;
        the stewards' among them reported, by member."""

        def now(ref: RecordKey) -> RecordKey | None:
            if ref in self.gone:
                return None
            return self.renamed.get(ref, ref)

        def why_not(a: RecordKey, b: RecordKey) -> str | None:
            for ref in (a, b):
                if ref in self.refused:
                    return f"the lines of {ref[0]} {ref[1]!r} carry a suppressed identifier"
                if ref in self.gone:
                    to = self.gone[ref]
                    where = f"{len(to)} records" if to else "no record (they identify no one)"
                    return f"the lines of {ref[0]} {ref[1]!r} are now keyed to {where}"
            if now(a) == now(b):
                return f"{a[1]!r} and {b[1]!r} are one record now ({now(a)[1]!r})"  # type: ignore[index]
            return None

        by_member: dict[str, list[str]] = {}
        for link in links:
            why = why_not(link.a, link.b)
            steward = link.rule == "manual"
            if why is None:
                report.followed += steward
                continue
            change.links_retracted.append((link.a, link.b, link.rule))
            if steward:
                said = f"steward's link ({link.actor}) retracted: {why}"
                report.reported.append(said)
                member = self.assigned.get(link.a) or self.assigned.get(link.b)
                if member is not None:
                    by_member.setdefault(member, []).append(said)
        for a, b in cannot:
            why = why_not(a, b)
            if why is None:
                report.followed += 1
                continue
            change.cannot_lifted.append((a, b))
            said = f"steward's cannot-link (a split or a rejected suggestion) lifted: {why}"
            report.reported.append(said)
            member = self.assigned.get(a) or self.assigned.get(b)
            if member is not None:
                by_member.setdefault(member, []).append(said)
        return by_member

    def _history(
        self, change: Change, decisions: Mapping[str, list[str]], why: str, at: datetime
    ) -> None:
        """A ``rekeyed`` event for each member whose records were keyed anew (what went
        where, how many lines, the decisions that could not follow), and a feed entry."""
        moves: dict[str, list[tuple[RecordKey, RecordKey | None]]] = {}
        for old, to in [*((o, [n]) for o, n in self.renamed.items()), *self.gone.items()]:
            goes_to: list[RecordKey | None] = [*to] or [None]
            for went in goes_to:
                moves.setdefault(self.assigned.get(old, ""), []).append((old, went))
        for member in sorted(set(moves) | set(decisions)):
            if not member:
                continue  # records in no member (nobody's purchases): no one's history
            pairs = moves.get(member, [])
            records = {ref for pair in pairs for ref in pair if ref is not None}
            evidence = {
                "records": [
                    [old[0], old[1], None if new is None else new[1]] for old, new in pairs
                ],
                "lines": sum(self.lines.get(old, 0) for old, _ in pairs),
                "decisions": decisions.get(member, []),
            }
            change.events.append(
                IdentityEvent(
                    member, "rekeyed", at, ACTOR, None, why, evidence, tuple(sorted(records))
                )
            )
            change.feed.append(FeedEntry(ChangeKind.LINKED, (member,), at, ACTOR, why))


def _differs(record: RecordData, held: RecordData) -> bool:
    return (
        record.identifiers != held.identifiers
        or record.days != held.days
        or record.email_days != held.email_days
        or (record.first_name, record.last_name, record.birth_date, record.address)
        != (held.first_name, held.last_name, held.birth_date, held.address)
    )

"""What a resolution changes, spelled out for the store: links to add and retract, the
events of a change, and what subscribers are told."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import attrgetter

from membergraph.identity.engine import Conflict, Resolution, ValueKey
from membergraph.identity.events import MemberChange
from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.store.conflict_state import resolved
from membergraph.identity.store.port import Change, IdentityEvent, IdentityStore, StoredLink
from membergraph.identity.value_tags import record_tags

__all__ = [
    "diff_links",
    "feed_entries",
    "member_changes",
    "open_conflicts",
    "record_events",
    "undone_change",
]

_link_a, _ref = attrgetter("a"), attrgetter("ref")
# A conflict as the stewards' queue tells one from another: its kind and its records.
ConflictKey = tuple[str, frozenset[RecordKey]]


def _written(
    resolution: Resolution, member_of: Mapping[RecordKey, str], moved: set[RecordKey]
) -> list[tuple[str, Conflict]]:
    """The conflicts a change records, each with its member: those touching moved records."""
    found = []
    for conflict in resolution.conflicts:
        owner = next((member_of[r] for r in conflict.records if r in member_of), None)
        if owner is not None and moved.intersection(conflict.records):
            found.append((owner, conflict))
    return found


async def open_conflicts(
    store: IdentityStore,
    resolution: Resolution,
    member_of: Mapping[RecordKey, str],
    current: Mapping[RecordKey, str],
    moved: set[RecordKey],
) -> set[ConflictKey]:
    """Which of the conflicts this change would record are open already (no steward decided
    them): :func:`record_events` leaves them out, so a contact's every new version does not
    add the same conflict to the queue again. Read from the histories of the members that
    hold their records now and before the change (none: no read), then the stewards'
    decisions about the conflict events found there only (none found: no read)."""
    written = _written(resolution, member_of, moved)
    if not written or not current:  # a first load: no conflict was recorded before
        return set()
    members = {owner for owner, _ in written}
    members.update(current[r] for _, c in written for r in c.records if r in current)
    wanted = {(c.kind, frozenset(c.records)) for _, c in written}
    found = [
        (event.id, key)
        for history in await store.member_events(sorted(members))
        for event in history
        if event.kind == "conflict"
        and (key := (event.rule or "", frozenset(event.records))) in wanted
    ]
    ids = {i for i, _ in found if i is not None}
    closed = set(resolved(await store.metrics().conflict_decisions(ids))) if ids else set()
    return {key for i, key in found if i not in closed}


def record_events(
    change: Change,
    resolution: Resolution,
    member_of: Mapping[RecordKey, str],
    current: Mapping[RecordKey, str],
    moved: set[RecordKey],
    now: datetime,
    actor: str,
    open_already: Collection[ConflictKey] = (),
) -> None:
    """The events a change writes: links made (as ``link_members``, see :class:`Change`) and
    retracted, merges, conflicts that touch moved records (but those ``open_already``: see
    :func:`open_conflicts`), values that stopped linking."""
    events = change.events
    reason = change.reason
    # "linked": each added link's member, looked up in C (168,000 for a first load).
    change.link_members = list(map(member_of.__getitem__, map(_link_a, change.links_added)))
    for a, b, rule in change.links_retracted:
        # A record that left every member (it identifies no one) tells its old member.
        now_a, now_b = member_of.get(a), member_of.get(b)
        member = now_a or now_b or current.get(a) or current.get(b)
        if member is not None:
            # Parted into two members: each record's, so the member that kept the ID names
            # where the other went.
            parted = {"member_ids": [now_a, now_b]} if now_a and now_b and now_a != now_b else {}
            events.append(
                IdentityEvent(
                    member, "unlinked", now, actor, rule=rule, evidence=parted, records=(a, b)
                )
            )
    for ref in change.unassigned:
        why = resolution.unattributed[ref]
        events.append(
            IdentityEvent(current[ref], "unattributed", now, actor, reason=why, records=(ref,))
        )
    if change.redirects:
        held: dict[str, list[RecordKey]] = defaultdict(list)
        for ref, member in current.items():
            held[member].append(ref)
        for old, new in change.redirects.items():
            # Both sides as they were: what undoMerge hands back.
            evidence = {
                "merged_id": old,
                "into_id": new,
                "merged_records": [list(r) for r in sorted(held[old])],
                "into_records": [list(r) for r in sorted(held[new])],
            }
            for member in (new, old):
                events.append(
                    IdentityEvent(member, "merged", now, actor, reason=reason, evidence=evidence)
                )
    for owner, conflict in _written(resolution, member_of, moved):
        if (conflict.kind, frozenset(conflict.records)) not in open_already:
            events.append(
                IdentityEvent(
                    owner,
                    "conflict",
                    now,
                    actor,
                    rule=conflict.kind,
                    evidence=conflict.detail,
                    records=conflict.records,
                )
            )
    # The change's records that carry a value that stopped linking, record by record in key
    # order and each record's values in order: from the values' carriers, not from a walk
    # over every record of the change (for a first load's 293,000 records, this function
    # went from 1.9 to 1.3 s).
    stopped_on = resolution.stopped_on.items()
    if len(change.records) == len(member_of):  # all of them (a first load): no filter
        found = {(ref, key) for key, refs in stopped_on for ref in refs}
    else:
        ours = set(map(_ref, change.records))
        found = {(ref, key) for key, refs in stopped_on for ref in refs if ref in ours}
    # A set, sorted: a record carries a value once per way it was captured.
    flagged: dict[tuple[str, ValueKey], list[RecordKey]] = defaultdict(list)
    for ref, key in sorted(found):
        if ref in member_of:  # else it identifies no one: its "unattributed" event says so
            flagged[(member_of[ref], key)].append(ref)
    for (member, (kind, value)), refs in flagged.items():
        status = resolution.value_status[(kind, value)]
        events.append(
            IdentityEvent(
                member,
                "value_blocked",
                now,
                actor,
                rule=status,
                evidence={"kind": kind.value, "value": value},
                records=tuple(refs),
            )
        )


def diff_links(change: Change, resolution: Resolution, active: Sequence[StoredLink]) -> None:
    """Links the resolution makes that are not active yet, and active ones it no longer makes."""

    def key(a: RecordKey, b: RecordKey, rule: str) -> tuple[RecordKey, RecordKey, str]:
        return (min(a, b), max(a, b), rule)

    if not active:
        # Nothing to retract; the engine links two records at most once (only across roots).
        change.links_added, change.links_retracted = list(resolution.links), []
        return
    existing = {key(k.a, k.b, k.rule) for k in active}
    produced = {key(k.a, k.b, k.rule): k for k in resolution.links}
    change.links_added = [link for k, link in produced.items() if k not in existing]
    change.links_retracted = sorted(k for k in existing if k not in produced)


def member_changes(
    change: Change,
    current: Mapping[RecordKey, str],
    member_of: Mapping[RecordKey, str],
    actor: str,
    reason: str | None,
) -> list[MemberChange]:
    at = change.at or datetime.now(UTC)  # one time for the whole change
    out = [
        MemberChange("merged", (new, old), actor, reason, at)
        for old, new in change.redirects.items()
    ]
    before: dict[str, set[str | None]] = defaultdict(set)
    for ref, old in current.items():
        before[old].add(member_of.get(ref))  # None: it left every member
    for old, now_in in sorted(before.items()):
        if len(now_in) > 1 or None in now_in:
            # A member whose records left to no one is split too (from nothing, if retired).
            ids = {m for m in now_in if m is not None} | ({old} if None in now_in else set())
            out.append(MemberChange("split", tuple(sorted(ids)), actor, reason, at))
    touched = {m for m in change.assignments.values()} - {m for c in out for m in c.member_ids}
    # A member that was not live before (a new contact, a first purchase on a new card) is
    # created, not linked: a subscriber tells a new person from one whose records moved.
    new = set(change.new_members)
    out.extend(
        MemberChange("member_created" if m in new else "linked", (m,), actor, reason, at)
        for m in sorted(touched)
    )
    return out


def undone_change(
    changes: Sequence[MemberChange],
    refs: Iterable[RecordKey],
    member_of: Mapping[RecordKey, str],
    actor: str,
    reason: str | None,
    at: datetime,
) -> MemberChange:
    """What a steward's undo tells subscribers beside the merges, splits and links it made
    (those alone read as any steward's change): the members those name, else (an undo that
    moved no record, such as lifting a rejection) the members of the records it touched."""
    members = {m for c in changes for m in c.member_ids}
    if not members:
        members = {member_of[r] for r in refs if r in member_of}
    return MemberChange("undone", tuple(sorted(members)), actor, reason, at)


def feed_entries(
    change: Change,
    changes: Sequence[MemberChange],
    scope: Mapping[RecordKey, RecordData],
    current: Mapping[RecordKey, str],
    member_of: Mapping[RecordKey, str],
    decided: bool = False,
) -> list[FeedEntry]:
    """What a change tells the feed's followers: one entry per member change, each with the
    value tags of the records it moved to or from the members it names (a lookup by one of
    their values may find someone else now: :mod:`membergraph.identity.value_tags`); and,
    for a steward's decision (``decided``), the members whose history it writes that no
    entry names (a rejection, a link of records already one member) as
    :attr:`ChangeKind.HISTORY_WRITTEN`. (An ingest's history is its lines' members', whom
    their fact entries name: one more entry each would only be heard twice.)

    A first load (nothing stored before) tags nothing: no answer can have been made yet.
    """
    entries = [
        FeedEntry(ChangeKind(c.kind), c.member_ids, c.at, c.actor, c.reason) for c in changes
    ]
    if not current:
        return entries
    moved: dict[str, list[RecordData]] = defaultdict(list)
    for ref in (*change.assignments, *change.unassigned):
        if ref in scope:
            for member in {member_of.get(ref), current.get(ref)} - {None}:
                moved[member].append(scope[ref])  # type: ignore[index]
    if moved:
        entries = [
            _tagged(e, record_tags(r for m in e.member_ids for r in moved.get(m, ())))
            for e in entries
        ]
    if not decided:
        return entries
    named = {m for e in entries for m in e.member_ids}
    written = {e.member_id for e in change.events} | set(change.link_members)
    if written - named:
        at = change.at or datetime.now(UTC)
        kind, members = ChangeKind.HISTORY_WRITTEN, tuple(sorted(written - named))
        entries.append(FeedEntry(kind, members, at, change.actor, change.reason))
    return entries


def _tagged(entry: FeedEntry, tags: tuple[str, ...]) -> FeedEntry:
    if not tags:
        return entry
    return FeedEntry(
        entry.kind, entry.member_ids, entry.at, entry.actor, entry.reason, value_tags=tags
    )

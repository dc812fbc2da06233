"""Stewards' match suggestions over the store: list them, accept one, reject one.

A suggestion names two CRM contacts in two members that the rules did not merge
(:mod:`~membergraph.identity.suggestions` scores them). Accepting it is an ordinary
steward's link (undoable like any merge); rejecting it adds a cannot-link between the two
contacts, so the pair is never suggested again and no rule joins them later.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.records import RecordKey
from membergraph.identity.service import Adjustments, IdentityService
from membergraph.identity.steward_link import link_records, rejections
from membergraph.identity.steward_request import (
    Preview,
    StewardError,
    as_is,
    dry,
    pair,
    require_reason,
    scope_of,
)
from membergraph.identity.store.port import IdentityEvent
from membergraph.identity.suggestion_rules import SuggestionRules
from membergraph.identity.suggestions import Suggestion, suggest

__all__ = [
    "MemberSuggestion",
    "ScoredPairs",
    "accept_suggestion",
    "match_suggestions",
    "reject_suggestion",
    "score_contacts",
]


@dataclass(frozen=True, slots=True)
class MemberSuggestion:
    """A suggestion with the two members its contacts are in now."""

    suggestion: Suggestion
    members: tuple[str, str]


Scored = tuple[list[RecordKey], list[Suggestion]]  # the contacts, and their scored pairs


class ScoredPairs:
    """The scored pairs of the store's CRM contacts, kept between calls of
    :func:`match_suggestions` while nothing changes the contacts.

    Scoring every contact takes seconds, and the contacts change only when a CRM line is
    taken, a person is erased or a whole data set is resolved again. A process that follows
    the change feed hears each of those (:meth:`follow` is its listener) and drops what it
    kept; members and cannot-links are read afresh on every call. A pair's score does not
    depend on the least score asked (the prior and the weights are estimated from every
    candidate pair), so every candidate is scored once and each ``minScore`` filters them.
    """

    def __init__(self) -> None:
        self._kept: Scored | None = None
        self._generation = 0  # moved by every change heard: a scoring begun before is stale

    def follow(self, entries: Sequence[FeedEntry]) -> None:
        """A feed listener: forget the scored pairs when an entry changes the contacts."""
        if any(_changes_contacts(entry) for entry in entries):
            self._kept = None
            self._generation += 1

    async def scored(self, service: IdentityService, rules: SuggestionRules) -> Scored:
        kept = self._kept
        if kept is None:
            began = self._generation
            kept = await score_contacts(service, rules.model_copy(update={"min_score": 0.0}))
            if began == self._generation:  # nothing changed meanwhile: worth keeping
                self._kept = kept
        contacts, found = kept
        return contacts, [s for s in found if s.score >= rules.min_score]


def _changes_contacts(entry: FeedEntry) -> bool:
    return entry.source == "crm" or entry.kind is ChangeKind.ERASED or entry.actor == "batch"


async def score_contacts(service: IdentityService, rules: SuggestionRules) -> Scored:
    """Every CRM contact of the store, and their pairs at ``rules.min_score`` or more."""
    records = await service.store.load_records(None)
    contacts = {ref: r for ref, r in records.items() if r.source == "crm"}
    found = suggest(contacts, rules, service.rules.near_duplicates, junk=service.rules.is_junk)
    return list(contacts), found


async def match_suggestions(
    service: IdentityService, min_score: float | None = None, kept: ScoredPairs | None = None
) -> list[MemberSuggestion]:
    """Every pair of members a suggestion joins, best first: the best-scored pair of their
    contacts, at ``min_score`` (default: the rules') or more. Pairs already in one member
    and pairs of members a cannot-link keeps apart (a rejected suggestion, a split, between
    any of their records) are left out.
    ``kept``: the scored pairs a feed follower keeps true (None: scored afresh)."""
    store, rules = service.store, service.rules.suggestions
    if min_score is not None:
        rules = rules.model_copy(update={"min_score": min_score})
    contacts, found = await (
        kept.scored(service, rules) if kept else score_contacts(service, rules)
    )
    member_of = await store.assignments(contacts)
    # Judged by members, not by the contacts a cannot-link names: a steward who rejected
    # Ada's contact and Bob's said their members are two people, and a pair of two other
    # contacts of the same two members (one merged into Ada's since) is the same question,
    # which an accept would be refused (WOULD_LIFT_REJECTION).
    cannot = await store.cannot_links(contacts)
    others = {ref for link in cannot for ref in link} - member_of.keys()
    if others:
        member_of = {**member_of, **await store.assignments(others)}
    apart = {
        frozenset((member_of[x], member_of[y]))
        for x, y in cannot
        if x in member_of and y in member_of
    }
    best: dict[frozenset[str], MemberSuggestion] = {}
    for scored in found:
        first, second = member_of.get(scored.a), member_of.get(scored.b)
        if first is None or second is None or first == second:
            continue
        key = frozenset((first, second))
        if key in apart:
            continue
        if key not in best:  # found is best first
            best[key] = MemberSuggestion(scored, (first, second))
    return list(best.values())


async def accept_suggestion(
    service: IdentityService,
    a: RecordKey,
    b: RecordKey,
    reason: str,
    actor: str,
    preview: Preview | None = None,
    move: bool = False,
    lift_rejection: bool = False,
) -> list[str]:
    """Link the two contacts: a steward's ordinary link, refused as ``linkRecords`` is if it
    would take records from another member (``WOULD_MOVE_RECORDS`` unless ``move``). A
    rejection standing between their members, of these two contacts or of others, is refused
    (``WOULD_LIFT_REJECTION``) unless ``lift_rejection``: the steward who reads a suggestion
    may not know that another rejected the pair since."""
    _both_contacts(a, b)
    return await link_records(
        service,
        a,
        b,
        reason,
        actor,
        move,
        preview=preview,
        action="accept",
        lift_rejection=lift_rejection,
        pair_lifts=False,
        advice="accept with liftRejection: true to lift the rejection",
    )


async def reject_suggestion(
    service: IdentityService,
    a: RecordKey,
    b: RecordKey,
    reason: str,
    actor: str,
    preview: Preview | None = None,
) -> list[str]:
    """Keep the two contacts apart for good: a cannot-link, in their members' history. Sent
    again while that rejection stands (a client retrying), it answers the two members and
    writes nothing.

    Raises:
        StewardError: they are one member already (``ALREADY_MERGED``: split it instead),
            or a record is unknown.
    """
    _both_contacts(a, b)
    require_reason(reason)
    async with service.lock:

        async def attempt():  # type: ignore[no-untyped-def]
            # Whether they are one member is read with the versions the write is checked
            # against: a steward's accept landing after it makes this write conflict (then
            # seen), never a cannot-link written across a link just made.
            (scope, hubs), state = await scope_of(service, [a, b])
            members = state.assignments
            missing = [f"{s}:{k}" for s, k in (a, b) if (s, k) not in members]
            if missing:
                raise StewardError(f"unknown record(s): {', '.join(missing)}", "NOT_FOUND")
            if members[a] == members[b]:
                raise StewardError(
                    f"{a[0]}:{a[1]} and {b[0]}:{b[1]} are one member already: split it to "
                    "part them",
                    "ALREADY_MERGED",
                )
            # A pair a split keeps apart already: the rejection takes its cannot-link over
            # (its event says so), so that a later link must lift it by name and its undo
            # leaves the split's as it was.
            taken = pair(a, b) in {pair(x, y) for x, y in state.cannot}
            ids = [members[a], members[b]]
            if taken and await rejections(service, {pair(a, b)}, ids):
                return await as_is(service, sorted(ids))  # rejected already: one decision
            event = IdentityEvent(
                members[a],
                "suggestion_rejected",
                datetime.now(UTC),
                actor,
                reason=reason,
                evidence={"records": [list(a), list(b)], "members": ids},
                records=(a, b),
            )
            adjust = Adjustments(
                cannot_add=[] if taken else [(a, b)],
                cannot_take=[(a, b)] if taken else [],
                reason=reason,
                events=[event],
                action="reject",
                anchor=a,
                # Moves both members on: a copy sent at once through another process (a
                # client's retry) then conflicts, reads this one's rejection and writes
                # nothing. A rejection moves no record, so no version would move otherwise.
                versions={m: state.versions[m] for m in ids if m in state.versions},
            )
            return await service.apply_scope(
                scope, set(), hubs, actor, adjust=adjust, state=state, dry_run=dry(preview)
            )

        result = await service.retrying(attempt)
    ids = sorted({result.member_of[a], result.member_of[b]})
    if preview is not None:
        preview.fill(result, ids)
    return ids


def _both_contacts(a: RecordKey, b: RecordKey) -> None:
    if a[0] != "crm" or b[0] != "crm" or a == b:
        raise StewardError("a suggestion names two different CRM contacts")


def suggestion_id(a: RecordKey, b: RecordKey) -> str:
    """A suggestion's stable name: its two contacts."""
    return f"{a[1]}|{b[1]}"

"""Stable, opaque member IDs.

A member's ID follows the person's profile: her CRM contact, else a loyalty card or online
account, before her web visitors and calls. A component whose records had several IDs (a
merge) keeps one some of its records were first given, then the one her profile holds, then
the one most of them had; an ID no component keeps redirects to the component holding most
of its records. When a member comes apart, its ID stays with a piece holding a profile among
those its records came from (if several do, the one holding the record the ID was made for,
then her CRM contact), so a frontend holding the ID keeps finding her, not a person whose
contact joined her member later; a component split off gets back the ID its records were
first given, if that ID is not live. New IDs are derived from the smallest
record key, so the same data resolved twice gives the same IDs; an ID ever used (a member
merged away, or erased: its tombstone, ``store/tombstones.py``) is never given again, and
the key derives the next one instead.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from itertools import chain

from membergraph.connectors.models import SourceName
from membergraph.identity.records import RecordKey

__all__ = ["IdAssignment", "assign_member_ids", "is_member_id", "new_member_id"]


_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648, lower-cased
_PAIRS = [a + b for a in _BASE32 for b in _BASE32]


def new_member_id(seed: RecordKey, attempt: int = 0) -> str:
    """An opaque ID derived from a record key (``m_`` and 16 base32 characters).

    Example:
        >>> new_member_id(("crm", "C1"))
        'm_lrqbgtunipflsr2t'
    """
    digest = hashlib.blake2b(f"{seed[0]}\0{seed[1]}\0{attempt}".encode(), digest_size=10).digest()
    # 80 bits are exactly 16 base32 digits (what base64.b32encode gives, without its cost),
    # looked up two at a time: a first load makes one ID per member.
    high, low, pair = int.from_bytes(digest[:5]), int.from_bytes(digest[5:]), _PAIRS
    return (
        f"m_{pair[high >> 30]}{pair[high >> 20 & 1023]}{pair[high >> 10 & 1023]}"
        f"{pair[high & 1023]}{pair[low >> 30]}{pair[low >> 20 & 1023]}"
        f"{pair[low >> 10 & 1023]}{pair[low & 1023]}"
    )


_MEMBER_ID = re.compile(r"m_[a-z2-7]{16}")


def is_member_id(value: str) -> bool:
    """Whether ``value`` is shaped as :func:`new_member_id` makes every member ID (live,
    merged away or erased alike): what a client may hand back inside a cursor."""
    return _MEMBER_ID.fullmatch(value) is not None


@dataclass(slots=True)
class IdAssignment:
    ids: list[str]  # one per component, in component order
    redirects: dict[str, str]  # retired ID -> the ID that absorbed it
    new_members: list[str]  # IDs that become live (fresh or revived)


_NONE: Counter[str] = Counter()  # shared, never written

# What a piece of a member holds of the person's profile, best first: a CRM contact (her
# name, birth date and address come from it), a loyalty card or online account, nothing
# but visitors and calls.
_STANDING: dict[str, int] = {SourceName.CRM: 2, SourceName.TRANSACTIONS: 1}


def _standing(component: list[RecordKey]) -> int:
    return max((_STANDING.get(source, 0) for source, _ in component), default=0)


# How many IDs one key may have derived (step 3 derives again past an ID used before).
_DERIVATIONS = 4


def _birth_piece(
    member: str, holding: Iterable[int], components: list[list[RecordKey]]
) -> int | None:
    """Which of the components ``holding`` the member holds the record ``member`` was
    derived from (its first record, there before any other profile joined it); None if none
    does. One hash a record until it is found, in the usual case: the first derivation."""
    holding = list(holding)
    for attempt in range(_DERIVATIONS):
        for index in holding:
            if any(new_member_id(ref, attempt) == member for ref in components[index]):
                return index
    return None


def _counts(
    components: list[list[RecordKey]], ids: Mapping[RecordKey, str], among: Iterable[int]
) -> list[Counter[str]]:
    """Per component (of those ``among``; the others: none), how many of its records
    ``ids`` gives each ID."""
    counts = [_NONE] * len(components)
    if ids:
        for index in among:
            counts[index] = Counter(ids[r] for r in components[index] if r in ids)
    return counts


def _settled(
    components: list[list[RecordKey]], current: Mapping[RecordKey, str]
) -> tuple[dict[str, int], list[str | None]]:
    """The components whose records are all in one member that no other component's
    records are in, each with that member's ID (and the IDs so claimed).

    Step 1 of :func:`assign_member_ids` gives each of them its member's ID in its first
    round, whatever the others do, and they take no part in anything after. Deciding them
    first leaves the rest of the work to the components that changed: in a re-run over a
    resolved store, none.
    """
    held = [set(map(current.get, component)) for component in components]
    holders = Counter(chain.from_iterable(held))
    claimed: dict[str, int] = {}
    ids: list[str | None] = [None] * len(components)
    for index, members in enumerate(held):
        if len(members) == 1:
            (member,) = members
            if member is not None and holders[member] == 1:
                claimed[member] = index
                ids[index] = member
    return claimed, ids


def assign_member_ids(
    components: list[list[RecordKey]],
    current: Mapping[RecordKey, str],
    origins: Mapping[RecordKey, str],
    taken: Iterable[str] = (),
    live_elsewhere: Iterable[str] = (),
    previous: Mapping[RecordKey, str] | None = None,
) -> IdAssignment:
    """Give each component an ID, keeping what can be kept.

    Args:
        components: the new partition of the records in scope.
        current: each record's member now (absent for a new record).
        origins: each record's first member.
        previous: each record's member before its current one.
        taken: IDs ever used (never reused for a new member).
        live_elsewhere: IDs of live members outside the scope (never revived here).
    """
    taken = set(taken)
    if not current and not origins and not previous:
        return _all_fresh(components, taken)
    blocked = set(live_elsewhere)
    previous = previous or {}
    live_before = set(current.values())
    claimed, ids = _settled(components, current)
    undecided = [index for index, member in enumerate(ids) if member is None]
    order = sorted(undecided, key=lambda i: (-len(components[i]), components[i][0]))
    now, first, before = (_counts(components, m, undecided) for m in (current, origins, previous))
    # Which components hold each live ID, in ``order``: asked of every component for every
    # ID, that question was quadratic (a re-resolution of 16,000 members took 170 s).
    holders_of: dict[str, list[int]] = {}
    for index in order:
        for held in now[index]:
            holders_of.setdefault(held, []).append(index)
    standing: dict[int, int] = {}
    births: dict[str, int | None] = {}

    def holder(index: int, live: str) -> tuple[bool, bool, bool, int, int, int]:
        came = first[index][live] + before[index][live]
        if index not in standing:
            standing[index] = _standing(components[index])
        rank = standing[index]
        # A profile before visitors and calls alone; between pieces that both hold one, the
        # piece holding the ID's first record: a contact that joined her card's member
        # later (a typo of its number) and is split off again does not take the ID along.
        if rank and live not in births:
            births[live] = _birth_piece(live, holders_of.get(live, ()), components)
        born = rank > 0 and births[live] == index
        return (came > 0, rank > 0, born, rank, came, now[index][live])

    def kept(index: int, lives: list[str]) -> str:
        if len(lives) == 1:
            return lives[0]
        held: dict[str, list[RecordKey]] = {m: [] for m in lives}
        for ref in components[index]:
            if (member := current.get(ref)) in held:
                held[member].append(ref)
        # An ID none of its records was first given (one a split made) gives way to one
        # that some were: a split undone gives every record its ID back. Among equals the
        # smallest ID, as ``lives`` is sorted.
        return max(
            lives,
            key=lambda m: (
                first[index][m] > 0,
                _standing(held[m]),
                now[index][m],
                first[index][m] + before[index][m],
            ),
        )

    # 1. A live ID stays live. Held by several components (a split), it goes to one its
    #    records came from (first or previous member): one holding a profile (a CRM
    #    contact, card or account: not her visitors alone); among those, the one holding
    #    the record the ID was made for, then a CRM contact before a card, then the one
    #    most of its records came from, then the one holding most of it. A component that
    #    wins several (a merge) keeps one some of its records were first given, then the
    #    one held by the person's profile, then the one most of its records hold: a member
    #    keeps its ID as records join it, and a split undone gives her the ID she kept. An
    #    ID won but not kept goes to the next holder, until nothing changes.
    changed = True
    while changed:
        changed = False
        won: dict[int, list[str]] = {}
        for live in sorted(live_before - claimed.keys()):
            holding = [i for i in holders_of.get(live, ()) if ids[i] is None]
            if len(holding) == 1:
                won.setdefault(holding[0], []).append(live)
            elif holding:
                # max keeps the first of equals: the largest component, in ``order``.
                best = max(holding, key=lambda i: holder(i, live))
                won.setdefault(best, []).append(live)
        for index, lives in won.items():
            keep = kept(index, lives)
            claimed[keep] = index
            ids[index] = keep
            changed = True
    # 2. A component with no live ID gets back the one its records had before (a split hands
    #    back what a merge took), if no live member uses it.
    for index in order:
        if ids[index] is not None:
            continue
        wanted = sorted(
            set(first[index]) | set(before[index]),
            key=lambda m: (-first[index][m], -before[index][m], m),
        )
        for candidate in wanted:
            if (
                candidate not in claimed
                and candidate not in live_before
                and candidate not in blocked
            ):
                claimed[candidate] = index
                ids[index] = candidate
                break
    # 3. Anything else gets a fresh ID.
    for index in order:
        if ids[index] is None:
            attempt = 0
            while (candidate := new_member_id(components[index][0], attempt)) in claimed or (
                candidate in taken or candidate in live_before
            ):
                attempt += 1
            claimed[candidate] = index
            ids[index] = candidate
    final = [i for i in ids if i is not None]
    holders: dict[str, Counter[int]] = {}
    for index in undecided:  # a settled component holds only the ID it keeps
        for old, count in now[index].items():  # its records' current IDs, counted above
            holders.setdefault(old, Counter())[index] += count
    redirects = {
        old: final[counts.most_common(1)[0][0]]
        for old, counts in holders.items()
        if old not in claimed
    }
    new_members = [m for m in final if m not in live_before]
    return IdAssignment(final, redirects, new_members)


def _all_fresh(components: list[list[RecordKey]], taken: set[str]) -> IdAssignment:
    """A first load: no record had a member, so every component gets a fresh ID, in the
    same order and with the same clash handling as step 3 above."""
    derived = [new_member_id(component[0]) for component in components]
    if len(set(derived)) == len(derived) and taken.isdisjoint(derived):
        # No clash (80-bit IDs: the usual case), so the order below would change nothing;
        # skipping its sort and bookkeeping saves 0.5 s of 1.4 for 125,000 members.
        return IdAssignment(derived, {}, list(derived))
    ids: list[str] = [""] * len(components)
    claimed: set[str] = set()
    for index in sorted(
        range(len(components)), key=lambda i: (-len(components[i]), components[i][0])
    ):
        attempt = 0
        while (candidate := new_member_id(components[index][0], attempt)) in claimed or (
            candidate in taken
        ):
            attempt += 1
        claimed.add(candidate)
        ids[index] = candidate
    return IdAssignment(ids, {}, list(ids))

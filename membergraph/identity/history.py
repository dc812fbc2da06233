"""A member's identity history as a steward reads it: one entry per merge.

The store's history of a member holds the events written under its ID and under every ID
merged into it since (``IdentityStore.member_events``). A merge is written twice, once under
each side's ID, so that either side's history tells of it after a split; once both IDs are
this member's, the two rows are one merge. The steward sees it once: the row written under
the member's own ID if there is one (the row its history always showed), else the older.
An undo may name either row, so what undoes one undoes the other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from membergraph.identity.store.port import IdentityEvent

__all__ = ["merge_twins", "one_per_merge", "with_twins"]

_MergeKey = tuple[datetime, str, object, object]


def merge_twins(events: Iterable[IdentityEvent], member_id: str) -> dict[int, int]:
    """The ``merged`` rows of ``events`` (a history) written for a merge whose other row is
    there too: each row left out, with the row shown in its place."""
    shown: dict[_MergeKey, IdentityEvent] = {}
    twins: dict[int, int] = {}
    for event in events:
        if event.kind != "merged" or event.id is None:
            continue
        said = event.evidence
        key = (event.at, event.actor, said.get("merged_id"), said.get("into_id"))
        first = shown.setdefault(key, event)
        if first is event or first.id is None:
            continue
        if event.member_id == member_id and first.member_id != member_id:
            twins[first.id] = event.id
            shown[key] = event
        else:
            twins[event.id] = first.id
    return twins


def one_per_merge(events: Sequence[IdentityEvent], twins: Mapping[int, int]) -> list[IdentityEvent]:
    """``events`` without the rows :func:`merge_twins` leaves out."""
    return [event for event in events if event.id not in twins] if twins else list(events)


def with_twins(taken: dict[int, int | None], twins: Mapping[int, int]) -> dict[int, int | None]:
    """``taken`` (events undo no longer takes, each with the undo that took it back, None:
    parted since) with each merge's two rows alike: an undo of either row undid the merge."""
    for left_out, shown in twins.items():
        for one, other in ((left_out, shown), (shown, left_out)):
            if one in taken and taken.get(other) is None:
                taken[other] = taken[one]
    return taken

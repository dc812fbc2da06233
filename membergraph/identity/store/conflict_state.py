"""Whether an identity conflict is open: the stewards' decisions about it, as events.

A conflict (an event of kind ``conflict``) is never changed: a steward's decision is an
event of its own that names it (``evidence.conflict_id``). ``conflict_resolved`` closes it
(``rule``: ``link``, the steward made the link the engine refused, ``joined``, a steward's
link or accepted suggestion joined its records, ``undone``, the change that raised it was
undone, or ``dismiss``: the engine was right); ``conflict_reopened`` opens it again (an undo
of that decision). The newest of them says where the conflict stands. Evidence that comes
back later is a new conflict event, open until decided in turn.

Decisions are made by people, but they add up over the years: nothing reads them whole. A
change that would raise a conflict again, and a steward deciding one or undoing a decision,
read only the decisions about those conflicts
(:meth:`~membergraph.identity.store.metrics_port.MetricsStore.conflict_decisions` with
ids, by an index); the stewards' queue, filtered by state, asks the store, which looks up
each conflict's newest decision down the same index (``sqlite_query``, ``mongodb_query``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from membergraph.identity.store.types import IdentityEvent

__all__ = ["DECISIONS", "REOPENED", "RESOLVED", "ConflictState", "latest_decisions", "resolved"]

RESOLVED = "conflict_resolved"
REOPENED = "conflict_reopened"
DECISIONS = (RESOLVED, REOPENED)
ConflictState = Literal["open", "resolved", "all"]


def latest_decisions(decisions: Iterable[IdentityEvent]) -> dict[int, IdentityEvent]:
    """Each decided conflict's id, with the newest decision about it."""
    latest: dict[int, IdentityEvent] = {}
    for event in decisions:
        conflict = event.evidence.get("conflict_id")
        if not isinstance(conflict, int) or event.id is None:
            continue
        held = latest.get(conflict)
        if held is None or (held.id is not None and event.id > held.id):
            latest[conflict] = event
    return latest


def resolved(decisions: Iterable[IdentityEvent]) -> list[int]:
    """The ids of the conflicts a steward closed and did not open again, ascending."""
    return sorted(c for c, e in latest_decisions(decisions).items() if e.kind == RESOLVED)

"""What a token bound to one member sees of that member's identity history.

A member's history also tells of other members: a conflict names the records that disagree
with it, a split the records that left, a merge the records and member that joined. A
frontend app bound to the member sees its member's own records, identifier values and IDs
there, and nothing of anybody else's: other records are left out of ``records``, and any
other value in ``evidence`` reads ``***`` (an allow-list, so new evidence shapes stay hidden
until someone decides otherwise); the events it names (``undoes``, ``event_id``,
``conflict_id``) read as the token is shown event IDs (sealed: ``member_cursors``). The
change feed's entries it hears name its member's IDs only: another member's (the one it
merged with, or split from) reads ``***``, as the history's ``into_id`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import replace
from typing import Any

from membergraph.connectors.models import SourceName
from membergraph.identity.feed import FeedEntry
from membergraph.identity.records import Identifier, RecordKey
from membergraph.identity.store.port import IdentityEvent

__all__ = ["HIDDEN", "own_change", "own_history"]

HIDDEN = "***"
# Evidence keys whose values are vocabulary (identifier kinds, capture channels, profile
# field names, rule and limit names), never a customer's data.
_VOCABULARY = frozenset({"kind", "via", "agreed", "rule", "limit"})
_SOURCES = frozenset(s.value for s in SourceName)
# Evidence keys whose values are identity event IDs, numbered across the whole store.
_EVENT_IDS = frozenset({"undoes", "event_id", "conflict_id"})


def own_history(
    events: Iterable[IdentityEvent],
    records: Collection[RecordKey],
    identifiers: Iterable[tuple[RecordKey, Identifier]],
    member_ids: Iterable[str],
    event_id: Callable[[int], str] = str,
) -> list[IdentityEvent]:
    """The events with only what belongs to the member: its ``records``, and in ``evidence``
    its record keys, identifier values and member IDs (anything else hidden), and the
    events it names as ``event_id`` shows them."""
    own = {tuple(r) for r in records}
    shown = (
        {key for _, key in own}
        | {i.value for _, i in identifiers}
        | {i.key for _, i in identifiers}
        | set(member_ids)
        | _SOURCES
    )
    return [
        replace(
            event,
            records=tuple(r for r in event.records if tuple(r) in own),
            evidence=_scrub(event.evidence, shown, event_id),
        )
        for event in events
    ]


def _scrub(value: Any, shown: set[str], event_id: Callable[[int], str]) -> Any:
    if isinstance(value, dict):
        return {k: _kept(k, v, shown, event_id) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v, shown, event_id) for v in value]
    if isinstance(value, str):
        return value if value in shown else HIDDEN
    return value


def _kept(key: str, value: Any, shown: set[str], event_id: Callable[[int], str]) -> Any:
    if key in _VOCABULARY:
        return value
    if key in _EVENT_IDS:
        return event_id(value) if isinstance(value, int) and value >= 0 else HIDDEN
    return _scrub(value, shown, event_id)


def own_change(entry: FeedEntry, member_ids: Collection[str]) -> FeedEntry:
    """A feed entry naming only the member's own IDs (``member_ids``); others hidden."""
    if all(m in member_ids for m in entry.member_ids):
        return entry
    return replace(
        entry, member_ids=tuple(m if m in member_ids else HIDDEN for m in entry.member_ids)
    )

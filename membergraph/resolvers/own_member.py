"""What a token bound to one member sees of that member's identity history.

A member's history also tells of other members: a conflict names the records that disagree
with it, a split the records that left, a merge the records and member that joined. A
frontend app bound to the member sees its member's own records, identifier values and IDs
there, and nothing of anybody else's: other records are left out of ``records`` and of
``evidence`` (a record, a link or cannot-link naming one, another member's ID in a list), and
any other value in ``evidence`` reads ``***`` (an allow-list, so new evidence shapes stay
hidden until someone decides otherwise); the events it names (``undoes``, ``event_id``,
``conflict_id``) read as the token is shown event IDs (sealed: ``member_cursors``). The
change feed's entries it hears name its member's IDs only: another member's (the one it
merged with, or split from) reads ``***``, as the history's ``into_id`` does.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, replace
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
    scrub = _Scrub(shown, own, event_id)
    return [
        replace(
            event,
            records=tuple(r for r in event.records if tuple(r) in own),
            evidence=scrub(event.evidence),
        )
        for event in events
    ]


@dataclass(frozen=True, slots=True)
class _Scrub:
    """An event's evidence as the member's token reads it: what is not its own is left out
    where it is one of a list's items or a record (a masked one would still tell how many
    records, of which sources, the other side holds, and which other member), and reads
    ``***`` where it is a single value (``into_id``: a merge had another side)."""

    shown: set[str]
    own: set[tuple[Any, ...]]
    event_id: Callable[[int], str]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                key: self.kept(key, item)
                for key, item in value.items()
                # (A value is a record, never a pair: ``into_records`` may hold two.)
                if key in _VOCABULARY or not (_is_ref(item) and self.names_another(item))
            }
        if isinstance(value, list | tuple):
            return [
                self(item)
                for item in value
                if not self.names_another(item) and not self.hidden_value(item)
            ]
        return HIDDEN if self.hidden_value(value) else value

    def kept(self, key: str, value: Any) -> Any:
        if key in _VOCABULARY:
            return value
        if key in _EVENT_IDS:
            return self.event_id(value) if isinstance(value, int) and value >= 0 else HIDDEN
        return self(value)

    def hidden_value(self, value: Any) -> bool:
        return isinstance(value, str) and value not in self.shown

    def names_another(self, value: Any) -> bool:
        """Whether ``value`` is another member's record (``[source, key]``), or a pair of
        records one of which is another's (a link or cannot-link, its evidence after them)."""
        if _is_ref(value):
            return tuple(value) not in self.own
        if isinstance(value, list | tuple) and len(value) in (2, 3) and _is_ref(value[0]):
            return _is_ref(value[1]) and not {tuple(value[0]), tuple(value[1])} <= self.own
        return False


def _is_ref(value: Any) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) == 2
        and isinstance(value[0], str)
        and value[0] in _SOURCES
        and isinstance(value[1], str)
    )


def own_change(entry: FeedEntry, member_ids: Collection[str]) -> FeedEntry:
    """A feed entry naming only the member's own IDs (``member_ids``); others hidden."""
    if all(m in member_ids for m in entry.member_ids):
        return entry
    return replace(
        entry, member_ids=tuple(m if m in member_ids else HIDDEN for m in entry.member_ids)
    )

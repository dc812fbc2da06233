"""Member change events: what one identity change did to members.

The service makes one :class:`MemberChange` per merge, split or link of a change, and
writes each to the store's change feed in the change's own transaction
(:mod:`membergraph.identity.feed`); subscribers hear them from the feed, whichever process
made them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["MemberChange"]


@dataclass(frozen=True, slots=True)
class MemberChange:
    """What one identity change did to members."""

    kind: str  # merged | split | linked | member_created | undone
    member_ids: tuple[str, ...]
    actor: str
    reason: str | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

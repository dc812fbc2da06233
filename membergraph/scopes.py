"""The scopes a key or token may carry: one list, read by the settings (to refuse an unknown
scope at start) and by authentication (to drop one from a token); and the caller that
carries them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

__all__ = ["ALL_SCOPES", "Caller", "ScopeName"]

ScopeName = Literal[
    "profile:read",  # read members, personal data masked
    "pii:read",  # unmasked personal data (each read is audited)
    "analytics:read",  # lists, aggregates and exports across members
    "identity:write",  # link, split, undo, suggestions
    "ingest:write",  # POST /ingest/{source}
    "privacy:admin",  # export, erase, suppress, the PII access log
]

ALL_SCOPES = frozenset(get_args(ScopeName))


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated caller: a name for the history, its scopes, and for a frontend
    app's member-scoped token the one member it may read."""

    name: str
    scopes: frozenset[str]
    member_id: str | None = None
    expires_at: float | None = None  # a JWT's ``exp`` (epoch seconds); keys do not expire

    def can(self, scope: str) -> bool:
        return scope in self.scopes

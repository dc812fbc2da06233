"""The scopes a key or token may carry: one list, read by the settings (to refuse an unknown
scope at start) and by authentication (to drop one from a token)."""

from __future__ import annotations

from typing import Literal

__all__ = ["ScopeName"]

ScopeName = Literal[
    "profile:read",  # read members, personal data masked
    "pii:read",  # unmasked personal data (each read is audited)
    "analytics:read",  # lists, aggregates and exports across members
    "identity:write",  # link, split, undo, suggestions
    "ingest:write",  # POST /ingest/{source}
    "privacy:admin",  # export, erase, suppress, the PII access log
]

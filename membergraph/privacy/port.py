"""The privacy store port: what the privacy services keep beside the identity graph.

One audience (the privacy services), one small port, implemented by each identity store's
adapter over the same database (:mod:`~membergraph.privacy.sqlite_store`,
:mod:`~membergraph.privacy.mongodb_store`): consent facts, suppressed identifiers (keyed
hashes only), privacy requests with their state, the audit of who read personal data, and
the erasure of a person from the identity graph and the change feed.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from membergraph.identity.records import RecordKey
from membergraph.insights.consent import ConsentFact

__all__ = [
    "EARLIER_ERASURES",
    "AccessEntry",
    "Erasure",
    "PrivacyRequest",
    "PrivacyStore",
    "RequestState",
    "Suppression",
    "erased_by",
]

RequestState = Literal["pending", "done", "partial", "awaiting_sources"]
"""``awaiting_sources``: every step here succeeded, and a source the gateway does not own
(an HTTP API) was asked to delete the person's lines and has not confirmed it yet."""

SourceDeletion = Literal["deleted", "requested", "confirmed"]
"""What became of a person's lines in one source: ``deleted`` here, ``requested`` of a
source the gateway does not own (on the change feed), ``confirmed`` by its operator."""


@dataclass(slots=True)
class PrivacyRequest:
    """A data subject's request (an erasure) and how far it went.

    ``steps`` holds each step's outcome: ``"done"`` or what failed; the request is ``done``
    once every step is and every source's deletion is done or confirmed,
    ``awaiting_sources`` while a source it does not own has not confirmed, ``partial``
    while a step failed (it is retried), ``pending`` before.
    """

    id: str
    kind: str
    member_id: str
    reason: str
    actor: str
    created_at: datetime
    updated_at: datetime
    state: RequestState = "pending"
    steps: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    forwarded: list[str] = field(default_factory=list)  # sources asked on the feed to erase
    sources: dict[str, SourceDeletion] = field(default_factory=dict)
    """Each source that held the person's lines, and what became of them there."""
    resolve_again: list[RecordKey] = field(default_factory=list)
    """Other people's records her presence may have resolved otherwise, read before her
    identity goes and resolved again after it (:mod:`~membergraph.privacy.beside`); empty
    once they are."""
    only: list[RecordKey] = field(default_factory=list)
    """An ``erase_records`` request's records, named hers by the officer (the member held
    another person's too); emptied once her identity is gone."""
    erased_ids: list[str] = field(default_factory=list)
    """Her member IDs, which that resolution gives no one (a new member's ID is derived from
    its first record's key, and hers may have been derived from another person's); emptied
    with :attr:`resolve_again`."""

    @property
    def records_named(self) -> list[RecordKey] | None:
        """The records a narrowed request erases (None: the whole member)."""
        return self.only if self.kind == "erase_records" else None

    def asked_of(
        self, source: str, hers: Iterable[RecordKey]
    ) -> list[tuple[tuple[str, ...], str | None]]:
        """What a source not owned here is asked to delete: the member; for a narrowed
        request (its member lives on, another's), each record of hers there (``only`` and
        ``hers``) by key, naming no member."""
        if self.kind != "erase_records":
            return [((self.member_id,), None)]
        return [((), key) for s, key in sorted({*self.only, *hers}) if s == source]

    @property
    def settled(self) -> RequestState:
        """The state of the request once every step succeeded."""
        return "awaiting_sources" if "requested" in self.sources.values() else "done"


EARLIER_ERASURES = "tombstones_from_requests"
"""The store's mark (SQLite: a ``meta`` row; MongoDB: a ``meta`` document) that the erasures
done before erasures kept tombstones were tombstoned from their requests: once per store."""


def erased_by(kind: str, steps: dict[str, str], member_id: str, erased: list[str]) -> list[str]:
    """The member IDs an earlier erase request removed from the identity store (none if its
    ``identity`` step did not run): the member it named, and those it still noted."""
    if kind != "erase" or steps.get("identity") != "done":
        return []
    return [member_id, *erased]


@dataclass(frozen=True, slots=True)
class Suppression:
    """A suppressed identifier: its kind and keyed hash (never the value itself), and the
    check of the key it was hashed under (:mod:`~membergraph.privacy.keys`; None: made by a
    release before suppressions named their key)."""

    digest: str
    kind: str
    actor: str
    at: datetime
    reason: str | None = None
    key: str | None = None


@dataclass(frozen=True, slots=True)
class AccessEntry:
    """One answer that unmasked a member's personal data."""

    member_id: str
    actor: str
    fields: tuple[str, ...]
    at: datetime
    request_id: str
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Erasure:
    """What to remove from the identity graph and the feed for one person.

    ``member_ids``: the member and every ID redirected to it; ``refs``: its records;
    ``lines``: ``(source, line id)`` of its source lines (their feed entries go too);
    ``words``: values that identify the person (record keys, identifiers, names), so any
    stored event or feed entry that still mentions one is removed as well; ``stripped``:
    ``(record, kind, key)`` of her identifiers on records she shares with another person
    (those records stay, without them).
    """

    member_ids: tuple[str, ...]
    refs: tuple[RecordKey, ...]
    lines: tuple[tuple[str, str], ...]
    words: tuple[str, ...]
    stripped: tuple[tuple[RecordKey, str, str], ...] = ()


class PrivacyStore(abc.ABC):
    """Privacy state kept in the identity store's database."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Create what is missing (tables or collections, indexes)."""

    @abc.abstractmethod
    async def kept_secret(self) -> bytes:
        """A random secret made once and kept in the store: the suppression hashes' key when
        the settings name none (``MEMBERGRAPH_PRIVACY_SECRET`` should, in production)."""

    @abc.abstractmethod
    async def own_secret(self) -> bytes | None:
        """The secret :meth:`kept_secret` made, if it made one (None: never asked)."""

    # -- consent -------------------------------------------------------------------------

    @abc.abstractmethod
    async def record_consents(self, facts: Sequence[ConsentFact]) -> None:
        """Keep consent facts (a fact seen again is kept once)."""

    @abc.abstractmethod
    async def consent_facts(self, refs: Sequence[RecordKey]) -> list[list[ConsentFact]]:
        """The facts of each record, in the order of ``refs`` (a DataLoader's shape)."""

    # -- suppression ---------------------------------------------------------------------

    @abc.abstractmethod
    async def suppress(self, entries: Sequence[Suppression]) -> int:
        """Suppress identifiers by digest; how many were not suppressed already."""

    @abc.abstractmethod
    async def unsuppress(self, digest: str) -> bool:
        """Lift a suppression; whether there was one."""

    @abc.abstractmethod
    async def suppression_keys(self) -> dict[str | None, int]:
        """How many suppressions each key check names (None: those that name none)."""

    @abc.abstractmethod
    async def any_suppressed(self, kind: str | None = None) -> bool:
        """Whether anything (of ``kind``, if given) is suppressed at all (a folder load skips
        the check if not; a push hashes its lines only when an erased line is kept)."""

    @abc.abstractmethod
    async def suppressed(self, digests: Iterable[str]) -> set[str]:
        """Which of ``digests`` are suppressed."""

    # -- requests ------------------------------------------------------------------------

    @abc.abstractmethod
    async def save_request(self, request: PrivacyRequest) -> None:
        """Insert or replace a request (by its id)."""

    @abc.abstractmethod
    async def requests(
        self, limit: int, offset: int = 0, member_id: str | None = None
    ) -> list[PrivacyRequest]:
        """Requests, newest first (only those for ``member_id`` if given)."""

    @abc.abstractmethod
    async def request_states(self) -> dict[str, int]:
        """How many requests the store holds in each state (only the states some are in)."""

    # -- audit of personal data read -----------------------------------------------------

    @abc.abstractmethod
    async def record_access(self, entries: Sequence[AccessEntry]) -> None:
        """Append entries to the audit (never updated)."""

    @abc.abstractmethod
    async def access_log(self, member_id: str, limit: int) -> list[AccessEntry]:
        """Who read a member's personal data, newest first."""

    @abc.abstractmethod
    async def prune_access(self, before: datetime) -> int:
        """Drop audit entries older than ``before`` (the retention); how many."""

    # -- erasure -------------------------------------------------------------------------

    @abc.abstractmethod
    async def erase_identity(self, erasure: Erasure, at: datetime) -> dict[str, int]:
        """Remove the person's records, identifiers, links, cannot-links, identity events,
        member rows, redirects, consent facts and feed entries, in one transaction; what was
        removed, by kind."""

    @abc.abstractmethod
    async def lease(self, key: str, holder: str, until: datetime, now: datetime) -> bool:
        """Take the lease ``key`` for ``holder`` until ``until`` (or extend it), unless another
        holder's runs past ``now``; whether ``holder`` holds it. Processes over one store
        run one erasure of a member at a time this way; a holder that died lets go when its
        lease runs out."""

    @abc.abstractmethod
    async def release(self, key: str, holder: str) -> None:
        """Let go of the lease ``key`` if ``holder`` holds it."""

    @abc.abstractmethod
    async def lease_holder(self, key: str) -> str | None:
        """Who holds the lease ``key`` (None: no one), whether or not it ran out."""

    async def scrub(self, traces: Sequence[str] | None = ()) -> dict[str, Any]:
        """Make removed bytes unrecoverable from the store's files (SQLite: secure delete is
        on, the WAL is checkpointed and truncated, and the file is rewritten if it still
        holds one of ``traces``, the person's values, or if they are not known: None).
        Nothing to do by default."""
        return {}

"""The identity store port as a request reads it: members, their records and identifiers,
their history, and the lookups by identifier (what loaders and services ask).

Part of :class:`~membergraph.identity.store.port.IdentityStore`, which every adapter is.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import NamedTuple

from membergraph.identity.engine import ValueKey
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordData, RecordKey
from membergraph.identity.store.types import IdentityEvent, MemberParts

__all__ = ["MemberCarried", "MemberReads", "contact_values", "tied_at_top"]


class MemberReads(abc.ABC):
    """What a request reads about members. Methods taking ``refs`` read only what touches
    those records; ``refs=None`` means every record."""

    @abc.abstractmethod
    async def load_records(self, refs: Iterable[RecordKey] | None) -> dict[RecordKey, RecordData]:
        """The stored records among ``refs``."""

    @abc.abstractmethod
    async def carriers(
        self, values: Iterable[ValueKey], cap: int | None = None
    ) -> dict[ValueKey, list[RecordKey]]:
        """Which records carry each value (for incremental resolution); with ``cap``, at
        most that many of each (enough to tell a hub: a store's e-mail typed at the tills
        is on more records the more people there are, and a reader that only asks whether
        a value is on more than ``hub_max_records`` records need not read them all)."""

    async def crm_carriers(self, values: Iterable[ValueKey]) -> dict[ValueKey, list[RecordKey]]:
        """The CRM contacts carrying each value, every one (a card's holders: however many
        purchases and calls carry the card, its contacts are few). By default picked out of
        every carrier; a store that can ask for the contacts alone does."""
        found = await self.carriers(values)
        return {v: crm for v, refs in found.items() if (crm := [r for r in refs if r[0] == "crm"])}

    @abc.abstractmethod
    async def resolve_member_id(self, member_id: str) -> str | None:
        """The live member an ID names, following redirects; None if unknown."""

    @abc.abstractmethod
    async def member_records(self, member_ids: Sequence[str]) -> list[list[RecordKey]]:
        """Each member's records, in the order of ``member_ids``."""

    @abc.abstractmethod
    async def member_identifiers(
        self, member_ids: Sequence[str]
    ) -> list[list[tuple[RecordKey, Identifier]]]:
        """Each member's identifiers with the record carrying them."""

    async def member_parts(self, member_ids: Sequence[str]) -> list[MemberParts]:
        """Each member's records and identifiers: what a query's member fields read first,
        in one read where the adapter can (a request's loaders ask this, not the two)."""
        records = await self.member_records(member_ids)
        identifiers = await self.member_identifiers(member_ids)
        return [MemberParts(r, i) for r, i in zip(records, identifiers, strict=True)]

    @abc.abstractmethod
    async def find_members(self, kind: IdentifierKind, key: str) -> list[str]:
        """Members carrying an identifier (by matching key): the one holding a card's own
        record (:func:`~membergraph.identity.line_records.card_record`) first, then those
        holding it on a profile record (its owner's) before those holding it on a leaf only
        (a shared device a steward gave to one of its two logins), then oldest first. What
        an agent typed is evidence, not an identity: it never answers a lookup."""

    @abc.abstractmethod
    async def ranked_members(self, kind: IdentifierKind, key: str) -> list[tuple[str, int]]:
        """:meth:`find_members`, each with its rank: 0 holds the value's own record (a
        card's purchase record), 1 holds it on a profile record, 2 on a leaf only (a web
        login, a call). Members of one rank are alike as holders of the value: a lookup
        that finds two of the first rank finds no one person (:func:`tied_at_top`)."""

    async def find_member_parts(
        self, kind: IdentifierKind, key: str
    ) -> tuple[str, MemberParts] | None:
        """The first of :meth:`find_members` with its :meth:`member_parts` (None: nobody),
        in one read where the adapter can: a lookup by e-mail reads both at once."""
        found = await self.find_members(kind, key)
        if not found:
            return None
        [parts] = await self.member_parts(found[:1])
        return found[0], parts

    async def find_member_carried(
        self, kind: IdentifierKind, key: str, floor: int, max_records: int
    ) -> MemberCarried | None:
        """:meth:`find_member_parts` with what tells whether the member's e-mails and phones
        are placeholders (``placeholders.weigh_placeholders``): the records carrying each
        (at most ``max_records`` + 1), and the records of the values carried more than
        ``floor`` times and no more than ``max_records``; and the members that hold the
        value alike with it (``tied``: :meth:`ranked_members`' first rank); in one read
        where the adapter can. A profile weighs those values: read with the lookup, they
        cost no read of their own."""
        ranked = await self.ranked_members(kind, key)
        if not ranked:
            return None
        member = ranked[0][0]
        [parts] = await self.member_parts([member])
        found = await self._carried(member, parts, floor, max_records)
        return found._replace(tied=tied_at_top(ranked))

    async def member_carried(
        self, member_id: str, floor: int, max_records: int
    ) -> MemberCarried | None:
        """What :meth:`find_member_carried` reads, for the live member an ID names
        (:meth:`resolve_member_id`; None: unknown): ``member(id:)``'s lookup, in one read
        where the adapter can."""
        member = await self.resolve_member_id(member_id)
        if member is None:
            return None
        [parts] = await self.member_parts([member])
        return await self._carried(member, parts, floor, max_records)

    async def _carried(
        self, member: str, parts: MemberParts, floor: int, max_records: int
    ) -> MemberCarried:
        carried = await self.carriers(contact_values(parts), max_records + 1)
        weighed = {r for refs in carried.values() if floor < len(refs) <= max_records for r in refs}
        records = await self.load_records(weighed) if weighed else {}
        return MemberCarried(member, parts, carried, records)

    @abc.abstractmethod
    async def page_members(
        self, after: str | None, limit: int, source: str | None = None
    ) -> list[str]:
        """Member IDs in ID order after ``after``, optionally only those with a source."""

    @abc.abstractmethod
    async def count_members(self, source: str | None = None) -> int:
        """How many live members (with a record from ``source``, if given)."""

    @abc.abstractmethod
    async def member_events(self, member_ids: Sequence[str]) -> list[list[IdentityEvent]]:
        """Each member's identity history, oldest first: the events written under its ID and
        under every ID that redirects to it (through chains of redirects), each once. An ID
        given back by a split redirects no more, so its events are its own again."""

    @abc.abstractmethod
    async def list_conflicts(self, limit: int, offset: int = 0) -> list[IdentityEvent]:
        """Conflicts recorded for stewards, newest first."""

    @abc.abstractmethod
    async def member_created(self, member_ids: Iterable[str]) -> dict[str, datetime]:
        """When each live member was created (as its ID; a merge keeps the survivor's)."""

    @abc.abstractmethod
    async def event(self, event_id: int) -> IdentityEvent | None:
        """One identity event by its id."""

    async def event_gone(self, event_id: int) -> bool | None:
        """Whether an id no event has was given to one that is gone since (a privacy erasure
        deletes the events of the member it erases): told from the ids given so far, which
        name no one. None: this store cannot tell."""
        return None


def contact_values(parts: MemberParts) -> list[ValueKey]:
    """A member's e-mails and phones, by matching key (the values a placeholder can be)."""
    kinds = (IdentifierKind.EMAIL, IdentifierKind.PHONE)
    return sorted({(i.kind, i.key) for _, i in parts.identifiers if i.kind in kinds})


class MemberCarried(NamedTuple):
    """A member found by an identifier, with what weighs its e-mails and phones
    (:meth:`IdentityStore.find_member_carried`)."""

    member: str
    parts: MemberParts
    carried: dict[ValueKey, list[RecordKey]]
    records: dict[RecordKey, RecordData]
    beside: object = None
    """What the adapter's read beside the lookup found (``SqliteStore.beside_lookup``: the
    member's source lines in the same file), for the caller that asked it; None: nothing."""
    tied: tuple[str, ...] = ()
    """Found by an identifier: the members of the first rank of :meth:`~MemberReads.
    ranked_members` (this one first), more than one when several hold the value alike;
    found by ID: empty."""


def tied_at_top(ranked: Sequence[tuple[str, int]]) -> tuple[str, ...]:
    """The members of :meth:`MemberReads.ranked_members`' answer that share its first rank."""
    return tuple(member for member, rank in ranked if rank == ranked[0][1]) if ranked else ()

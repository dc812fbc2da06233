"""The identity service: the engine applied to the store, in batch or one record at a time.

Both paths run the same code on a *scope* of records: batch resolution scopes everything;
incremental ingestion scopes the closure of the changed records (every record reachable
through a shared, non-hub value or a shared member). The engine is local to such closures,
so both give the same partition for the same data, in any order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import NamedTuple, TypeVar

from membergraph._perf import gc_paused
from membergraph.connectors.models import SourceName
from membergraph.identity.closure import Closure, Crowded, closure_walk
from membergraph.identity.engine import ValueKey
from membergraph.identity.events import MemberChange
from membergraph.identity.incoming import ingest_records
from membergraph.identity.line_records import card_record
from membergraph.identity.load import fold_records
from membergraph.identity.normalize import IdentifierKind, normalize
from membergraph.identity.placeholders import (
    PlaceholderValue,
    carrier_floor,
    nobodys_card,
    placeholder_flags,
)
from membergraph.identity.records import RecordData, RecordKey, identifier_key
from membergraph.identity.rules import Rules
from membergraph.identity.scope_change import (
    Adjustments,
    ApplyResult,
    Guard,
    MembersUse,
    apply_scope,
)
from membergraph.identity.store.format import (
    StoreFormatError,
    Verdict,
    current_mark,
    refusal,
    verdict,
)
from membergraph.identity.store.port import (
    ConcurrentChange,
    DaysRead,
    IdentityStore,
    MemberCarried,
    MemberParts,
    ScopeState,
    TransientStoreError,
    contact_values,
)

__all__ = [
    "Adjustments",
    "ApplyResult",
    "FoundMember",
    "IdentityService",
    "MemberChange",
    "Refuse",
    "retrying",
]

_ATTEMPTS = 5
_BACKOFF_S = 0.2  # the first wait after a transient store failure; doubled each time
T = TypeVar("T")
Refuse = Callable[[Sequence[RecordData]], Awaitable[list[bool]]]
"""Which of some records carry an identifier that is suppressed now (one answer each)."""


class FoundMember(NamedTuple):
    """A member found by an identifier (:meth:`IdentityService.find_member_parts`)."""

    member: str
    parts: MemberParts
    placeholders: dict[ValueKey, bool]
    """Whether each of its e-mails and phones is a placeholder."""
    beside: object = None
    """What the store read beside the lookup (``MemberCarried.beside``)."""
    key: str | None = None
    """The match key of the value the member was found by (None: found by ID)."""
    tied: tuple[str, ...] = ()
    """Found by a value: the members holding it alike at the top rank, this one first
    (``MemberCarried.tied``); more than one: the value names no one person."""


async def retrying(attempt: Callable[[], Awaitable[T]]) -> T:
    """Run a store attempt again when another writer changed what it read, or the store
    failed in a way a new attempt may not (a failover; the failed transaction was rolled
    back): at most ``_ATTEMPTS`` times, the waits after transient failures 3 s in all."""
    for tried in range(_ATTEMPTS - 1):
        try:
            return await attempt()
        except ConcurrentChange:
            await asyncio.sleep(0)
        except TransientStoreError:
            await asyncio.sleep(_BACKOFF_S * 2**tried)
    return await attempt()


class IdentityService:
    """Resolves records into members and keeps the store's graph in step."""

    def __init__(
        self,
        store: IdentityStore,
        rules: Rules | None = None,
        region: str = "US",
        on_written: Callable[[], object] | None = None,
    ) -> None:
        self.store = store
        self.rules = rules or Rules()
        self.region = region
        # Told after every write: the process's feed follower reads the feed at once.
        self.on_written = on_written
        # One writer at a time in this process; across processes, member versions decide.
        self.lock = asyncio.Lock()
        # Devices closure walks found crowded, and the rules they were judged by.
        self._crowded: tuple[Rules, Crowded] = (self.rules, {})

    # -- lookups ---------------------------------------------------------------------

    async def find_member(self, kind: IdentifierKind, raw_value: str) -> str | None:
        """The member of an identifier, normalized exactly as at ingestion.

        Raises:
            BadIdentifier: the value cannot be an identifier of that kind.
        """
        key = identifier_key(kind, normalize(kind, raw_value, self.region))
        found = await self.store.find_members(kind, key)
        return found[0] if found and not _shared_device(kind, found) else None

    async def find_member_parts(self, kind: IdentifierKind, raw_value: str) -> FoundMember | None:
        """:meth:`find_member` with the member's records and identifiers, whether each of
        its e-mails and phones is a placeholder (``placeholders.placeholder_flags``), and
        what the store reads beside the lookup, read together.

        Raises:
            BadIdentifier: the value cannot be an identifier of that kind.
            PlaceholderValue: the value identifies no one (the rules' blocklist, or the data
                shows it on many different people): what keeps it from linking.
        """
        key = identifier_key(kind, normalize(kind, raw_value, self.region))
        listed = self.rules.junk_by(kind, key)
        if listed is not None:
            raise PlaceholderValue(kind, listed)
        if kind is IdentifierKind.ANONYMOUS_ID and _shared_device(
            kind, await self.store.find_members(kind, key)
        ):
            return None
        rules = self.rules
        found = await self.store.find_member_carried(
            kind, key, carrier_floor(rules), rules.hub_max_records
        )
        account = card_record(kind.value, key)
        if account is not None:
            ref = (SourceName.TRANSACTIONS.value, account)
            if found is None or ref not in found.parts.records:
                # No member holds the card's own account: a till's, nobody's, if it is stored
                # (one more read, on this path only: a card's purchases make their member).
                nobodys = await self.store.load_records([ref])
                if ref in nobodys:
                    raise PlaceholderValue(kind, nobodys_card(rules, nobodys[ref]))
        if found is None:
            return None
        weighed = await self._weighed(found, key)
        if weighed.placeholders.get((kind, key)):
            raise PlaceholderValue(kind, "carried by many different people")
        return weighed

    async def member_parts_by_id(self, member_id: str) -> FoundMember | None:
        """The live member an ID names (following redirects; None: unknown), read as
        :meth:`find_member_parts` reads a member found by an identifier."""
        rules = self.rules
        found = await self.store.member_carried(
            member_id, carrier_floor(rules), rules.hub_max_records
        )
        return None if found is None else await self._weighed(found)

    async def _weighed(self, found: MemberCarried, key: str | None = None) -> FoundMember:
        values = contact_values(found.parts)
        flags = await placeholder_flags(
            self.store, self.rules, values, found.carried, found.records
        )
        return FoundMember(found.member, found.parts, flags, found.beside, key, found.tied)

    # -- writing ---------------------------------------------------------------------

    async def resolve_all(
        self,
        records: Mapping[RecordKey, RecordData],
        actor: str = "batch",
        while_storing: MembersUse | None = None,
        refuse: Refuse | None = None,
        upgrade: bool = False,
    ) -> ApplyResult:
        """Resolve a whole data set (start-up, ``membergraph resolve``), and mark the store
        as resolved by this release under :attr:`rules` (:mod:`~membergraph.identity.store.
        format`).

        Records already in the store and absent from ``records`` stay in scope: the result
        is the resolution of everything the store and the data set hold. A record in both is
        folded into the stored one as an ingest folds it (:meth:`RecordData.merge`): lines
        pushed to the store and absent from ``records`` (a folder) still count, so a restart
        or ``membergraph resolve`` gives the members live ingestion gave. An attempt made
        again (another process wrote meanwhile) folds in only the records the store did not
        hold as ``records`` has them.

        ``while_storing`` is given the result (each record's member, the records in none) as
        soon as it is known, and runs while the store writes it (``membergraph resolve``
        writes its answer file then); the call returns when both are done, and fails if
        either fails.

        ``refuse`` is asked, in each attempt after the whole-store versions are read, which
        of ``records`` carry an identifier suppressed since they were read from their lines:
        those are left out. An erasure in another process between the read of the lines and
        this write would otherwise see the person written back (by a gateway starting
        meanwhile); one after it moves the whole-store versions, and the attempt is made
        again, asking again.

        A store of another format is refused (its records and these would be keyed two
        ways), but by ``membergraph reresolve`` (``upgrade``), which checked them first.

        Raises:
            StoreFormatError: the store is of an older or a newer format.
        """
        found = await self.store.mark()
        said = verdict(found, await self.store.holds_records(), self.rules)
        if said is Verdict.NEWER or (said is Verdict.OLDER and not upgrade):
            raise StoreFormatError(refusal(found, self.store.url))

        folder = records  # what of the data set the next attempt folds in

        async def attempt() -> ApplyResult:
            nonlocal folder
            with gc_paused(freeze=False):  # a whole store read is millions of objects too
                # Read first: a whole-store resolution another process writes after this
                # read makes ours conflict (ConcurrentChange), and it is computed again; so
                # does any write moving a member (its version) after this read, and before
                # the state read below (which would find the version moved already).
                seen = await self.store.whole_store_versions()
                given = folder
                if refuse is not None:
                    refused = await refuse(list(folder.values()))
                    if any(refused):
                        pairs = zip(folder.items(), refused, strict=True)
                        given = {ref: record for (ref, record), no in pairs if not no}
                stored = await self.store.load_records(None)
                read: dict[RecordKey, DaysRead] = {}
                if stored:
                    held = (stored.get(ref) for ref in given)
                    read = {h.ref: (h.days, h.email_days) for h in held if h is not None}
                    changed, scope = fold_records(stored, given), stored
                    # A record the store held as the data set has it adds nothing: folded
                    # again in a later attempt, it would write back over what another
                    # process kept in it since (a contact's new name, where the record
                    # was stored without its line's version: RecordData.fold).
                    folder = {r: v for r, v in folder.items() if r in changed or r not in given}
                else:  # a first load: every record is new (one C call each, not 293,000)
                    changed, scope = set(given), dict(given)
                async with self.lock:
                    state = await self.store.scope_state(None)
                    state.versions.update(seen)
                    # A card this writes was read above: a day another process keeps in it
                    # since moves no member version, so the write checks its days instead.
                    state.days_read = {
                        ref: read[ref]
                        for ref in changed
                        if ref in read and (scope[ref].days or scope[ref].email_days)
                    }
                    return await self.apply_scope(
                        scope, changed, frozenset(), actor, whole=True,
                        while_storing=while_storing, state=state,
                    )  # fmt: skip

        # A start retries a conflict or a failover as an ingest does; not with
        # ``while_storing``, which has answered the attempt's result already.
        result = await (attempt() if while_storing is not None else self.retrying(attempt))
        # Marked once the members are written: a run killed between the two leaves the
        # store resolved and marked as before, and the next run finds nothing to change.
        await self.store.set_mark(current_mark(self.rules))
        return result

    async def ingest(
        self,
        incoming: Sequence[RecordData],
        actor: str = "ingest",
        older: Sequence[RecordData] = (),
    ) -> ApplyResult:
        """Apply new or changed records, re-evaluating only their closure. ``older``:
        records of lines older than the version held (a CRM contact's late older version),
        whose values their records keep and nothing else
        (:meth:`~membergraph.identity.records.RecordData.remember`)."""
        async with self.lock:
            return await self.retrying(lambda: ingest_records(self, incoming, actor, older))

    async def retrying(self, attempt: Callable[[], Awaitable[ApplyResult]]) -> ApplyResult:
        """A read-compute-write attempt, run again as :func:`retrying` says."""
        return await retrying(attempt)

    async def closure(self, changed: Mapping[RecordKey, RecordData]) -> tuple[Closure, ScopeState]:
        """The records a change to ``changed`` may move, the hubs met on the way, and what the
        store holds about those records."""
        rules, crowded = self._crowded
        if rules is not self.rules:  # judged by other thresholds: judged again
            self._crowded = rules, crowded = self.rules, {}
        walk = closure_walk(changed, rules, crowded)
        return await self.store.closure_state(walk)

    async def apply_scope(
        self,
        scope: dict[RecordKey, RecordData],
        changed: set[RecordKey],
        hubs: frozenset[ValueKey],
        actor: str,
        whole: bool = False,
        adjust: Adjustments | None = None,
        while_storing: MembersUse | None = None,
        state: ScopeState | None = None,
        guard: Guard | None = None,
        dry_run: bool = False,
    ) -> ApplyResult:
        """Resolve ``scope`` and store what changed (:func:`~membergraph.identity.scope_change.
        apply_scope`); the caller holds :attr:`lock`."""
        result = await apply_scope(
            self.store,
            self.rules,
            scope,
            changed,
            hubs,
            actor,
            whole=whole,
            adjust=adjust,
            while_storing=while_storing,
            state=state,
            guard=guard,
            dry_run=dry_run,
        )
        if not dry_run and self.on_written is not None:
            self.on_written()
        return result


def _shared_device(kind: IdentifierKind, members: Sequence[str]) -> bool:
    """Whether a lookup found a device several members log in on (each login's events are
    a record of its member's, ``devices.py``): the device names none of them."""
    return kind is IdentifierKind.ANONYMOUS_ID and len(members) > 1

"""Finishing pushed lines: what follows storing them (identity, the feed, consents, then
their marks go), and the healing of pushes that stopped in between.

:class:`PushFinisher` is the part of :class:`~membergraph.ingest.IngestService` that a
start, a later push or a timer runs over lines a push stored and did not complete: each
step is idempotent, so a line acknowledged is complete, and one never acknowledged is
absent or, seconds later, complete.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence

from pydantic import BaseModel

from membergraph.connectors.base import ConnectorError, SourceConnector
from membergraph.connectors.models import SourceName
from membergraph.gateway_parts import Gateway
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.service import ApplyResult
from membergraph.identity.store.port import StoreError
from membergraph.ingest_answers import turns
from membergraph.ingest_facts import Fact, announce, settle
from membergraph.logs import Recurring
from membergraph.resolvers.consent import record_line_consents

__all__ = ["HEAL_SECONDS", "PushFinisher", "record_consents"]

logger = logging.getLogger(__name__)
HEAL_SECONDS = 2.0
"""How often a process looks for lines a failed push left (:meth:`PushFinisher.keep_healing`):
one indexed read of a row per source when there are none."""


class PushFinisher:
    """Completes stored lines, and finishes those a failed or stopped push left."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        # One writer at a time: appends and identity changes stay in the order taken.
        self._lock = asyncio.Lock()
        self._left = False  # a push failed after storing its lines: finish them first
        self.unfinished = Recurring(logger, "could not finish an earlier push yet")
        """Said once, then at most once a minute, whether the poll or a push meets it."""

    async def heal(self, held: Mapping[SourceName, SourceConnector] | None = None) -> int:
        """Finish the pushes a stopped process left: lines stored with their mark, whose
        identity, feed entry or consents may be missing (each step is idempotent). Run at
        start, over the sources and the copies ``membergraph sync`` keeps of HTTP sources (a
        sync killed mid-page left that page's lines there), or over ``held`` only; answers
        how many lines it finished."""
        async with self._lock:
            healed = await self._heal(held)
        if healed and self.gateway.feed is not None:
            await self.gateway.feed.catch_up()
        return healed

    async def keep_healing(self) -> None:
        """For as long as the process serves, every :data:`HEAL_SECONDS`: finish what failed
        pushes left (:meth:`heal_left`). Without it a line stored by a push that failed at
        its feed entry is read by every process yet told to no subscriber until the next
        push of its source or the next start: the SMS service never hears of the redeemed
        bonus."""
        while True:
            await asyncio.sleep(HEAL_SECONDS)
            await self.heal_turn()

    async def heal_turn(self) -> None:
        """One turn of :meth:`keep_healing`: a failure is said through :attr:`unfinished`
        (once, then at most once a minute), the next turn tries again."""
        try:
            await self.heal_left()
        except (ConnectorError, StoreError, TimeoutError) as exc:
            self.unfinished.failed(exc)
        else:
            if not self._left:  # (else its failure was just said: still failing)
                self.unfinished.ok()

    async def heal_left(self) -> int:
        """Finish the lines a failed push of this process stored and did not complete, and
        (where the backend tells them apart from a push in flight) those a push of any
        process left: one that died. Answers how many lines it finished."""
        healed = 0
        if self._left:
            async with self._lock:  # (a push may have finished them while we waited)
                healed += await self._heal_if_left()
        for source, connector in self._pushable():
            if not await connector.may_be_abandoned():  # nothing marked: no lock taken
                continue
            async with self._lock, connector.pushing():
                healed += await self._finish(source, connector, await connector.abandoned())
        if healed and self.gateway.feed is not None:
            await self.gateway.feed.catch_up()
        return healed

    def _pushable(
        self, held: Mapping[SourceName, SourceConnector] | None = None
    ) -> list[tuple[SourceName, SourceConnector]]:
        """The sources (of ``held``, else every source and sync copy) that take pushes."""
        gateway = self.gateway
        every = held.items() if held else [*gateway.sources.items(), *gateway.synced.items()]
        return [
            (source, connector)
            for source, connector in every
            if isinstance(connector, SourceConnector) and connector.takes_pushes
        ]

    async def _heal_if_left(self) -> int:
        """Finish what a failed push of this process left, if one did; how many lines."""
        if not self._left:
            return 0
        try:
            healed = await self._heal()
        except (ConnectorError, StoreError) as exc:  # still failing: this push tries anyway
            self.unfinished.failed(exc)
            return 0
        self._left = False
        self.unfinished.ok()
        return healed

    async def _heal(self, held: Mapping[SourceName, SourceConnector] | None = None) -> int:
        healed = 0
        for source, connector in self._pushable(held):
            async with connector.pushing():  # no push in flight in another process
                healed += await self._finish(source, connector, await connector.unsettled())
        return healed

    async def _finish_abandoned(self, source: SourceName, connector: SourceConnector) -> set[str]:
        """Finish what a failed push (of any process) left, before a push of the same source:
        a client told to send its lines again may send them to another process. Answers the
        ids of the lines it could not finish (the store still failing)."""
        pending: list[tuple[BaseModel, str]] = []
        try:
            pending = await connector.abandoned()
            await self._finish(source, connector, pending)
        except (ConnectorError, StoreError) as exc:  # still failing: this push tries anyway
            self.unfinished.failed(exc)
            return {connector.line_id(line) for line, _ in pending}
        if not self._left:  # (what waited is done: said once, at INFO)
            self.unfinished.ok()
        return set()

    async def _finish(
        self, source: SourceName, connector: SourceConnector, pending: list[tuple[BaseModel, str]]
    ) -> int:
        if not pending:
            return 0
        region = self.gateway.settings.default_region
        facts = [Fact.left(source, line, mark, region) for line, mark in pending]
        await self._complete(source, connector, facts, [line for line, _ in pending])
        logger.warning(
            "finished %d %s line(s) a stopped push had stored but not applied",
            len(pending),
            source.value,
        )
        return len(pending)

    async def _complete(
        self,
        source: SourceName,
        connector: SourceConnector,
        facts: Sequence[Fact],
        stored: Sequence[BaseModel],
        older: Sequence[RecordData] = (),
    ) -> tuple[ApplyResult, Mapping[RecordKey, str]]:
        """What follows storing lines: identity, the feed, consents; then their marks go.
        Answers what identity did and the member of each record (none: nobody's)."""
        gateway = self.gateway
        # A line sent again ("unchanged") goes through identity again too: if the first
        # attempt failed after the append, this one completes it (ingest is idempotent).
        records = [f.record for f in facts if f.record is not None]
        if older:  # a late older version of a contact: its values still name her
            applied = await gateway.identity.ingest(records, older=older)
        else:
            applied = await gateway.identity.ingest(records)
        members = await gateway.identity.store.assignments([r.ref for r in records])
        await announce(gateway.identity.store, source, connector, facts, members)
        await record_consents(gateway, source, stored)
        await settle(connector, facts)
        return applied, members


async def record_consents(gateway: Gateway, source: SourceName, lines: Sequence[BaseModel]) -> None:
    """:func:`~membergraph.resolvers.consent.record_line_consents`, a chunk of lines a write:
    the facts of 20,000 contacts took the event loop a second to render in one. Keeping a
    fact twice changes nothing, so a push stopped between two chunks is finished whole."""
    for chunk in turns(lines):
        await record_line_consents(gateway, source, chunk)

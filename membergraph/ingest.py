"""Pushed source lines: :class:`IngestService`, the domain service behind ``POST
/ingest/{source}`` (:mod:`.ingest_http`), lines in the source file format answered per line.

Each line is validated on its own; good lines are stored in the source (ordered against the
version held: ``created``, ``updated``, ``unchanged``, ``stale``), applied to identity
incrementally, and announced on the change feed. A bad line is answered with its precise
error and never stops the others.

The lines are stored with a mark in the same write (:meth:`SourceConnector.append`), and the
marks are dropped once identity, feed and consents are done: a push that fails in between
(the store stalls at its feed entry) leaves marked lines, which its process finishes within
:data:`~.ingest_finish.HEAL_SECONDS` (:meth:`IngestService.keep_healing`, :mod:`.ingest_finish`);
a process killed in between leaves them to the next start (:meth:`IngestService.heal`) or,
over SQLite, to any live process over the same store, within the same seconds. So a line
acknowledged is complete, and one never acknowledged is absent or, seconds later, complete.

Suppressions are checked as the lines are written (:func:`~membergraph.privacy.gate.guarded`):
in the write's own transaction where the backend can, else right after it, undoing the write.
An erasure in any process suppresses first, then waits for the marked lines of the pushes
already past that check: whatever the interleaving, a line of hers is refused or erased.

A push's work on the event loop's thread (reading its lines, screening them, building the
answer) is done :data:`TURN_LINES` lines at a time, the loop given a turn between two: a body
of 8 MiB held every other request (``/healthz`` and ``/readyz`` included) for over a second
otherwise. The turns change no write: the lines are stored, applied and settled as before.

A large push (over :data:`LARGE_PUSH_LINES` lines) holds its lines' models, records and
answers at once, hundreds of bytes a line in many small objects: pushes of that size are
read one at a time (:class:`~membergraph._perf.OneAtATime`), and the memory the push freed is
given back to the system once none is left (:func:`~membergraph._perf.give_back_memory`).
Four 28,000-line pushes at once held four times a push's objects; what the allocator kept
of that peak stayed with the process (``docs/benchmarks.md``, ``big_push.py``). They still
write one after the other, as they did; a push of fewer lines never waits for the turn.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from membergraph._perf import OneAtATime, gc_paused_while
from membergraph.connectors.base import (
    ConnectorError,
    Guard,
    LinesInFlight,
    Mark,
    SourceConnector,
    SourceLocked,
)
from membergraph.connectors.lines import LineError, parse_line
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES, Taken
from membergraph.full_start import first_load_refusal
from membergraph.gateway_parts import Gateway
from membergraph.identity.line_records import record_of_line
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.service import ApplyResult
from membergraph.identity.store.port import StoreError
from membergraph.identity.values import stored_nobodys_reason
from membergraph.ingest_answers import (
    STORE_LOCKED,
    STORE_UNAVAILABLE,
    TURN_LINES,
    IngestRefused,
    Pushed,
    entry_of,
    for_want_of_room,
    in_turns,
    turns,
    unrated_currency,
)
from membergraph.ingest_facts import Fact, marker
from membergraph.ingest_finish import PushFinisher, record_consents
from membergraph.privacy import Privacy, privacy_of
from membergraph.privacy.gate import SUPPRESSED_ERROR, guard_of, guarded, screen

__all__ = ["IngestRefused", "IngestService", "Pushed"]

logger = logging.getLogger(__name__)
_TAKEN = ("created", "updated", "unchanged")  # the line is in the source
_STORED = (*_TAKEN, "stale")  # a version of the line is in the source

LARGE_PUSH_LINES = 2_000
"""Pushes of more lines than this are read one at a time (the module doc); below it, the
objects a push holds are a few megabytes at most."""


class IngestService(PushFinisher):
    """Takes pushed source lines: each validated on its own, the good ones stored (durable
    before answered), applied to identity, and announced on the change feed."""

    def __init__(
        self, gateway: Gateway, steps: Callable[[str], Awaitable[None]] | None = None
    ) -> None:
        super().__init__(gateway)
        self.steps = steps
        self.large = OneAtATime()
        """The turn of large pushes (:data:`LARGE_PUSH_LINES`): how many wait, how many ran."""
        self.counted: Callable[[str, Pushed], None] | None = None
        """Given each push as answered (``/metrics`` counts its lines by outcome, and those
        in a currency with no exchange rate by currency)."""
        """Awaited at each step of a push: ``screened`` (checked against the suppressions,
        nothing stored), ``written`` (stored), ``checked`` (suppressions checked at the
        write): a test holds a push there to interleave it with an erasure."""

    async def push(
        self, source: SourceName, items: Sequence[Any], into: SourceConnector | None = None
    ) -> Pushed:
        """Take ``items`` (JSON Lines as bytes, or decoded objects) for ``source``, kept by
        its connector or by ``into``: where ``membergraph sync`` keeps an HTTP source's lines
        (:attr:`Gateway.synced <membergraph.gateway_parts.Gateway.synced>`).

        Raises:
            IngestRefused: the source takes no pushes (409), there is no line (400), or it
                could not store them (503: nothing was taken, send them again; 507
                ``STORE_FULL``: the same, for want of room on the store's disk).
        """
        large = len(items) > LARGE_PUSH_LINES
        async with self.large.turn() if large else contextlib.nullcontext():
            try:
                with gc_paused_while():  # (its objects live until it answers: _perf.py)
                    pushed = await self._push(source, items, into)
            except IngestRefused as exc:
                raise for_want_of_room(exc) from exc.__cause__
        if self.counted is not None:
            self.counted(source.value, pushed)
        return pushed

    async def _push(
        self, source: SourceName, items: Sequence[Any], into: SourceConnector | None
    ) -> Pushed:
        gateway = self.gateway
        refusal = first_load_refusal(gateway)  # (that load would resolve without them)
        if refusal is not None:
            raise IngestRefused(
                503, f"{refusal}; nothing was taken: send the lines again then", "STORE_UNAVAILABLE"
            )
        connector = into or gateway.sources.get(source)
        if not isinstance(connector, SourceConnector) or not connector.takes_pushes:
            raise IngestRefused(
                409, f"source {source.value} is read from an API here: it takes no pushed lines"
            )
        spec, region = SOURCES[source], gateway.settings.default_region
        results: list[dict[str, Any]] = []
        good: list[tuple[int, BaseModel]] = []
        nobodys: dict[int, str] = {}  # good lines that identify no one, with why
        for number, raw in enumerate(items, start=1):
            if number % TURN_LINES == 0:
                await asyncio.sleep(0)  # other requests' turn (module doc)
            if isinstance(raw, bytes) and not raw.strip():
                continue
            parsed = parse_line(spec, raw, f"line {number}", connector.owner)
            if isinstance(parsed, LineError) and parsed.line is not None:
                # Well formed, but it identifies no one (a cash sale, a placeholder): kept for
                # the books as a load keeps it, nobody's, and not the sender's error.
                nobodys[number] = parsed.message
                good.append((number, parsed.line))
            elif isinstance(parsed, LineError):
                results.append(
                    {
                        "line": number,
                        "status": "rejected",
                        "error": parsed.message,
                        "code": parsed.code,
                    }
                )
            else:
                good.append((number, parsed[0]))
        if not good and not results:
            raise IngestRefused(400, "no lines in the body")
        try:
            privacy = await privacy_of(gateway)
            kept: list[tuple[int, BaseModel]] = []
            refused: list[int] = []
            for chunk in turns(good):  # a screen per chunk: the loop's turn between two
                taken, no = await screen(privacy, source, chunk, region)
                kept += taken
                refused += no
                await asyncio.sleep(0)
            good = kept
        except StoreError as exc:  # the suppressions unread: nothing was taken yet
            raise IngestRefused(
                503, f"{exc}; nothing was taken: send the lines again", "STORE_UNAVAILABLE"
            ) from exc
        results += [{"line": n, "status": "suppressed", "error": SUPPRESSED_ERROR} for n in refused]
        records = await in_turns(
            good,
            lambda chunk: [
                None if n in nobodys else record_of_line(source, line, region) for n, line in chunk
            ],
        )
        await self._step("screened")
        async with self._lock:
            await self._heal_if_left()
            try:
                async with connector.pushing():
                    left = await self._finish_abandoned(source, connector)
                    if again := sorted(left.intersection(connector.line_id(g) for _, g in good)):
                        # Taken now, a line sent again would replace the mark that still
                        # has it announced: it never would be.
                        raise IngestRefused(
                            503,
                            f"an earlier push of {', '.join(again[:5])} is not finished (the "
                            "store did not answer): send the lines again",
                            "STORE_UNAVAILABLE",
                        )
                    outcomes, applied, members = await self._take(source, connector, good, records)
            except TimeoutError as exc:  # the push lock: nothing was taken yet
                raise IngestRefused(
                    503, f"{exc}; send the lines again", "STORE_UNAVAILABLE"
                ) from exc
        if gateway.feed is not None:
            await gateway.feed.catch_up()  # read your writes: caches here know before we answer
        rules, money = gateway.identity.rules, gateway.settings.loyalty_program.money
        as_sent: Counter[str] = Counter()
        answered = zip(good, outcomes, records, strict=True)
        for n, ((number, line), outcome, record) in enumerate(answered, start=1):
            if n % TURN_LINES == 0:
                await asyncio.sleep(0)
            entry = entry_of(spec.id_field, source, number, line, outcome, record, region, money)
            if currency := unrated_currency(source, line, outcome, money):
                as_sent[currency] += 1
            if number in nobodys and outcome in _STORED:
                entry.update(status="unattributed", reason=nobodys[number], kept=True)
            elif record is not None and outcome in _TAKEN and record.ref not in members:
                # Kept in the source, but its record is keyed by a value the data shows to
                # be a placeholder: nobody's, as a pattern placeholder's line is.
                # The resolution says why (a shared device's other login may be on an older
                # line); a record it did not touch is judged by its values.
                reason = applied.unattributed.get(record.ref) or stored_nobodys_reason(
                    record, rules
                )
                entry.update(status="unattributed", reason=reason, kept=True)
            results.append(entry)
        results.sort(key=lambda r: r["line"])
        changed = sorted({m for c in applied.changes for m in c.member_ids})
        return Pushed(results, changed, as_sent)

    async def _take(
        self,
        source: SourceName,
        connector: SourceConnector,
        good: Sequence[tuple[int, BaseModel]],
        records: Sequence[RecordData | None],
    ) -> tuple[list[Taken], ApplyResult, Mapping[RecordKey, str]]:
        """Store the good lines (checked against the suppressions as they are written), then
        complete them (identity, feed, consents)."""
        token = uuid.uuid4().hex
        lines = [line for _, line in good]
        if source is SourceName.CRM:
            await self._keep_held_consents(connector, lines)
        privacy = await privacy_of(self.gateway)
        guard = await _guard_of(privacy, records)
        try:
            head = await self.gateway.identity.store.feed_head()
            mark = marker(source, token, head)
            outcomes = await self._append(source, connector, lines, mark, guard)
        except SourceLocked as exc:
            # The store's file, which holds the source table, was locked all the wait: the
            # store's cause, said as a lock on its identity tables says it. Nothing taken.
            logger.warning("a push found the store locked: %s", exc)
            raise IngestRefused(503, STORE_LOCKED, "STORE_UNAVAILABLE") from exc
        except (ConnectorError, OSError) as exc:
            # Nothing was taken (written before indexed); appends are idempotent on the
            # line's id, so the client sends the same lines again.
            raise IngestRefused(
                503, f"{exc}; send the lines again (appends are idempotent)", "SOURCE_UNAVAILABLE"
            ) from exc
        except StoreError as exc:
            # Finishing another push's lines first failed (ours not written), or ours were
            # written and the suppressions could not be read after: either way the marked
            # lines are finished by the next push (or start); the client sends them again.
            self._left = True
            logger.warning("a push could not reach the store around its write: %s", exc)
            raise IngestRefused(
                503,
                "the store did not answer: send the same lines again (an ingest is idempotent)",
                "STORE_UNAVAILABLE",
            ) from exc
        await self._step("checked")
        taken = await in_turns(
            list(zip(good, outcomes, records, strict=True)),
            lambda chunk: [
                Fact.taken(line, outcome, record)
                for (_, line), outcome, record in chunk
                if outcome in _TAKEN
            ],
        )
        stored = [line for (_, line), o in zip(good, outcomes, strict=True) if o in _STORED]
        # A late older version of a contact changes nothing of it but still names its values
        # (the e-mail she had before: the purchases under it are hers).
        older = [
            record
            for record, outcome in zip(records, outcomes, strict=True)
            if outcome == "stale" and record is not None and SOURCES[source].keeps_history
        ]
        try:
            applied, members = await self._complete(source, connector, taken, stored, older)
        except (ConnectorError, StoreError) as exc:
            self._left = True  # stored and marked: the next push (or start) finishes it
            logger.warning("a push stored its lines but could not complete them: %s", exc)
            raise IngestRefused(503, STORE_UNAVAILABLE, "STORE_UNAVAILABLE") from exc
        except BaseException:
            self._left = True
            raise
        return outcomes, applied, members

    async def _keep_held_consents(
        self, connector: SourceConnector, lines: Sequence[BaseModel]
    ) -> None:
        """Keep the consent facts of the contact versions held before these replace them.

        A version loaded from a folder or a collection never went through a push, so its
        facts were never kept: once a newer snapshot replaced it, a value the snapshot only
        repeats (an address change still saying ``email: true``) would look like a first,
        new choice, and undo a later unsubscribe. Kept before the write, a crash in between
        loses nothing (keeping a fact twice changes nothing)."""
        owners = sorted({connector.line_id(line) for line in lines})
        try:
            held = await connector.load_many(owners)
        except ConnectorError as exc:  # the append will say so; nothing is lost by waiting
            logger.warning("could not read the contacts a push replaces: %s", exc)
            return
        versions = [line for found in held if isinstance(found, list) for line in found]
        await self._step("held")
        if not versions:
            return
        # An erased person's version, read before her suppression: her facts are not kept
        # (the erasure deletes them; kept after it, they would outlive her).
        region = self.gateway.settings.default_region
        privacy = await privacy_of(self.gateway)
        refused = await privacy.suppressor.refused(
            [record_of_line(SourceName.CRM, line, region) for line in versions]
        )
        kept = [line for line, no in zip(versions, refused, strict=True) if not no]
        await record_consents(self.gateway, SourceName.CRM, kept)

    async def _step(self, name: str) -> None:
        if self.steps is not None:
            await self.steps(name)

    async def _append(
        self,
        source: SourceName,
        connector: SourceConnector,
        lines: Sequence[BaseModel],
        mark: Mark,
        guard: Guard,
    ) -> list[Taken]:
        """Store the lines, checked against the suppressions as they are written; lines
        another push stored and never finished (it died, or stalls past the source's
        timeout) are finished here first, as a start would."""
        try:
            return await guarded(connector, lines, mark, guard, self._step)
        except LinesInFlight as exc:
            left = [
                p for p in await connector.unsettled() if connector.line_id(p[0]) in exc.line_ids
            ]
            logger.warning("%s: finishing them before this push", exc)
            await self._finish(source, connector, left)
            return await guarded(connector, lines, mark, guard, self._step)


async def _guard_of(privacy: Privacy, records: Sequence[RecordData | None]) -> Guard:
    """:func:`~membergraph.privacy.gate.guard_of`, its digests made a chunk a turn."""
    digests = await in_turns(records, lambda chunk: guard_of(privacy, chunk).digests)
    return Guard(digests, privacy.store.suppressed)

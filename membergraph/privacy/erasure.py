"""Erasure: a data subject's request to be forgotten, done where the data lives, once.

:meth:`ErasureService.erase` runs a :class:`PrivacyRequest` through its steps, each
idempotent, recording each step's outcome so a failed one is retried (by the next call for
the same member, or at the next start) until the request is ``done``:

1. ``suppress``: the person's identifiers (keyed hashes only), so the next import of their
   lines is refused (``suppressed``) and no rule brings them back; then the pushes of her
   lines already past that check, in any process, are waited for (:mod:`.in_flight`) and
   the person is read again (identifiers such a push brought are suppressed in turn);
2. ``sources``: their lines leave every source the gateway owns (the SQLite source table,
   MongoDB collections, JSON Lines files, and the folder the embedded store was loaded
   from); a purchase stays for the books without what identifies the buyer; a source read
   over HTTP gets a ``deletion_requested`` entry on the change feed, and the request waits
   (``awaiting_sources``) until its deletion is confirmed (:meth:`ErasureService.confirm`);
3. ``identity``: their records, identifiers, links, history, consent facts, member IDs,
   feed entries and the response cache's answers kept in the store that read them (or read
   a member those feed entries name) leave the identity store, in one transaction, only
   once every source step succeeded (until then the store still says what to erase, so a
   retry can); the same transaction leaves a tombstone of each member ID (a keyed hash:
   ``identity/store/tombstones.py``), so no one is given one again; the other
   people's records her presence may have resolved otherwise are read first and kept with
   the request (:mod:`.beside`);
4. ``reresolve``: those records are resolved again without her, as an ingest resolves a
   change's closure, so the store ends as a whole resolution of what remains would (a
   family e-mail she made a hub links her relatives' duplicate contacts again); members
   that change get their history and feed entries;
5. ``feed``: an ``erased`` entry tells every process to drop what it caches of them;
6. ``scrub``: no byte of it stays in the store's files (SQLite: the WAL checkpointed).
"""

from __future__ import annotations

import asyncio
import collections
import uuid
from collections.abc import Callable, Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from membergraph.gateway_parts import Gateway
from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.records import RecordKey
from membergraph.privacy import Privacy, privacy_of
from membergraph.privacy.beside import records_beside, resolve_beside
from membergraph.privacy.erasure_sources import SourcesStep
from membergraph.privacy.in_flight import her_lines, wait_for_pushes
from membergraph.privacy.lease import ErasureLease
from membergraph.privacy.port import Erasure, PrivacyRequest
from membergraph.privacy.spans import erasure_scope
from membergraph.privacy.subject import Subject, read_subject

__all__ = [
    "ErasureBusy",
    "ErasureService",
    "NothingToConfirm",
    "NothingToErase",
    "Subject",
    "erasure_of",
]


class NothingToErase(LookupError):
    """No member by that ID, and no request for it."""


class NothingToConfirm(ValueError):
    """The member's request asked that source for no deletion that is still awaited."""


class ErasureBusy(RuntimeError):
    """Another process has been erasing the member for longer than we wait, and its request
    is not written yet: ask again."""


def _now() -> datetime:
    return datetime.now(UTC)


class ErasureService:
    """Runs erasure requests (one at a time per process: steps touch the same rows)."""

    STEPS = ("suppress", "sources", "identity", "reresolve", "feed", "scrub")

    def __init__(
        self,
        gateway: Gateway,
        privacy: Privacy,
        folder: Path | None = None,
        push_wait: float = 20.0,
    ) -> None:
        self.gateway = gateway
        self.privacy = privacy
        self.push_wait = push_wait
        """Seconds to wait for the pushes of the person's lines still on their way in (then
        the request is ``partial``, and retried)."""
        self.busy_wait = min(30.0, gateway.settings.request_timeout / 2)
        """Seconds to wait for another process erasing the same member to finish: within
        half the request's time budget, so the caller is told to ask again (``UNAVAILABLE``)
        rather than cut off by the budget (``TIMEOUT``) while a killed process's lease runs
        out."""
        self._lock = asyncio.Lock()
        self.outcomes: collections.Counter[str] = collections.Counter()
        """How each run in this process ended (``/metrics``: :mod:`.figures`)."""
        self._lease = ErasureLease(privacy.store)
        self._sources = SourcesStep(gateway, privacy, folder)

    async def erase(
        self,
        member_id: str,
        reason: str,
        actor: str,
        suppress: bool = True,
        only: Collection[RecordKey] | None = None,
        whole: bool = False,
    ) -> PrivacyRequest:
        """Erase the member ``member_id`` names (or go on with its unfinished request); one
        process at a time (:mod:`.lease`): another asked at once answers the same request.
        A new request for a member that may hold two people (:mod:`.spans`) needs ``only``
        (the records that are hers: they go, with what is hers by their identifiers) or
        ``whole`` (all of it is hers).

        Raises:
            NothingToErase: no such member, and no request for it.
            ErasureBusy: another process has held her erasure for :attr:`busy_wait` seconds
                and has not written its request.
            SpansPeople: the member may hold two people, and neither was given.
            NotInMember: ``only`` names a record the member does not hold.
        """
        store = self.gateway.identity.store
        async with self._lock:
            first = await store.resolve_member_id(member_id)
            async with self._lease.held(first or member_id, self.busy_wait) as held:
                # Read once the lease is ours: another process may have erased her meanwhile.
                live = await store.resolve_member_id(member_id)
                asked = {member_id, live} - {None}
                known = [r for m in asked for r in await self.privacy.store.requests(1, 0, m)]
                request = max(known, key=lambda r: r.created_at) if known else None
                if live is None and request is None:
                    raise NothingToErase(member_id)
                if not held:  # still erased elsewhere: its request, as it stands
                    if request is None:
                        raise ErasureBusy(f"member {member_id} is being erased elsewhere")
                    return request
                if request is None or (request.state == "done" and live is not None):
                    assert live is not None  # (no member and no request: raised above)
                    identity = self.gateway.identity
                    mine = await erasure_scope(identity.store, identity.rules, live, only, whole)
                    request = self._new(live, reason, actor, suppress, mine)
                if request.state != "done":
                    await self._run(request, live)
                return request

    def _new(
        self, member_id: str, reason: str, actor: str, suppress: bool, only: list[RecordKey] | None
    ) -> PrivacyRequest:
        at = _now()
        steps = {} if suppress else {"suppress": "skipped"}
        kind = "erase" if only is None else "erase_records"
        made = PrivacyRequest(f"pr_{uuid.uuid4().hex}", kind, member_id, reason, actor, at, at)
        made.steps, made.only = steps, only or []
        return made

    async def retry_unfinished(self, wait: float = 0) -> list[PrivacyRequest]:
        """Go on with every request not done (at start: a crash or a failure left them),
        waiting up to ``wait`` seconds for a process that runs one to let go of it."""
        # Awaiting a source's confirmation is not unfinished here: nothing is left to run.
        requests = await self.privacy.store.requests(1000)
        unfinished = [r for r in requests if r.state in ("pending", "partial")]
        done: list[PrivacyRequest] = []
        for request in unfinished:
            async with self._lock, self._lease.held(request.member_id, wait) as held:
                if not held:
                    continue  # another process is running it
                now = await self.privacy.store.requests(100, 0, request.member_id)
                request = next((r for r in now if r.id == request.id), request)
                if request.state not in ("pending", "partial"):
                    continue  # finished elsewhere meanwhile
                live = await self.gateway.identity.store.resolve_member_id(request.member_id)
                await self._run(request, live)
                done.append(request)
        return done

    async def _run(self, request: PrivacyRequest, live: str | None) -> None:
        try:
            await self._steps(request, live)
        except BaseException:  # not even recorded (the store unavailable), or cancelled
            self.outcomes["failed"] += 1
            raise
        self.outcomes[request.state] += 1

    async def _steps(self, request: PrivacyRequest, live: str | None) -> None:
        store = self.gateway.identity.store
        # A narrowed request whose records went (its identity step done) names no one now.
        gone = request.kind == "erase_records" and request.steps.get("identity") == "done"
        subject = (
            await read_subject(store, live, self.gateway.identity.rules, request.records_named)
            if live is not None and not gone
            else None
        )
        steps: dict[str, Callable[[PrivacyRequest, Subject | None], Any]] = {
            "suppress": self._suppress,
            "sources": self._sources.run,
            "identity": self._identity,
            "reresolve": self._reresolve,
            "feed": self._feed,
            "scrub": self._scrub,
        }
        await self.privacy.store.save_request(request)  # pending, before anything goes
        for name, step in steps.items():
            if request.steps.get(name) in ("done", "skipped"):
                continue
            if not await self._lease.renew():
                request.steps[name] = "failed: another process took the request over"
                break
            if name == "identity" and request.steps.get("sources") != "done":
                break  # the store must still say what to erase when the sources are retried
            try:
                if name == "sources" and subject is not None:
                    subject = await self._after_pushes(request, subject)
                await step(request, subject)
                request.steps[name] = "done"
            except Exception as exc:  # recorded; the request is retried from this step
                request.steps[name] = f"failed: {exc}"
                break
            # Each step recorded as it ends: a process killed after her identity went would
            # otherwise leave the request as it began, and its retry, finding no one, would
            # say DONE with none of the counts of what went.
            await self.privacy.store.save_request(request)
        done = all(request.steps.get(s) in ("done", "skipped") for s in self.STEPS)
        request.state = request.settled if done else "partial"
        request.updated_at = _now()
        await self.privacy.store.save_request(request)

    async def _after_pushes(self, request: PrivacyRequest, subject: Subject) -> Subject:
        """The person as the store holds her once no push of her lines that was checked
        before her suppression is still on its way in; identifiers such a push brought are
        suppressed, and waited for, in turn."""
        store, suppressor = self.gateway.identity.store, self.privacy.suppressor
        region = self.gateway.settings.default_region
        held = (self.gateway.sources, self.gateway.synced)
        for _ in range(3):
            await wait_for_pushes(held, her_lines(subject, suppressor, region), self.push_wait)
            live = await store.resolve_member_id(subject.member_id)
            subject = (
                await read_subject(store, live, self.gateway.identity.rules, request.records_named)
                if live is not None
                else subject
            )
            if request.steps.get("suppress") == "skipped":
                return subject
            added = await suppressor.suppress(
                subject.suppress, request.actor, f"erasure {request.id}"
            )
            request.counts["suppressed"] = request.counts.get("suppressed", 0) + added
            request.counts["left_to_others"] = subject.shared_values
            if not added:
                return subject
        raise RuntimeError("lines of the person kept arriving while she was erased")

    async def confirm(self, member_id: str, source: str) -> PrivacyRequest:
        """Record that ``source`` (not owned here) deleted the person's lines, as its
        operator confirmed; the request is ``done`` once no source is awaited.

        Raises:
            NothingToErase: no request for that member.
            NothingToConfirm: its newest request awaits no deletion from that source.
        """
        async with self._lock:
            known = await self.privacy.store.requests(1, 0, member_id)
            if not known:
                raise NothingToErase(member_id)
            request = known[0]
            if request.sources.get(source) != "requested":
                awaited = sorted(s for s, said in request.sources.items() if said == "requested")
                raise NothingToConfirm(
                    f"request {request.id} awaits no deletion from {source!r}"
                    f" (awaited: {', '.join(awaited) or 'none'})"
                )
            request.sources[source] = "confirmed"
            if request.state == "awaiting_sources":
                request.state = request.settled
            request.updated_at = _now()
            await self.privacy.store.save_request(request)
            return request

    async def _suppress(self, request: PrivacyRequest, subject: Subject | None) -> None:
        if subject is not None:
            added = await self.privacy.suppressor.suppress(
                subject.suppress, request.actor, f"erasure {request.id}"
            )
            request.counts["suppressed"] = request.counts.get("suppressed", 0) + added
            # Her values another live member carries too (a family e-mail): his, unsuppressed.
            request.counts["left_to_others"] = subject.shared_values

    async def _identity(self, request: PrivacyRequest, subject: Subject | None) -> None:
        if subject is None:
            return
        # Her accounts found outside her member, and the members that keep other records.
        request.counts["records_elsewhere"] = len(subject.elsewhere)
        request.counts["members_elsewhere"] = len(subject.emptied) + len(subject.touched)
        # The records she shares keep the other person's lines, and lose her values.
        stripped = tuple(
            (ref, kind.value, key) for ref in subject.shared for kind, key in sorted(subject.theirs)
        )
        erasure = Erasure(subject.member_ids, subject.refs, (), subject.words, stripped)
        # Once she is gone nothing says which records stood beside hers: kept first.
        identity = self.gateway.identity
        request.resolve_again = await records_beside(identity.store, subject, identity.rules)
        request.erased_ids = list(subject.member_ids)
        await self.privacy.store.save_request(request)
        removed = await self.privacy.store.erase_identity(erasure, _now())
        for kind, n in removed.items():
            request.counts[kind] = request.counts.get(kind, 0) + n

    async def _reresolve(self, request: PrivacyRequest, subject: Subject | None) -> None:
        if not request.resolve_again:
            request.erased_ids = []
            return
        said = f"privacy request {request.id}"
        result = await resolve_beside(
            self.gateway.identity, request.resolve_again, request.actor, said, request.erased_ids
        )
        request.counts["resolved_again"] = len(result.scope)
        request.counts["members_changed"] = len({m for c in result.changes for m in c.member_ids})
        # Other people's records, and IDs of hers: kept no longer than needed.
        request.resolve_again, request.erased_ids = [], []

    async def _feed(self, request: PrivacyRequest, subject: Subject | None) -> None:
        ids = subject.member_ids if subject is not None else (request.member_id,)
        touched: tuple[str, ...] = subject.touched if subject is not None else ()
        if subject is None and request.kind == "erase_records":  # a retry, her records gone
            live = await self.gateway.identity.store.resolve_member_id(request.member_id)
            ids, touched = ((), (live,)) if live is not None else (ids, ())
        said = f"privacy request {request.id}"
        # (A narrowed request erases no member, unless her records were all it held.)
        entries = (
            [FeedEntry(ChangeKind.ERASED, ids, actor=request.actor, reason=said)] if ids else []
        )
        # Members that lost a record of hers they held (measured and cached anew), and those
        # carrying an identifier of hers now suppressed (an agent typed it on their call):
        # each told alone, naming no request, so no subscriber reads who stood beside her.
        carriers = await self._carriers(subject, request) if subject is not None else ()
        entries += [FeedEntry(ChangeKind.LINKED, (m,), actor=request.actor) for m in touched]
        entries += [FeedEntry(ChangeKind.SUPPRESSED, (m,), actor=request.actor) for m in carriers]
        # A source read over an API is erased by whoever runs it: asked here, once the
        # identity store no longer holds the person (that erasure clears their feed entries).
        entries += [
            FeedEntry(
                ChangeKind.DELETION_REQUESTED,
                member,
                actor=request.actor,
                source=source,
                line_id=line,
                reason=said,
            )
            for source in request.forwarded
            for member, line in request.asked_of(
                source, subject.refs if subject is not None else ()
            )
        ]
        await self.gateway.identity.store.append_feed(entries)
        request.only = []  # her records' keys: kept no longer than needed
        if self.gateway.feed is not None:
            await self.gateway.feed.catch_up()  # caches here drop them before we answer

    async def _carriers(self, subject: Subject, request: PrivacyRequest) -> tuple[str, ...]:
        if request.steps.get("suppress") == "skipped":
            return ()
        store, erased = self.gateway.identity.store, set(subject.member_ids)
        found: set[str] = set()
        for kind, key in subject.suppress:
            found.update(await store.find_members(kind, key))
        return tuple(sorted(found - erased))

    async def _scrub(self, request: PrivacyRequest, subject: Subject | None) -> None:
        # A retry after her identity went (a process killed before its scrub) no longer
        # knows her values to look for: the file is rewritten rather than left unchecked.
        said = await self.privacy.store.scrub(subject.traces if subject is not None else None)
        if said.get("vacuumed"):
            request.counts["rewritten"] = request.counts.get("rewritten", 0) + 1
        if said.get("checkpointed") is False:
            raise RuntimeError("the WAL could not be checkpointed (readers kept it busy)")


async def erasure_of(gateway: Gateway) -> ErasureService:
    """The gateway's erasure service (one per process: it runs one request at a time)."""
    privacy = await privacy_of(gateway)
    if privacy.erasure is None:
        privacy.erasure = ErasureService(gateway, privacy, gateway.folder)
    return privacy.erasure

"""The per-request context: the gateway's shared parts and this request's DataLoaders.

Loaders are created per request so a cached answer never outlives the request that asked:
a purchase ingested a moment ago is in the next query.
"""

from __future__ import annotations

import time
from asyncio import Future, gather
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import BaseModel
from strawberry.dataloader import AbstractCache, DataLoader

from membergraph.connectors.base import Connector
from membergraph.connectors.models import SourceName
from membergraph.gateway_parts import Gateway
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.placeholders import CONTACT_KINDS, revealed_placeholders
from membergraph.identity.records import RecordKey
from membergraph.identity.store.port import IdentityEvent, MemberParts
from membergraph.identity.value_tags import value_tag
from membergraph.identity.values import ValueKey
from membergraph.insights.consent import ConsentFact
from membergraph.privacy import privacy_of
from membergraph.privacy.audit import PiiReads

if TYPE_CHECKING:
    from membergraph.identity.store.metrics_port import ScoredRow

__all__ = ["Loaders", "Reads", "RequestContext", "load_many"]

K = TypeVar("K")
T = TypeVar("T")


class _Futures(dict[K, "Future[T]"], AbstractCache[K, T]):
    """A loader's futures by key, got and set by the dict's own methods: Strawberry's
    default cache passes each key through an identity function on every get and set, two
    Python calls each (a profile miss asks its loaders about 35 times)."""

    # (Typed as the dict's, not the base class's methods: the same signatures, in C.)
    set = dict.__setitem__  # type: ignore[assignment]
    delete = dict.__delitem__  # type: ignore[assignment]


def _loader(
    load_fn: Callable[[Sequence[K]], Awaitable[Sequence[T | BaseException]]],
) -> DataLoader[K, T]:
    return DataLoader(load_fn, cache_map=_Futures())


async def _consent_facts(gateway: Gateway, refs: Sequence[RecordKey]) -> list[list[ConsentFact]]:
    return await (await privacy_of(gateway)).store.consent_facts(list(refs))


async def _assignments(gateway: Gateway, refs: Sequence[RecordKey]) -> list[str | None]:
    found = await gateway.identity.store.assignments(refs)
    return [found.get(ref) for ref in refs]


async def _kept_apart(gateway: Gateway, refs: Sequence[RecordKey]) -> list[list[RecordKey]]:
    found: dict[RecordKey, set[RecordKey]] = {ref: set() for ref in refs}
    for a, b in await gateway.identity.store.cannot_links(refs, lifted=True):
        for one, other in ((a, b), (b, a)):
            if one in found:
                found[one].add(other)
    return [sorted(found[ref]) for ref in refs]


async def _placeholders(gateway: Gateway, values: Sequence[ValueKey]) -> list[bool]:
    identity = gateway.identity
    revealed = await revealed_placeholders(identity.store, identity.rules, values)
    return [v in revealed or identity.rules.is_junk(*v) for v in values]


class Loaders:
    """One DataLoader per backend lookup, batched per request."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        store = gateway.identity.store
        # Records and identifiers in one read: a member's fields ask for both at once.
        self._unweighed = unweighed = _Unweighed()
        self.member_parts: DataLoader[str, MemberParts] = _loader(
            partial(_member_parts, unweighed, store.member_parts)
        )
        # Whether an e-mail or phone identifies no one (listed, or revealed by the data).
        self.placeholder: DataLoader[ValueKey, bool] = _loader(partial(_placeholders, gateway))
        # (The lines loaders share a holder, not the loaders: no cycle for the collector.)
        self._beside = beside = _Beside()
        self._sources = gateway.sources
        self.lines: dict[SourceName, DataLoader[str, list[BaseModel]]] = {
            name: _loader(partial(_lines, beside, connector))
            for name, connector in gateway.sources.items()
        }

    # Made at their first use (then a plain attribute): a profile, the most asked document,
    # reads neither history, consents nor scores.
    @cached_property
    def member_events(self) -> DataLoader[str, list[IdentityEvent]]:
        return _loader(self._gateway.identity.store.member_events)

    @cached_property
    def record_member(self) -> DataLoader[RecordKey, str | None]:
        """The member each record belongs to now (None: none)."""
        return _loader(partial(_assignments, self._gateway))

    @cached_property
    def kept_apart(self) -> DataLoader[RecordKey, list[RecordKey]]:
        """The records a cannot-link kept each record apart from, lifted ones too (a
        rejection undone is still in the histories)."""
        return _loader(partial(_kept_apart, self._gateway))

    @cached_property
    def consent_facts(self) -> DataLoader[RecordKey, list[ConsentFact]]:
        return _loader(partial(_consent_facts, self._gateway))

    @cached_property
    def scored(self) -> DataLoader[str, ScoredRow | None] | None:
        scores = self._gateway.scores
        return _loader(scores.scored_rows) if scores else None

    def placeholder_flags(self, values: Sequence[ValueKey]) -> Awaitable[list[bool]]:
        """Whether each of ``values`` identifies no one. The first ask after a read of
        members' parts asks for every contact value those parts hold: each member's fields
        reach this a different number of turns after their parts arrive, and would otherwise
        split the carriers' read into as many batches (seen 1 to 6 for 20 members)."""
        parts, self._unweighed.parts = self._unweighed.parts, []
        loader = self.placeholder
        for part in parts:
            for _, ident in part.identifiers:
                if ident.kind in CONTACT_KINDS:
                    # Asked ahead, answered to whoever asks; a failed read is raised to them.
                    asked = cast("Future[bool]", loader.load((ident.kind, ident.key)))
                    asked.add_done_callback(_retrieved)
        return load_many(loader, values)

    def drop_cancelled_batches(self) -> None:
        """Let the next load of each loader start a batch of its own where an abandoned
        attempt (a plan that stopped, its tasks cancelled) left one whose every future was
        cancelled before its dispatch began: Strawberry's DataLoader then cancels the batch's
        dispatch but keeps handing the batch out, not dispatched, to later loads, whose
        futures would never be answered."""
        for loader in (*vars(self).values(), *self.lines.values()):
            batch = getattr(loader, "batch", None) if isinstance(loader, DataLoader) else None
            if batch is None or batch.dispatched:
                continue
            if all(task.future.cancelled() for task in batch.tasks):
                loader.batch = None

    def held_lines(self, source: SourceName, keys: Sequence[str]) -> list[list[Any]] | None:
        """The lines of ``keys`` from what the store read beside the lookup, without a loader
        batch (a future, a task and a turn of the event loop per source and ask): parsed
        here once, and kept in the source's loader for every later ask of the request.
        None: not all held, or a key asked of the loader and not answered yet (the loader
        answers it). Keys answered already (held here by an earlier ask: a lookup's check)
        are answered from the loader's futures, without a turn of the event loop."""
        found, loader = self._beside.found, self.lines.get(source)
        if found is None or loader is None:
            return None
        asked = loader.cache_map
        if any(asked.get(key) is not None for key in keys):
            futures = [asked.get(key) for key in keys]
            if all(
                f is not None and f.done() and not f.cancelled() and f.exception() is None
                for f in futures
            ):
                return [f.result() for f in futures]  # type: ignore[union-attr]
            return None
        held = self._sources[source].held_lines(found, keys)
        if held is not None:
            loader.prime_many(dict(zip(keys, held, strict=True)))
        return held

    def hold_beside_lookup(self, found: object) -> None:
        """What the store read beside a member's lookup (its lines, where the sources share
        the store's file): the lines loaders answer from it before asking a source."""
        self._beside.found = found


@dataclass(slots=True)
class _Unweighed:
    parts: list[MemberParts] = field(default_factory=list)


def load_many(loader: DataLoader[K, T], keys: Sequence[K]) -> Awaitable[list[T]]:
    """``loader.load_many(keys)`` without a turn of the event loop when every key is
    answered already (primed, or loaded earlier in the request): asyncio's gather waits
    a turn for done futures too. Fails as the gather would: with the first key's failure."""
    futures = [cast("Future[T]", loader.load(key)) for key in keys]
    if all(f.done() and not f.cancelled() for f in futures):
        return _answers(futures)
    return gather(*futures)


async def _answers(futures: list[Future[T]]) -> list[T]:
    failures = [f.exception() for f in futures]  # each retrieved, as a gather retrieves them
    for failure in failures:
        if failure is not None:
            raise failure
    return [f.result() for f in futures]


def _retrieved(future: Future[Any]) -> None:
    if not future.cancelled():
        future.exception()  # retrieved here: no "never retrieved" warning for a key asked ahead


async def _member_parts(
    unweighed: _Unweighed,
    read: Callable[[Sequence[str]], Awaitable[list[MemberParts]]],
    member_ids: Sequence[str],
) -> list[MemberParts]:
    parts = await read(member_ids)
    unweighed.parts.extend(parts)
    return parts


@dataclass(slots=True)
class _Beside:
    found: object = None


async def _lines(
    beside: _Beside, connector: Connector[Any], keys: Sequence[str]
) -> Sequence[list[Any] | Exception]:
    if beside.found is not None:
        held = connector.held_lines(beside.found, keys)
        if held is not None:
            return held
    return await connector.load_many(keys)


@dataclass(slots=True)
class Reads:
    """Which members a request's answer read, and which lookup values it resolved
    (:meth:`value`), for the response cache to tag it with; and
    whether it read something no member names (a lookup that found nobody: the member who
    later carries that e-mail is not one it read), which makes it not worth keeping."""

    members: set[str] = field(default_factory=set)
    untagged: bool = False
    at: float | None = None
    """The request's instant (Unix time): what its figures are as of when no reference date
    is set (read at the first ask when the cache did not set it)."""
    until: float | None = None
    """The first instant (Unix time) at which the answer stops being true with no change
    to what it read (:meth:`changes_at`); None: never by the clock."""

    def member(self, *member_ids: str) -> None:
        self.members.update(member_ids)

    def value(self, kind: IdentifierKind, key: str) -> None:
        """The answer found whom an identifier value finds: a change that moves the value's
        owner drops it (:mod:`membergraph.identity.value_tags`), beside changes to whom it
        found."""
        self.members.add(value_tag(kind, key))

    def nobody(self) -> None:
        self.untagged = True

    def now(self) -> datetime:
        """The request's instant, the same for every resolver of the request."""
        if self.at is None:
            self.at = time.time()
        return datetime.fromtimestamp(self.at, UTC)

    def changes_at(self, moment: datetime | None) -> None:
        """A field's answer, true as of :meth:`now`, stops being true at ``moment`` (a
        purchase leaving a window, an offer expiring): the answer is kept no later (the
        earliest of every field's wins). None: this field's never by the clock."""
        if moment is not None:
            said = moment.timestamp()
            if self.until is None or said < self.until:
                self.until = said


@dataclass
class RequestContext:
    """``info.context`` in every resolver."""

    gateway: Gateway
    loaders: Loaders
    request: Any = None
    response: Any = None
    pii_reads: PiiReads = field(default_factory=PiiReads)
    """Personal data answered unmasked, by member: written to the audit after the answer."""
    reads: Reads = field(default_factory=Reads)
    """The members the answer read, for the response cache to tag it with."""
    line_records: dict[int, RecordKey] = field(default_factory=dict)
    """The record each source line read belongs to (by the line object's id), filled only
    when a line's ``record`` is asked (:meth:`record_of`)."""

    def record_of(self, source: SourceName, line: object) -> RecordKey | None:
        """The record a line this request read belongs to: the key its source's loader was
        asked for it (the store's word, after every rule that moved a line: a card's e-mail
        order is the card's). A client cannot tell it from the line's own fields, which hold
        the values as the source wrote them. None: the line was not read for a record."""
        found = self.line_records.get(id(line))
        loader = self.loaders.lines.get(source)
        if found is None and loader is not None:
            for key, future in cast("dict[str, Future[list[Any]]]", loader.cache_map).items():
                if future.done() and not future.cancelled() and future.exception() is None:
                    for read in future.result():
                        self.line_records[id(read)] = (source.value, key)
            found = self.line_records.get(id(line))
        return found

    @classmethod
    def for_request(
        cls, gateway: Gateway, request: Any = None, response: Any = None, reads: Reads | None = None
    ) -> RequestContext:
        return cls(
            gateway=gateway,
            loaders=Loaders(gateway),
            request=request,
            response=response,
            pii_reads=PiiReads.for_request(request),
            reads=reads or Reads(),
        )

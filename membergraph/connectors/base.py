"""The connector contract: one async batch method, keys in, one result per key out.

Error tree::

    ConnectorError          a source failed for a key or a whole batch
    ├── SourceTimeout       the source did not answer within its timeout
    ├── SourceUnavailable   the source could not be reached or answered garbage
    └── ReadOnlySource      the source's backend does not take pushed lines

A backend fills in :meth:`Connector._load_many`; the base class's final :meth:`load_many`
owns the shared work: counting calls, the timeout, and mapping foreign errors to ours.
:class:`SourceConnector` is what the gateway reads a source through: besides lookups it can
list every line (for batch identity resolution) and, if its backend allows, take new ones.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar, final

from pydantic import BaseModel

from membergraph.connectors.lines import NOBODY, Held, LoadReport, Owner, Ownership
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import Taken

if TYPE_CHECKING:
    from membergraph.connectors.sources import SourceSpec

Mark = Callable[[BaseModel, Taken], str | None]
"""What :meth:`SourceConnector.append` keeps beside a stored line until the push settles it."""


@dataclass(frozen=True, slots=True)
class Guard:
    """What pushed lines are checked against as they are written: each line's suppression
    digests (in order), and ``held(digests)``, those of them suppressed now."""

    digests: Sequence[frozenset[str]]
    held: Callable[[set[str]], Awaitable[set[str]]]

    def carried(self) -> set[str]:
        return set().union(*self.digests)

    def refused(self, held: set[str]) -> set[int]:
        """The positions of the lines carrying one of ``held``."""
        return {n for n, carried in enumerate(self.digests) if carried & held}


__all__ = [
    "Connector",
    "Guard",
    "Mark",
    "ConnectorError",
    "FakeConnector",
    "LinesInFlight",
    "ReadOnlySource",
    "SourceConnector",
    "SourceLocked",
    "SourceTimeout",
    "SourceUnavailable",
]

logger = logging.getLogger(__name__)
Line = TypeVar("Line", bound=BaseModel)


class ConnectorError(RuntimeError):
    """A source failed; the message names the source and the reason."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"source {source}: {reason}")
        self.source = source
        self.reason = reason


class SourceTimeout(ConnectorError):
    """The source did not answer in time."""


class SourceUnavailable(ConnectorError):
    """The source could not be reached or answered something unreadable."""


class SourceLocked(SourceUnavailable):
    """The source's table is in the store's file, and another connection held that file's
    write lock for as long as the write could wait: nothing of it was written. The store is
    what is unavailable (a push answers ``STORE_UNAVAILABLE``): send the same lines again."""


class LinesInFlight(SourceUnavailable):
    """Lines another push stored and marked and has not finished within the timeout: its
    process died or stalls (``line_ids`` names them). Whoever pushes them may finish them
    (:meth:`SourceConnector.unsettled`) and push again."""

    def __init__(self, source: str, line_ids: set[str]) -> None:
        super().__init__(source, f"{len(line_ids)} line(s) held by a push that did not finish")
        self.line_ids = frozenset(line_ids)


class ReadOnlySource(ConnectorError):
    """The source's backend is read-only here (an HTTP API we only query)."""


class Connector(abc.ABC, Generic[Line]):
    """Reads one source's lines, grouped by the record they belong to.

    Subclasses implement :meth:`_load_many`. Example::

        async with FakeConnector(SourceName.CRM, lambda keys: [[] for _ in keys]) as crm:
            assert await crm.load_many(["C1"]) == [[]]
    """

    def __init__(
        self,
        source: SourceName,
        timeout: float = 5.0,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
    ) -> None:
        self.source = source
        self.timeout = timeout
        self.calls = 0  # batch calls made, for tests and /metrics
        # Circuit breaker: after this many failed batches in a row, answer at once for
        # ``cooldown`` seconds instead of adding a dead source's timeout to every request.
        # Ours, not pybreaker (synchronous; its async support is Tornado's), aiobreaker (no
        # release since 2021) or purgatory (state in its own store, apart from what /readyz
        # and /metrics read): a few lines around the batch call this class already times,
        # counts and reports, with the half-open state's single trial call.
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.failures = 0
        self.open_until = 0.0
        self.probing = False  # a half-open circuit's one trial call is in flight
        # Told of every batch call: (source, seconds, outcome), for the metrics.
        self.observe: Callable[[str, float, str], None] | None = None

    @property
    def circuit(self) -> str:
        """``closed`` (calls go through), ``open`` (failing fast for ``cooldown`` seconds after
        ``failure_threshold`` failed batches in a row) or ``half_open`` (the cooldown is over:
        one trial call goes through while others still fail fast; its success closes the
        circuit, its failure opens it again)."""
        if self.failures < self.failure_threshold:
            return "closed"
        return "open" if time.monotonic() < self.open_until else "half_open"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Release what the backend holds (connections, files)."""

    @final
    async def load_many(self, keys: Sequence[str]) -> list[list[Line] | ConnectorError]:
        """The lines of each record key, in key order; a failing key gets its error."""
        return await self._guarded(self._load_many, keys)

    @final
    async def load_light(self, keys: Sequence[str]) -> list[list[Any] | ConnectorError]:
        """As :meth:`load_many`, for readers that only read the lines' fields (a batch of
        members measured whole): each line may be a lighter read-only object with the
        model's fields and values (what
        :func:`~membergraph.connectors.fastlines.fast_decoder` reads) instead of the model."""
        return await self._guarded(self._load_light, keys)

    def held_lines(self, held: object, keys: Sequence[str]) -> list[list[Line]] | None:
        """The lines of each key from what was read beside the member's lookup (``held``:
        :meth:`~membergraph.connectors.sqlite.SqliteLines.beside_lookup`), when it has
        them all; None: ask the source (:meth:`load_many`)."""
        return None

    async def _guarded(
        self, load: Callable[[Sequence[str]], Awaitable[Sequence[Any]]], keys: Sequence[str]
    ) -> list[Any]:
        circuit = self.circuit
        if circuit == "open" or (circuit == "half_open" and self.probing):
            error = SourceUnavailable(self.source, "circuit open after repeated failures")
            self._observe(0.0, "refused")
            return [error] * len(keys)
        self.calls += 1
        self.probing = circuit == "half_open"
        failure: ConnectorError | None = None
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout):
                results = await load(keys)
        except ConnectorError as exc:
            failure = exc
        except TimeoutError:
            failure = SourceTimeout(self.source, f"no answer within {self.timeout:g} s")
        except Exception as exc:
            # Anything else a backend raises is a source failure, never a crash of the query.
            logger.warning("source %s failed: %r", self.source, exc)
            failure = SourceUnavailable(self.source, type(exc).__name__)
        else:
            if len(results) != len(keys):
                failure = SourceUnavailable(self.source, "answered a different number of results")
        finally:
            self.probing = False
        outcome = (
            "ok"
            if failure is None
            else "timeout"
            if isinstance(failure, SourceTimeout)
            else "error"
        )
        self._observe(time.perf_counter() - started, outcome)
        if failure is not None:
            self.failures += 1
            if self.failures >= self.failure_threshold:
                self.open_until = time.monotonic() + self.cooldown
                logger.warning("source %s: circuit open for %g s", self.source, self.cooldown)
            return [failure] * len(keys)
        self.failures = 0
        return [
            r
            if not isinstance(r, Exception) or isinstance(r, ConnectorError)
            else SourceUnavailable(self.source, type(r).__name__)
            for r in results
        ]

    def _observe(self, seconds: float, outcome: str) -> None:
        if self.observe is not None:
            self.observe(self.source.value, seconds, outcome)

    @abc.abstractmethod
    async def _load_many(self, keys: Sequence[str]) -> Sequence[list[Line] | Exception]:
        """Fetch the lines of each key, one entry per key, in order."""

    async def _load_light(self, keys: Sequence[str]) -> Sequence[list[Any] | Exception]:
        """:meth:`_load_many`, unless the backend has a cheaper read of the same fields."""
        return await self._load_many(keys)


class SourceConnector(Connector[BaseModel]):
    """A source kind over one backend: lookups by record key, a full listing, appends.

    ``owner`` maps a line to the key of the record it belongs to; ``report`` counts what
    listing the source found, malformed lines included.
    """

    def __init__(self, spec: SourceSpec, owner: Owner, timeout: float = 5.0) -> None:
        super().__init__(spec.name, timeout)
        self.spec = spec
        self.owner = owner
        self.report = LoadReport()

    takes_pushes = True  # whether :meth:`append` stores lines (``POST /ingest``)

    def line_id(self, line: BaseModel) -> str:
        return str(getattr(line, self.spec.id_field))

    @abc.abstractmethod
    def scan(self) -> AsyncIterator[BaseModel]:
        """Every current line (the latest version of each id); fills :attr:`report`."""

    checks_suppressions = False
    """Whether :meth:`append` refuses, in the write itself, a line its ``guard`` says carries a
    suppressed identifier. Where it cannot (MongoDB: the suppressions live in another
    collection, no transaction reads both serializably), the push checks right after the write
    and :meth:`withdraw` s what it wrote."""

    async def append(
        self, lines: Sequence[BaseModel], mark: Mark | None = None, guard: Guard | None = None
    ) -> list[Taken]:
        """Store pushed lines; answer per line what :meth:`sort_out` decided.

        ``mark(line, verdict)`` gives each line taken (created, updated, or held already and
        sent again) a mark, written with the line itself (in the same transaction, or the same
        document): the push is not done with it until :meth:`settle` drops the mark, and
        :meth:`unsettled` lists the lines of pushes a crash cut short, and of pushes still on
        their way (an erasure waits for those). ``guard``: see :attr:`checks_suppressions`
        (a line refused is answered ``suppressed`` and neither stored nor marked).
        """
        raise ReadOnlySource(self.source, "its backend does not take pushed lines")

    async def withdraw(self, taken: Sequence[tuple[BaseModel, Taken]]) -> None:
        """Undo what :meth:`append` wrote for these lines (found suppressed right after it):
        a line it inserted goes, one it replaced gets its previous version back (unmarked),
        unless another push wrote the line since (its mark is not this one's)."""

    def pushing(self) -> contextlib.AbstractAsyncContextManager[None]:
        """Held by a push from storing its lines until their feed entries are appended: a
        backend that processes share serializes their pushes here, so the feed's cursor
        order is the order the lines were committed in. Nothing to hold by default."""
        return contextlib.nullcontext()

    async def abandoned(self) -> list[tuple[BaseModel, str]]:
        """Inside :meth:`pushing`: the marked lines no push is finishing (their push failed
        or its process died). Only a backend whose pushes are one at a time across processes
        can tell them from another process's push in flight; the others answer none (each
        process finishes its own, and a start finishes what is left)."""
        return []

    async def unsettled(self) -> list[tuple[BaseModel, str]]:
        """The lines still marked (see :meth:`append`), each as stored now, with its mark."""
        return []

    async def may_be_abandoned(self) -> bool:
        """Whether :meth:`abandoned` may find a line, read without :meth:`pushing` (cheap: a
        process asks every second). None can where :meth:`abandoned` finds none."""
        return False

    async def settle(self, marks: Sequence[tuple[str, str]]) -> None:
        """Drop the marks ``(line id, mark)``; a line marked again since keeps its new mark."""

    def sort_out(
        self, lines: Sequence[BaseModel], stored: Mapping[str, object], mark: Mark | None = None
    ) -> tuple[list[Taken], list[tuple[BaseModel, str]]]:
        """What appending ``lines`` does: each line's verdict against ``stored`` (line id to
        the stored line) or an earlier line of the same batch, by the source's
        :class:`~membergraph.connectors.sources.Ordering` (``created``, ``updated``,
        ``unchanged``, ``stale`` or, for an immutable line with other content, ``rejected``),
        and the lines to store with their owners, in order. Each line taken (to store, or held
        already and sent again) gets its ``mark(line, verdict)`` as :attr:`Taken.mark`: a
        backend calls this inside the write that stores them, so the mark says what that
        write decided.

        Raises:
            ValueError: a line names no owner (``parse_line`` refuses those first); nothing
                is stored then.
        """
        verdicts: list[Taken] = []
        changed: dict[str, tuple[BaseModel, str]] = {}
        latest: dict[str, object] = {}
        order = self.spec.order
        for line in lines:
            owner = self.owner(line)
            if owner is None and isinstance(self.owner, Ownership) and self.owner.unowned(line):
                owner = NOBODY  # a good line that identifies no one: kept, nobody's
            if owner is None:
                raise ValueError(f"{self.line_id(line)}: the line names no owner")
            line_id = self.line_id(line)
            held = latest.get(line_id, stored.get(line_id))
            taken = Taken(order.verdict(held, line), held)
            if taken in ("created", "updated"):
                latest[line_id] = line
                changed[line_id] = (line, owner)
            if taken in ("created", "updated", "unchanged"):
                # A line sent again is marked too: its push applies it to identity again.
                taken.mark = mark(line, taken) if mark is not None else None
            verdicts.append(taken)
        return verdicts, list(changed.values())

    def marks(self, lines: Sequence[BaseModel], verdicts: Sequence[Taken]) -> dict[str, str]:
        """Each taken line's mark (:meth:`append`), by line id: the last version's."""
        return {
            self.line_id(line): verdict.mark
            for line, verdict in zip(lines, verdicts, strict=True)
            if verdict.mark is not None
        }

    def size(self) -> int | None:
        """How many lines the source holds, if known without asking it."""
        return None

    async def held(self) -> Held | None:
        """The backend's own figures, the same for every process (``/readyz``: cheap, a load
        balancer polls it); None: this process's :meth:`size` and :attr:`report` only."""
        return None


class FakeConnector(Connector[Any]):
    """A connector driven by a plain function, for tests and experiments.

    The handler takes the keys and returns one list of lines (or an exception) per key; it
    may be a coroutine function, to simulate a slow source.
    """

    def __init__(
        self,
        source: SourceName,
        handler: Callable[[Sequence[str]], Any],
        timeout: float = 5.0,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
    ) -> None:
        super().__init__(source, timeout, failure_threshold, cooldown)
        self.handler = handler

    async def _load_many(self, keys: Sequence[str]) -> Sequence[list[Any] | Exception]:
        result = self.handler(keys)
        if asyncio.iscoroutine(result):
            result = await result
        return list(result)

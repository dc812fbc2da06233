"""What a push answers (:mod:`membergraph.ingest`): an entry per line, the refusal of a whole
push, and the shares a push's work on the event loop is cut into."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel

from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import SOURCES, Taken
from membergraph.identity.records import RecordData
from membergraph.insights.currency import Currencies
from membergraph.left_out import left_out
from membergraph.privacy.gate import SUPPRESSED_ERROR
from membergraph.sqlite_room import out_of_room

__all__ = [
    "OUTCOMES",
    "STORE_LOCKED",
    "STORE_UNAVAILABLE",
    "TURN_LINES",
    "IngestRefused",
    "Pushed",
    "as_sent_warning",
    "entry_of",
    "for_want_of_room",
    "in_turns",
    "left_out",
    "log_as_sent",
    "turns",
    "unrated_currency",
]

logger = logging.getLogger(__name__)

T = TypeVar("T")
U = TypeVar("U")

OUTCOMES = ("created", "updated", "unchanged", "stale", "rejected", "unattributed", "suppressed")
"""What a push answers a line (its ``status``)."""

TURN_LINES = 200
"""Lines a push reads (or screens, or answers) between two turns it gives the event loop:
about 10 ms of work on a shared core, so other requests wait no longer than that."""


@dataclass(slots=True)
class Pushed:
    """What :meth:`IngestService.push` did: one entry per non-blank line, in order."""

    lines: list[dict[str, Any]]
    members_changed: list[str]
    as_sent: Counter[str] = field(default_factory=Counter)
    """Lines taken in a currency with no exchange rate, by currency: their amounts count in
    spend as sent (:func:`unrated_currency`)."""

    @property
    def rejected(self) -> int:
        return sum(1 for line in self.lines if line["status"] == "rejected")

    @property
    def suppressed(self) -> int:
        """Good lines refused for carrying a suppressed identifier: what was asked (an
        erasure, a suppression), not an error of the sender's."""
        return sum(1 for line in self.lines if line["status"] == "suppressed")

    @property
    def unattributed(self) -> int:
        """Good lines that identify no one, no error of the sender's: a placeholder their
        only identifier (not stored), or their record keyed by a value the data shows to be
        a placeholder (stored: ``kept``)."""
        return sum(1 for line in self.lines if line["status"] == "unattributed")


class IngestRefused(Exception):
    """The whole push was refused; ``status`` is its HTTP status, ``code`` what a client
    may branch on (``STORE_UNAVAILABLE``: send the same lines again)."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


OLDER = "older than the version held: nothing changed"
TIED = (
    "ordered as the version held (same updated_at, or status without one) with other content:"
    " the version whose content digest is greater is kept, whatever arrives first; nothing"
    " changed (to correct a line, send it with a newer updated_at)"
)
STORE_UNAVAILABLE = (
    "the store did not answer while completing the lines: they are stored and will be"
    " finished before the next push; send the same lines again (an ingest is idempotent:"
    " they answer unchanged)"
)

STORE_LOCKED = (
    "the store is locked by another connection (a load, a backup, an operator's transaction)"
    " for longer than a push waits: nothing was taken; send the same lines again"
)


STORE_FULL = (
    "the store's disk is full (or failing): {what}; make room on it, then send the same"
    " lines again (an ingest is idempotent)"
)


def for_want_of_room(refused: IngestRefused) -> IngestRefused:
    """A 503 whose cause is a disk that takes no more bytes as 507 ``STORE_FULL``: sending
    again does not help until an operator makes room, and a client (or its operator) is
    told so rather than "the store did not answer"."""
    if refused.status != 503 or out_of_room(refused.__cause__) is None:
        return refused
    taken = refused.code != "SOURCE_UNAVAILABLE" and "nothing was taken" not in str(refused)
    what = (
        "lines already stored are finished once it can be written again"
        if taken
        else "nothing was taken"
    )
    return IngestRefused(507, STORE_FULL.format(what=what), "STORE_FULL")


def turns(items: Sequence[T]) -> Iterator[Sequence[T]]:
    """``items`` :data:`TURN_LINES` at a time: the caller gives the loop a turn between two."""
    for start in range(0, len(items), TURN_LINES):
        yield items[start : start + TURN_LINES]


async def in_turns(items: Sequence[T], each: Callable[[Sequence[T]], Sequence[U]]) -> list[U]:
    """``each`` of ``items`` :data:`TURN_LINES` at a time, their answers joined in order; the
    event loop's turn after each share (the module doc)."""
    found: list[U] = []
    for chunk in turns(items):
        found += each(chunk)
        await asyncio.sleep(0)
    return found


def unrated_currency(
    source: SourceName, line: BaseModel, outcome: Taken, money: Currencies
) -> str | None:
    """The currency of a purchase line held whose amount counts in spend as sent, for want
    of an exchange rate (``MEMBERGRAPH_EXCHANGE_RATES``); None for any other line (one
    refused, suppressed, or older than the version held: it counts nothing)."""
    if source is not SourceName.TRANSACTIONS or outcome in ("rejected", "suppressed", "stale"):
        return None
    currency = str(getattr(line, "currency", money.counted_in))
    return None if money.rated(currency) else currency


def log_as_sent(lines: Iterable[tuple[SourceName, BaseModel]], money: Currencies) -> None:
    """One WARNING per currency with no exchange rate a load took purchases in (``lines``),
    with how many: their amounts count in spend as sent, which nothing else would tell."""
    found = Counter(
        str(getattr(line, "currency", ""))
        for source, line in lines
        if source is SourceName.TRANSACTIONS and not money.rated(str(getattr(line, "currency", "")))
    )
    for currency, n in sorted(found.items()):
        logger.warning(
            "transactions: %d line(s) in %s, which has no exchange rate"
            " (MEMBERGRAPH_EXCHANGE_RATES): their amounts count in spend as sent, as minor"
            " units of %s; set a rate for %s to count them converted",
            n,
            currency,
            money.counted_in,
            currency,
        )


def as_sent_warning(currency: str, amount: int, money: Currencies) -> str:
    """What a push answers of a line :func:`unrated_currency` names (its ``warnings``)."""
    return (
        f"currency: no exchange rate for {currency} (MEMBERGRAPH_EXCHANGE_RATES): amount_cents"
        f" {amount} counts in spend as sent, as {amount} minor units of {money.counted_in};"
        f" set a rate for {currency} to count it converted"
    )


def entry_of(  # noqa: PLR0913 (one entry's every part)
    id_field: str,
    source: SourceName,
    number: int,
    line: BaseModel,
    outcome: Taken,
    record: RecordData | None,
    region: str = "US",
    money: Currencies | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "line": number,
        "status": str(outcome),
        "id": str(getattr(line, id_field)),
    }
    if outcome == "suppressed":
        entry["error"] = SUPPRESSED_ERROR
    if outcome == "rejected":
        entry["error"] = outcome.error or SOURCES[source].taken_elsewhere(entry["id"])
    if outcome == "stale":
        entry["reason"] = TIED if SOURCES[source].order.tie(outcome.previous, line) else OLDER
    if record is not None:
        entry["record"] = {"source": record.source, "key": record.key}
    warnings = left_out(source, line, region) if outcome != "rejected" else []
    if money is not None and (currency := unrated_currency(source, line, outcome, money)):
        warnings.append(as_sent_warning(currency, getattr(line, "amount_cents", 0), money))
    if warnings:
        entry["warnings"] = warnings
    return entry

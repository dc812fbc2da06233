"""What a push says of each line it took: the change-feed kind the write decided, and the
mark it keeps beside the line until the push is done with it (:class:`Fact`).

A mark reads ``<push token>:<feed kind>:<age>``: ``new`` (created), ``newer`` (updated) or
``again`` (held already and sent again: applied to identity again, announced as when new if
no entry names it yet, which only a push a crash stopped can leave).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from membergraph.connectors.base import Mark
from membergraph.connectors.models import SourceName
from membergraph.connectors.sources import Taken
from membergraph.identity.feed import ChangeKind
from membergraph.identity.records import RecordData, record_of_line
from membergraph.insights.offers import line_offer_code

__all__ = ["Fact", "fact_kind", "marker"]


def fact_kind(source: SourceName, line: Any, previous: Any) -> ChangeKind:
    """What a taken line says to the change feed (``previous``: the version it replaced)."""
    offered = line_offer_code(line) is not None
    if source is SourceName.TRANSACTIONS:
        if previous is None:
            # A purchase that used an offer: every channel must learn it is used.
            return ChangeKind.OFFER_REDEEMED if offered else ChangeKind.PURCHASE_RECORDED
        if previous.status != line.status:
            return ChangeKind.PURCHASE_STATUS_CHANGED
        return ChangeKind.PURCHASE_UPDATED
    if source is SourceName.CRM:
        if previous is not None and previous.consents != line.consents:
            return ChangeKind.CONSENT_CHANGED
        return ChangeKind.PROFILE_UPDATED
    if source is SourceName.WEB_ANALYTICS:
        return ChangeKind.OFFER_REDEEMED if line.name == "Offer Redeemed" else ChangeKind.WEB_EVENT
    return ChangeKind.OFFER_REDEEMED if offered else ChangeKind.CALL


@dataclass(frozen=True, slots=True)
class Fact:
    """A line taken, on its way through identity and the feed.

    ``kind``: what the feed says of it, as the write that stored it decided (None: the line
    was held already, ``unchanged``, and says nothing new); ``once``: a line a crash may have
    left unannounced (new, or sent again), announced only if no entry names it yet;
    ``mark``: what the append marked it with, dropped once it is done.
    """

    line: BaseModel
    record: RecordData | None
    kind: ChangeKind | None
    once: bool
    mark: str | None

    @classmethod
    def taken(cls, line: BaseModel, outcome: Taken, record: RecordData | None) -> Fact:
        """A line this push took (created, updated or held already: the push that stored it
        announces it; this one applies it again, and settles its own mark)."""
        mark = outcome.mark
        kind = _kind_of(mark) if mark is not None and outcome != "unchanged" else None
        return cls(line, record, kind, False, mark)

    @classmethod
    def left(cls, source: SourceName, line: BaseModel, mark: str, region: str) -> Fact:
        """A line a stopped push marked: its kind and whether it may be unannounced (new, or
        sent again over a push that may have stopped), as the mark says."""
        once = mark.rsplit(":", 1)[1] in ("new", "again")
        return cls(line, record_of_line(source, line, region), _kind_of(mark), once, mark)


def _kind_of(mark: str) -> ChangeKind:
    return ChangeKind(mark.split(":")[1])


_AGES = {"created": "new", "unchanged": "again"}


def _mark_text(token: str, kind: ChangeKind, outcome: Taken) -> str:
    return f"{token}:{kind.value}:{_AGES.get(outcome, 'newer')}"


def marker(source: SourceName, token: str) -> Mark:
    """The marks one push writes with its lines (see :meth:`SourceConnector.append`); a line
    sent again is marked with the kind it was announced as when new."""
    return lambda line, outcome: _mark_text(
        token,
        fact_kind(source, line, None if outcome == "unchanged" else outcome.previous),
        outcome,
    )

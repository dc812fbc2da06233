"""What a push says of each line it took: the change-feed kind the write decided, and the
mark it keeps beside the line until the push is done with it (:class:`Fact`).

A mark reads ``<push token>:<feed kinds>:<age>@<feed head>``, the kinds joined by ``+`` (a CRM
line that changes a profile field and a consent is announced as both), the age ``new``
(created), ``newer`` (updated) or ``again`` (held already and sent again: applied to identity
again, and announced by no one, as when its push is not stopped: the push that stored it
announced it, or left its own mark, which a push finishes before it writes the line again),
and the feed's newest cursor when the line was marked: an entry naming the line
after it is the push's own, so a push stopped between its entries and dropping its marks is
not announced twice by the one that finishes it, an updated line included. (A mark without
the head, written before it was kept, is announced again if updated.)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from membergraph.connectors.base import Mark, SourceConnector
from membergraph.connectors.models import CONSENT_EVENTS, SourceName
from membergraph.connectors.sources import Taken
from membergraph.identity.feed import ChangeKind, FeedEntry
from membergraph.identity.line_records import record_of_line
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.service import retrying
from membergraph.identity.store.port import IdentityStore
from membergraph.identity.value_tags import record_tags
from membergraph.insights.offers import line_offer_code
from membergraph.insights.window import is_purchase

__all__ = ["Fact", "announce", "fact_kinds", "marker", "settle"]

Kinds = tuple[ChangeKind, ...]

# What a new version of a contact carries whatever changed: not a profile change of its own.
_NOT_PROFILE = frozenset(("consents", "updated_at"))


def fact_kinds(source: SourceName, line: Any, previous: Any) -> Kinds:
    """What a taken line says to the change feed (``previous``: the version it replaced):
    one kind, or two where a line is two facts, so a subscriber that acts on either kind
    hears it: a CRM version that changes a profile field and a consent; a new purchase or a
    call that redeems an offer (``PURCHASE_RECORDED`` or ``CALL``, then ``OFFER_REDEEMED``),
    and an ``Offer Redeemed`` web event (``WEB_EVENT``, then ``OFFER_REDEEMED``).
    No line says ``TIER_CHANGED``: a tier is reached by spend, and the scores' keeper
    announces it when a member's figures move it (``scores.py``)."""
    # A purchase or call that used an offer: every channel must learn it is used, and what
    # follows purchases (points, receipts) or calls must still hear of it as one.
    offered = (ChangeKind.OFFER_REDEEMED,) if line_offer_code(line) is not None else ()
    if source is SourceName.TRANSACTIONS:
        if previous is None:
            # A refunded or cancelled line redeems nothing (as the offers ledger reads it).
            return (ChangeKind.PURCHASE_RECORDED, *(offered if is_purchase(line) else ()))
        if previous.status != line.status:
            return (ChangeKind.PURCHASE_STATUS_CHANGED,)
        return (ChangeKind.PURCHASE_UPDATED,)
    if source is SourceName.CRM:
        if previous is None or previous.consents == line.consents:
            return (ChangeKind.PROFILE_UPDATED,)
        fields = type(line).model_fields.keys() - _NOT_PROFILE
        if any(getattr(previous, name) != getattr(line, name) for name in fields):
            return (ChangeKind.PROFILE_UPDATED, ChangeKind.CONSENT_CHANGED)
        return (ChangeKind.CONSENT_CHANGED,)
    if source is SourceName.WEB_ANALYTICS:
        if line.name in CONSENT_EVENTS:
            # An opt-out on the site (the commonest): a web event, and a consent choice that
            # a subscriber acting on consents must hear of (the member's consents are read
            # again: ``consents`` orders every source's choices).
            return (ChangeKind.WEB_EVENT, ChangeKind.CONSENT_CHANGED)
        if line.name == "Offer Redeemed":
            # A web event like any (activity, recency), and an offer every channel must
            # stop reminding of.
            return (ChangeKind.WEB_EVENT, ChangeKind.OFFER_REDEEMED)
        return (ChangeKind.WEB_EVENT,)
    return (ChangeKind.CALL, *offered)


@dataclass(frozen=True, slots=True)
class Fact:
    """A line taken, on its way through identity and the feed.

    ``kinds``: what the feed says of it, as the write that stored it decided (none: the line
    was held already, ``unchanged``, and says nothing new); ``once``: a line a crash may have
    left unannounced, announced only if no entry after cursor ``after`` names it yet;
    ``mark``: what the append marked it with, dropped once it is done.
    """

    line: BaseModel
    record: RecordData | None
    kinds: Kinds
    once: bool
    mark: str | None
    after: int = 0

    @classmethod
    def taken(cls, line: BaseModel, outcome: Taken, record: RecordData | None) -> Fact:
        """A line this push took (created, updated or held already: the push that stored it
        announces it; this one applies it again, and settles its own mark)."""
        mark = outcome.mark
        kinds = _kinds_of(mark) if mark is not None and outcome != "unchanged" else ()
        return cls(line, record, kinds, False, mark)

    @classmethod
    def left(cls, source: SourceName, line: BaseModel, mark: str, region: str) -> Fact:
        """A line a stopped push marked: its kind and whether it may be announced already
        (by the push that stopped, after the feed head its mark names; a line new or sent
        again by any push), as the mark says."""
        age, _, head = mark.rsplit(":", 1)[1].partition("@")
        once = bool(head) or age == "new"
        record = record_of_line(source, line, region)
        # A line sent again changed nothing: announced, it would tell every subscriber of a
        # change that never was (a stopped load of a nightly export: a page of them).
        kinds = () if age == "again" else _kinds_of(mark)
        return cls(line, record, kinds, once, mark, int(head) if head else 0)


def _kinds_of(mark: str) -> Kinds:
    return tuple(ChangeKind(kind) for kind in mark.split(":")[1].split("+"))


_AGES = {"created": "new", "unchanged": "again"}


def _mark_text(token: str, kinds: Kinds, outcome: Taken, head: int) -> str:
    said = "+".join(kind.value for kind in kinds)
    return f"{token}:{said}:{_AGES.get(outcome, 'newer')}@{head}"


def marker(source: SourceName, token: str, head: int, again: bool = True) -> Mark:
    """The marks one push writes with its lines (see :meth:`SourceConnector.append`), ``head``
    the feed's newest cursor before them; a line sent again is marked with the kind it was
    announced as when new, unless ``again`` is False (a folder's load: a line it holds
    already says nothing and is not applied again).
    """

    def mark(line: BaseModel, outcome: Taken) -> str | None:
        if outcome == "unchanged" and not again:
            return None
        previous = None if outcome == "unchanged" else outcome.previous
        return _mark_text(token, fact_kinds(source, line, previous), outcome, head)

    return mark


async def announce(
    store: IdentityStore,
    source: SourceName,
    connector: SourceConnector,
    facts: Sequence[Fact],
    members: Mapping[RecordKey, str],
) -> None:
    """The change feed's entries for the lines stored, of the kinds the writes that stored
    them decided; a line a crash may have left announced gets one only if none names it
    since it was marked. ``members``: of their records."""
    facts = [f for f in facts if f.record is not None and f.kinds]
    fed: set[tuple[int, str]] = set()
    for after in sorted({f.after for f in facts if f.once}):
        ids = [connector.line_id(f.line) for f in facts if f.once and f.after == after]
        fed.update((after, i) for i in await store.fed_lines(source.value, ids, after))
    if fed:
        facts = [f for f in facts if not f.once or (f.after, connector.line_id(f.line)) not in fed]
    entries = [
        FeedEntry(
            kind,
            (members[f.record.ref],) if f.record.ref in members else (),
            source=source.value,
            line_id=connector.line_id(f.line),
            # The line's values may find its member now, not whom they found before (a
            # contact taking a family e-mail): a cached lookup by one is dropped by these.
            value_tags=record_tags([f.record]),
        )
        for f in facts
        if f.record is not None
        for kind in f.kinds
    ]
    if entries:
        await retrying(lambda: store.append_feed(entries))


async def settle(connector: SourceConnector, facts: Sequence[Fact]) -> None:
    """Drop the marks of the lines ``facts`` are about: the push (or load) is done with them."""
    await connector.settle(
        [(connector.line_id(f.line), f.mark) for f in facts if f.mark is not None]
    )

"""A purchase record's days: how often, and on which days, a card or an address was used.

A record keeps, per day, the ids of its purchase lines (``RecordData.days``: a till's own
card is used many times a day, day after day, ``Rules.till_busy_day``), and a card keeps,
per e-mail given with it, the days it came (``RecordData.email_days``: the holder's own
second address comes day after day, a guest's given with a clerk's card once or twice,
``Rules.card_email_days``). Sets of ids and days, never counts: a line sent twice, or read
again at a restart, counts once; the smallest are kept, so the same ones whatever the order
the lines came in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from membergraph.identity.normalize import IdentifierKind

if TYPE_CHECKING:
    from membergraph.identity.records import Identifier, RecordData

__all__ = [
    "DAY_IDS_KEPT",
    "EMAIL_DAYS_KEPT",
    "add_purchase",
    "card_email",
    "merged_days",
    "purchase_day",
]


DAY_IDS_KEPT = 16
"""The line ids of one day a purchase record keeps: the rules ask whether a day had more
than ``Rules.till_busy_day`` purchases, which must be below this."""


def merged_days(
    held: dict[str, frozenset[str]] | None,
    given: dict[str, frozenset[str]],
    kept: int = DAY_IDS_KEPT,
) -> dict[str, frozenset[str]]:
    """Two records' purchases by day, together: each day's line ids, the smallest ``kept``
    kept (whatever the order they came in, the same ones). Also a card's e-mails by day
    (``RecordData.email_days``, ``kept``: ``EMAIL_DAYS_KEPT``), each e-mail's days."""
    days = dict(held or {})
    for day, ids in given.items():
        had = days.get(day)
        if had is None or not ids <= had:
            days[day] = _kept(ids if had is None else had | ids, kept)
    return days


def _kept(items: frozenset[str], kept: int) -> frozenset[str]:
    return items if len(items) <= kept else frozenset(sorted(items)[:kept])


EMAIL_DAYS_KEPT = 8
"""The days a card keeps per e-mail given with it: the rules ask whether an e-mail came on
at least ``Rules.card_email_days`` days, which must not be above this."""


def card_email(key: str, identifiers: Iterable[Identifier]) -> str | None:
    """The e-mail (its matching key) given with a card's purchase, from the record key and
    identifiers :func:`~membergraph.identity.line_records.transaction_record` describes it by
    (None: no e-mail, or no card: an online customer's record is its e-mail)."""
    if not key.startswith("loyalty:"):
        return None
    for ident in identifiers:
        if ident.kind is IdentifierKind.EMAIL:
            return ident.key
    return None


def add_purchase(record: RecordData, day: str, line_id: str, email: str | None = None) -> None:
    """Count one purchase line of ``record`` on ``day`` (as :func:`merged_days` would), and
    the day of the e-mail given with it on a card (``email``: :func:`card_email`)."""
    record.days = _added(record.days, day, line_id, DAY_IDS_KEPT)
    if email is not None:
        record.email_days = _added(record.email_days, email, day, EMAIL_DAYS_KEPT)


def _added(
    sets: dict[str, frozenset[str]] | None, key: str, item: str, kept: int
) -> dict[str, frozenset[str]]:
    """``merged_days(sets, {key: {item}}, kept)``, in place: a card's purchases come one line
    at a time, a million a batch."""
    if sets is None:
        return {key: frozenset([item])}
    had = sets.get(key)
    if had is None:
        sets[key] = frozenset([item])
    elif item not in had:
        sets[key] = _kept(had | {item}, kept)
    return sets


def purchase_day(line: Any) -> str:
    """The day of a purchase line, as the till wrote it (its own time zone)."""
    return str(line.occurred_at.date().isoformat())

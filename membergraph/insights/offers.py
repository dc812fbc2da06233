"""The offer ledger: each offer a member was given, where it stands, and where it was used.

An offer is named by ``properties.offer`` (else ``properties.campaign``) on web events, and
by an ``offer_code`` field on a transaction or a call-center interaction (a field the source
formats keep as an extra). What each says:

==============================  ==============================================================
``Offer Issued`` (web)          the offer exists for the member; ``properties.expires_at``
                                (ISO 8601) says until when
``Offer Sent`` (web)            sent, on ``properties.channel`` (email, sms, push, ...)
``Offer Viewed`` (web)          the member saw it
``Offer Redeemed`` (web)        redeemed online
a ``completed`` transaction     redeemed at the till (``store``) or online, with the
with ``offer_code``             transaction's id; a refunded or cancelled one redeems nothing
a call with ``offer_code``      redeemed through the call center
==============================  ==============================================================

Codes are compared whatever their case and surrounding spaces, on every channel: a till's
``bonus-x`` redeems the ``BONUS-X`` a web event issued (:func:`offer_key`). The ledger
names each offer as its first line wrote it (web events first).

The state is the furthest step reached: REDEEMED, else EXPIRED once its expiry is past the
reference, else VIEWED, SENT, ISSUED. The first redemption is the one reported. A channel
asking "was this bonus used?" gets REDEEMED the moment any source says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from membergraph.connectors.models import CallInteraction, Transaction, WebEvent
from membergraph.insights.window import is_purchase

__all__ = [
    "OfferState",
    "OfferStatus",
    "line_offer_code",
    "offer_code",
    "offer_key",
    "offer_ledger",
    "offers_change_at",
]


class OfferState(StrEnum):
    ISSUED = "ISSUED"
    SENT = "SENT"
    VIEWED = "VIEWED"
    REDEEMED = "REDEEMED"
    EXPIRED = "EXPIRED"


_STEPS = {"Offer Issued": OfferState.ISSUED, "Offer Sent": OfferState.SENT}
_STEPS |= {"Offer Viewed": OfferState.VIEWED}
_ORDER = [OfferState.ISSUED, OfferState.SENT, OfferState.VIEWED]


@dataclass(slots=True)
class OfferStatus:
    """What happened to one offer of a member."""

    offer: str
    state: OfferState = OfferState.ISSUED
    sent_on: list[str] = field(default_factory=list)  # channels it was sent on
    expires_at: datetime | None = None
    redeemed_at: datetime | None = None
    redeemed_via: str | None = None  # web, store, online, call
    redeemed_ref: str | None = None  # the line that redeemed it
    last_seen_at: datetime | None = None

    @property
    def redeemed(self) -> bool:
        return self.redeemed_at is not None


def offer_code(raw: object) -> str | None:
    """An offer's code as a line wrote it, trimmed (None: not a code)."""
    return (raw.strip() or None) if isinstance(raw, str) else None


def offer_key(code: str) -> str:
    """What codes are compared on, on every channel: their case folded.

    Example:
        >>> offer_key("bonus-x") == offer_key("BONUS-X")
        True
    """
    return code.casefold()


def line_offer_code(line: object) -> str | None:
    """The ``offer_code`` a transaction or a call carries (an extra field), normalized."""
    extra = getattr(line, "model_extra", None) or {}
    return offer_code(extra.get("offer_code"))


def _moment(raw: object) -> datetime | None:
    if not isinstance(raw, str):
        return None
    try:
        found = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return None
    return found if found.tzinfo else None


def _redemptions(
    events: Iterable[WebEvent], txs: Iterable[Transaction], calls: Iterable[CallInteraction]
) -> list[tuple[datetime, str, str, str]]:
    """(when, offer, via, line id) of every redemption any source reports."""
    found = [
        (e.occurred_at, _name(e) or "", "web", e.event_id)
        for e in events
        if e.name == "Offer Redeemed" and _name(e)
    ]
    found += [
        (t.occurred_at, code, t.channel, t.transaction_id)
        for t in txs
        if is_purchase(t) and (code := line_offer_code(t))
    ]
    found += [
        (c.started_at, code, "call", c.interaction_id)
        for c in calls
        if (code := line_offer_code(c))
    ]
    return sorted(found)


def _name(event: WebEvent) -> str | None:
    if not (event.name or "").startswith("Offer"):
        return None
    return offer_code(event.properties.get("offer")) or offer_code(event.properties.get("campaign"))


def offer_ledger(
    events: Iterable[WebEvent],
    transactions: Iterable[Transaction] = (),
    calls: Iterable[CallInteraction] = (),
    reference: datetime | None = None,
) -> list[OfferStatus]:
    """Every offer of a member, by name, with its state as of ``reference`` (now if None)."""
    events = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    ledger: dict[str, OfferStatus] = {}

    def status(name: str, at: datetime) -> OfferStatus:
        found = ledger.setdefault(offer_key(name), OfferStatus(name))
        found.last_seen_at = max(found.last_seen_at or at, at)
        return found

    for event in events:
        name = _name(event)
        step = _STEPS.get(event.name or "")
        if name is None or step is None:
            continue
        found = status(name, event.occurred_at)
        if _ORDER.index(step) > _ORDER.index(found.state):
            found.state = step
        channel = event.properties.get("channel")
        if step is OfferState.SENT and isinstance(channel, str) and channel not in found.sent_on:
            found.sent_on.append(channel.lower())
        found.expires_at = _moment(event.properties.get("expires_at")) or found.expires_at
    for at, name, via, ref in _redemptions(events, transactions, calls):
        found = status(name, at)
        if found.redeemed_at is None:
            found.state, found.redeemed_at = OfferState.REDEEMED, at
            found.redeemed_via, found.redeemed_ref = via, ref
    for found in ledger.values():
        past = found.expires_at is not None and reference is not None
        if not found.redeemed and past and found.expires_at <= reference:  # type: ignore[operator]
            found.state = OfferState.EXPIRED
    return [ledger[key] for key in sorted(ledger)]


def offers_change_at(ledger: Iterable[OfferStatus], reference: datetime) -> datetime | None:
    """The first moment after ``reference`` at which ``ledger`` (made as of it) differs with
    no new line: an offer not redeemed expiring; None: never by the clock alone."""
    return min(
        (
            found.expires_at
            for found in ledger
            if not found.redeemed and found.expires_at is not None and found.expires_at > reference
        ),
        default=None,
    )

"""Consent per channel and where a member can be reached.

Choices come from CRM contacts (their ``consents`` as of ``updated_at``) and from web
analytics ``track`` events named ``Consent Updated`` (``properties: {channel, granted}``),
``Unsubscribed`` (``properties: {channel}``, e-mail when absent) and ``Subscribed``. The newest
explicit choice per channel wins; at the same instant an opt-out beats an opt-in. A channel
nobody chose is unknown (``granted: null``), never assumed.

A channel is reachable when consent is granted and the member has an identifier for it:
an e-mail for EMAIL, a phone for SMS and PHONE, a web visitor for PUSH.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from membergraph.connectors.models import CrmContact, WebEvent

__all__ = ["Channel", "Consent", "consents_of", "reachable_channels"]


class Channel(StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    PUSH = "PUSH"
    PHONE = "PHONE"


@dataclass(frozen=True, slots=True)
class Consent:
    channel: Channel
    granted: bool | None
    source: str | None
    record: str | None
    at: datetime | None


_CRM_FIELDS = {
    Channel.EMAIL: "email",
    Channel.SMS: "sms",
    Channel.PUSH: "push",
    Channel.PHONE: "phone",
}


def _choices(
    contacts: Iterable[CrmContact], events: Iterable[WebEvent]
) -> Iterable[tuple[Channel, bool, datetime | None, str, str]]:
    for contact in contacts:
        if contact.consents is None:
            continue
        for channel, name in _CRM_FIELDS.items():
            value = getattr(contact.consents, name)
            if value is not None:
                yield channel, value, contact.updated_at, "crm", contact.contact_id
    for event in events:
        if event.name not in ("Consent Updated", "Unsubscribed", "Subscribed"):
            continue
        raw = str(event.properties.get("channel", "email")).upper()
        if raw not in Channel.__members__:
            continue
        if event.name == "Consent Updated":
            granted = event.properties.get("granted")
            if not isinstance(granted, bool):
                continue
        else:
            granted = event.name == "Subscribed"
        yield Channel(raw), granted, event.occurred_at, "web_analytics", event.anonymous_id


def consents_of(contacts: Iterable[CrmContact], events: Iterable[WebEvent]) -> list[Consent]:
    """The standing choice per channel (newest wins; an opt-out wins a tie)."""
    best: dict[Channel, tuple[tuple[bool, datetime | None, bool], Consent]] = {}
    for channel, granted, at, source, record in _choices(contacts, events):
        # Ordering key: dated beats undated, newer beats older, opt-out beats opt-in.
        key = (at is not None, at, not granted)
        current = best.get(channel)
        if current is None or _later(key, current[0]):
            best[channel] = (key, Consent(channel, granted, source, record, at))
    return [best[c][1] if c in best else Consent(c, None, None, None, None) for c in Channel]


def _later(a: tuple[bool, datetime | None, bool], b: tuple[bool, datetime | None, bool]) -> bool:
    if a[0] != b[0]:
        return a[0]
    if a[1] != b[1] and a[1] is not None and b[1] is not None:
        return a[1] > b[1]
    return a[2] and not b[2]


def reachable_channels(
    consents: Iterable[Consent], has_email: bool, has_phone: bool, has_visitor: bool
) -> list[Channel]:
    """Channels with consent granted and an identifier to reach the member on."""
    can = {
        Channel.EMAIL: has_email,
        Channel.SMS: has_phone,
        Channel.PHONE: has_phone,
        Channel.PUSH: has_visitor,
    }
    return [c.channel for c in consents if c.granted and can[c.channel]]

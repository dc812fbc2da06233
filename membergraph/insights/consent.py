"""Consent per channel, as ordered facts, and where a member can be reached.

Choices come from CRM contacts (their ``consents`` as of ``updated_at``) and from web
analytics ``track`` events named ``Consent Updated`` (``properties: {channel, granted}``;
``granted`` a boolean or its word, ``"false"``; the channel in any case, spacing and
hyphenation), ``Unsubscribed`` (``properties: {channel}``, e-mail when absent) and
``Subscribed``, as :func:`~membergraph.connectors.models.consent_choice` reads them; a
consent event it cannot read is refused at ingestion, never taken silently.

Every version of a line that says something about a channel is a :class:`ConsentFact`
(what the line said, when, from which source, record and line). A CRM contact is a
snapshot: it repeats its consents in every update (an address change still carries
``email: true``), so only a *change* of one line's value counts as a choice: the first
version of a line, then each version whose value differs from the one before it in time.
A web event is a choice of its own. The newest choice per channel wins; at the same
instant an opt-out beats an opt-in; a dated choice beats an undated one. A channel nobody
chose is unknown (``granted: null``), never assumed.

Facts are a set: the answer depends on which versions were seen, never on the order they
arrived in, so a late, older CRM line (``stale`` at ingest) still takes its place in time.

A channel is reachable when consent is granted and the member has an identifier for it:
an e-mail for EMAIL, a phone for SMS and PHONE, a web visitor for PUSH.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from itertools import groupby

from membergraph.connectors.models import CrmContact, WebEvent, consent_choice
from membergraph.identity.line_records import web_event_key

__all__ = [
    "Channel",
    "Consent",
    "ConsentFact",
    "consent_changes",
    "consents_of",
    "facts_of_contact",
    "facts_of_event",
    "facts_of_lines",
    "reachable_channels",
]


class Channel(StrEnum):
    EMAIL = "EMAIL"
    SMS = "SMS"
    PUSH = "PUSH"
    PHONE = "PHONE"


@dataclass(frozen=True, slots=True)
class ConsentFact:
    """What one version of one source line said about one channel."""

    channel: Channel
    granted: bool
    at: datetime | None
    source: str
    record: str  # the record the line belongs to (a contact id, a visitor)
    line: str  # the line's own id (a contact id, an event id)


@dataclass(frozen=True, slots=True)
class Consent:
    """The standing choice on a channel and the changes that led to it, oldest first."""

    channel: Channel
    granted: bool | None
    source: str | None
    record: str | None
    at: datetime | None
    line: str | None = None
    history: tuple[ConsentFact, ...] = ()


_CRM_FIELDS = {
    Channel.EMAIL: "email",
    Channel.SMS: "sms",
    Channel.PUSH: "push",
    Channel.PHONE: "phone",
}


def facts_of_contact(contact: CrmContact) -> Iterator[ConsentFact]:
    """The consent facts of one CRM contact version."""
    if contact.consents is None:
        return
    for channel, name in _CRM_FIELDS.items():
        value = getattr(contact.consents, name)
        if value is not None:
            key = contact.contact_id
            yield ConsentFact(channel, value, contact.updated_at, "crm", key, key)


def facts_of_event(event: WebEvent) -> Iterator[ConsentFact]:
    """The consent fact a web event states, if it states one (ingestion refuses a consent
    event it cannot read; one stored before that rule states nothing)."""
    try:
        said = consent_choice(event)
    except ValueError:
        return
    if said is None:
        return
    yield ConsentFact(
        Channel(said[0]),
        said[1],
        event.occurred_at,
        "web_analytics",
        web_event_key(event),  # the record it belongs to
        event.event_id,
    )


def facts_of_lines(
    contacts: Iterable[CrmContact], events: Iterable[WebEvent]
) -> Iterator[ConsentFact]:
    """The consent facts the current versions of lines state."""
    for contact in contacts:
        yield from facts_of_contact(contact)
    for event in events:
        yield from facts_of_event(event)


def _time_order(fact: ConsentFact) -> tuple[object, ...]:
    at = fact.at
    return (at is not None, at.timestamp() if at is not None else 0.0, not fact.granted)


def consent_changes(facts: Iterable[ConsentFact]) -> list[ConsentFact]:
    """The facts that are choices: per line and channel, its first version and each one whose
    value differs from the version before it in time. Oldest first."""
    unique = set(facts)

    def line_of(fact: ConsentFact) -> tuple[str, str, str, str]:
        return (fact.channel.value, fact.source, fact.record, fact.line)

    changes: list[ConsentFact] = []
    for _, versions in groupby(sorted(unique, key=line_of), key=line_of):
        before: bool | None = None
        for fact in sorted(versions, key=_time_order):
            if fact.granted != before:
                changes.append(fact)
            before = fact.granted
    changes.sort(key=lambda f: (*_time_order(f), f.source, f.record, f.line))
    return changes


def consents_of(
    contacts: Iterable[CrmContact],
    events: Iterable[WebEvent],
    recorded: Iterable[ConsentFact] = (),
) -> list[Consent]:
    """The standing choice per channel with its history, from the current lines and the
    facts recorded from earlier versions (``recorded``)."""
    changes = consent_changes([*facts_of_lines(contacts, events), *recorded])
    answer = []
    for channel in Channel:
        history = tuple(c for c in changes if c.channel is channel)
        if not history:
            answer.append(Consent(channel, None, None, None, None))
            continue
        won = history[-1]
        answer.append(
            Consent(channel, won.granted, won.source, won.record, won.at, won.line, history)
        )
    return answer


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

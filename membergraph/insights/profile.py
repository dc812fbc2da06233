"""One profile from many records: survivorship with lineage.

Survivorship is data (:data:`SURVIVORSHIP`): names, birth date, address and language come
from the CRM, the most recently updated contact first; the e-mail and phone are the most
recently seen in any source. Empty values never win. Every known e-mail and phone stays
listed with the sources that gave it, and each surviving field says where it came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from membergraph.connectors.models import (
    Address,
    CallInteraction,
    CrmContact,
    Transaction,
    WebEvent,
)
from membergraph.identity.normalize import BadIdentifier, IdentifierKind, normalize
from membergraph.identity.records import Identifier, RecordKey
from membergraph.insights.former import Former

__all__ = [
    "SURVIVORSHIP",
    "ContactPoint",
    "Lineage",
    "Placeholder",
    "Profile",
    "contact_kinds",
    "is_own_contact",
    "last_seen_of",
    "profile_of",
]

Placeholder = Callable[[IdentifierKind, str], bool]
"""Whether a value (kind, key) identifies no one: ``Rules.is_junk``."""


def _no_placeholder(kind: IdentifierKind, key: str) -> bool:
    return False


def is_own_contact(ident: Identifier, placeholder: Placeholder) -> bool:
    """Whether an identifier is the member's own way to be reached: not what an agent typed
    (a claim about an account, which may be wrong) and not a placeholder."""
    return ident.via != "agent" and not placeholder(ident.kind, ident.key)


def contact_kinds(
    identifiers: Iterable[tuple[RecordKey, Identifier]],
    placeholder: Placeholder,
    former: Former | None = None,
) -> set[IdentifierKind]:
    """The kinds of identifier a member can be reached by (e-mail, phone, visitor id): a
    former value (``insights.former``) reaches no one."""
    former = former or {}
    return {
        i.kind
        for _, i in identifiers
        if is_own_contact(i, placeholder) and (i.kind, i.key) not in former
    }


@dataclass(frozen=True, slots=True)
class ContactPoint:
    """An e-mail or phone with the records it was seen on; a ``placeholder`` is listed (a
    source gave it) but is never the member's contact, nor is a ``former`` one (its CRM
    contact dropped it, ``dropped_at``: ``insights.former``)."""

    value: str
    sources: tuple[str, ...]
    records: tuple[RecordKey, ...]
    last_seen: datetime | None = None
    placeholder: bool = False
    former: bool = False
    dropped_at: datetime | None = None

    @property
    def current(self) -> bool:
        return not self.former


@dataclass(frozen=True, slots=True)
class Lineage:
    """Where a surviving profile field came from."""

    field: str
    value: str | None
    source: str | None
    record: str | None
    updated_at: datetime | None


SURVIVORSHIP: dict[str, str] = {
    "first_name": "crm_newest",
    "last_name": "crm_newest",
    "birth_date": "crm_newest",
    "address": "crm_newest",
    "preferred_language": "crm_newest",
    "email": "most_recent",
    "phone": "most_recent",
}


@dataclass(frozen=True, slots=True)
class Profile:
    """The surviving value of each profile field, and where it came from."""

    first_name: str | None
    last_name: str | None
    birth_date: date | None
    address: Address | None
    preferred_language: str | None
    emails: tuple[ContactPoint, ...]
    phones: tuple[ContactPoint, ...]
    source_record: str | None  # the CRM contact the names came from
    updated_at: datetime | None
    email: ContactPoint | None = None
    phone: ContactPoint | None = None
    lineage: tuple[Lineage, ...] = ()


def _first(contacts: Sequence[CrmContact], field: str) -> tuple[object, CrmContact | None]:
    for contact in contacts:
        value = getattr(contact, field)
        if value not in (None, "", []):
            return value, contact
    return None, None


def _points(
    identifiers: Iterable[tuple[RecordKey, Identifier]],
    kind: IdentifierKind,
    last_seen: Mapping[tuple[IdentifierKind, str], datetime],
    placeholder: Placeholder,
    former: Former,
) -> tuple[ContactPoint, ...]:
    seen: dict[str, list[RecordKey]] = defaultdict(list)
    junk: set[str] = set()
    keys: dict[str, str] = {}
    for ref, ident in identifiers:
        # What an agent typed is a claim about an account, not the member's own contact.
        if ident.kind is kind and ident.via != "agent" and ref not in seen[ident.value]:
            seen[ident.value].append(ref)
            keys[ident.value] = ident.key
            if not is_own_contact(ident, placeholder):
                junk.add(ident.value)
    points = [
        ContactPoint(
            value,
            tuple(sorted({r[0] for r in refs})),
            tuple(sorted(refs)),
            last_seen.get((kind, value)),
            value in junk,
            (kind, keys[value]) in former,
            former.get((kind, keys[value])),
        )
        for value, refs in sorted(seen.items())
    ]
    # The current values first: a client showing the first one shows a current one.
    return tuple(sorted(points, key=lambda p: p.former))


def _most_recent(points: tuple[ContactPoint, ...]) -> ContactPoint | None:
    """The contact point seen last (undated ones only when none is dated), never a
    placeholder nor a former one."""
    usable = [p for p in points if not (p.placeholder or p.former)]
    dated = [p for p in usable if p.last_seen is not None]
    if dated:
        return max(dated, key=lambda p: (p.last_seen, p.value))
    return usable[0] if usable else None


def profile_of(
    contacts: Iterable[CrmContact],
    identifiers: Iterable[tuple[RecordKey, Identifier]],
    last_seen: Mapping[tuple[IdentifierKind, str], datetime] | None = None,
    placeholder: Placeholder = _no_placeholder,
    former: Former | None = None,
) -> Profile:
    """Build a member's profile from its CRM contacts and all its identifiers.

    ``last_seen`` gives when each (kind, normalized value) was last seen in any source
    (:func:`last_seen_of`); ``placeholder`` says which values identify no one: they are
    never a contact point; ``former`` the values the CRM dropped
    (``insights.former.former_values``): listed last, marked, never the e-mail or phone.
    """
    last_seen = last_seen or {}
    former = former or {}
    newest = sorted(
        contacts,
        key=lambda c: (c.updated_at is not None, c.updated_at or datetime.min, c.contact_id),
        reverse=True,
    )
    identifiers = list(identifiers)
    first_name, source = _first(newest, "first_name")
    last_name, _ = _first(newest, "last_name")
    birth_date, _ = _first(newest, "birth_date")
    address, _ = _first(newest, "address")
    language, _ = _first(newest, "preferred_language")
    emails = _points(identifiers, IdentifierKind.EMAIL, last_seen, placeholder, former)
    phones = _points(identifiers, IdentifierKind.PHONE, last_seen, placeholder, former)
    email, phone = _most_recent(emails), _most_recent(phones)
    lineage = [
        _crm_lineage(newest, name) for name, rule in SURVIVORSHIP.items() if rule == "crm_newest"
    ]
    for name, point in (("email", email), ("phone", phone)):
        lineage.append(
            Lineage(
                name,
                point.value if point else None,
                point.sources[0] if point else None,
                point.records[0][1] if point else None,
                point.last_seen if point else None,
            )
        )
    return Profile(
        first_name=first_name,  # type: ignore[arg-type]
        last_name=last_name,  # type: ignore[arg-type]
        birth_date=birth_date,  # type: ignore[arg-type]
        address=address,  # type: ignore[arg-type]
        preferred_language=language,  # type: ignore[arg-type]
        emails=emails,
        phones=phones,
        source_record=source.contact_id if source else None,
        updated_at=newest[0].updated_at if newest else None,
        email=email,
        phone=phone,
        lineage=tuple(lineage),
    )


def _crm_lineage(newest: Sequence[CrmContact], name: str) -> Lineage:
    value, contact = _first(newest, name)
    if contact is None:
        return Lineage(name, None, None, None, None)
    shown = value.isoformat() if isinstance(value, date) else str(value)
    if isinstance(value, Address):
        shown = ", ".join(
            p for p in (value.line1, value.city, value.postal_code, value.country) if p
        )
    return Lineage(name, shown, "crm", contact.contact_id, contact.updated_at)


def last_seen_of(
    contacts: Iterable[CrmContact],
    transactions: Iterable[Transaction],
    events: Iterable[WebEvent],
    calls: Iterable[CallInteraction],
    region: str,
) -> dict[tuple[IdentifierKind, str], datetime]:
    """When each e-mail and phone (kind, normalized value) was last given by a member's
    lines: a CRM contact's update, a purchase, a web event, a call."""
    seen: dict[tuple[IdentifierKind, str], datetime] = {}
    # A member's lines give the same few values again and again (its e-mail on every
    # online order and web event): each is normalized once.
    keys: dict[tuple[IdentifierKind, str], tuple[IdentifierKind, str] | None] = {}

    def saw(kind: IdentifierKind, raw: str | None, at: datetime | None) -> None:
        if raw is None or at is None:
            return
        try:
            key = keys[(kind, raw)]
        except KeyError:
            try:
                key = (kind, normalize(kind, raw, region))
            except BadIdentifier:
                key = None
            keys[(kind, raw)] = key
        if key is None:
            return
        if key not in seen or seen[key] < at:
            seen[key] = at

    for c in contacts:
        for raw in c.emails:
            saw(IdentifierKind.EMAIL, raw, c.updated_at)
        for raw in c.phones:
            saw(IdentifierKind.PHONE, raw, c.updated_at)
    for t in transactions:
        saw(IdentifierKind.EMAIL, t.email, t.occurred_at)
    for e in events:
        saw(IdentifierKind.EMAIL, e.email, e.occurred_at)
    for call in calls:
        saw(IdentifierKind.PHONE, call.caller_phone, call.started_at)
    return seen

"""One profile from many records: survivorship with lineage.

Survivorship is data (:data:`SURVIVORSHIP`): names, birth date, address and language come
from the CRM, the most recently updated contact first; the e-mail and phone are the most
recently seen in any source. Empty values never win. Every known e-mail and phone stays
listed with the sources that gave it, and each surviving field says where it came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from membergraph.connectors.models import Address, CrmContact
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordKey

__all__ = ["SURVIVORSHIP", "ContactPoint", "Lineage", "Profile", "profile_of"]


@dataclass(frozen=True, slots=True)
class ContactPoint:
    """An e-mail or phone with the records it was seen on."""

    value: str
    sources: tuple[str, ...]
    records: tuple[RecordKey, ...]
    last_seen: datetime | None = None


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
) -> tuple[ContactPoint, ...]:
    seen: dict[str, list[RecordKey]] = defaultdict(list)
    for ref, ident in identifiers:
        # What an agent typed is a claim about an account, not the member's own contact.
        if ident.kind is kind and ident.via != "agent" and ref not in seen[ident.value]:
            seen[ident.value].append(ref)
    return tuple(
        ContactPoint(
            value,
            tuple(sorted({r[0] for r in refs})),
            tuple(sorted(refs)),
            last_seen.get((kind, value)),
        )
        for value, refs in sorted(seen.items())
    )


def _most_recent(points: tuple[ContactPoint, ...]) -> ContactPoint | None:
    dated = [p for p in points if p.last_seen is not None]
    if dated:
        return max(dated, key=lambda p: (p.last_seen, p.value))
    return points[0] if points else None


def profile_of(
    contacts: Iterable[CrmContact],
    identifiers: Iterable[tuple[RecordKey, Identifier]],
    last_seen: Mapping[tuple[IdentifierKind, str], datetime] | None = None,
) -> Profile:
    """Build a member's profile from its CRM contacts and all its identifiers.

    ``last_seen`` gives when each (kind, normalized value) was last seen in any source.
    """
    last_seen = last_seen or {}
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
    emails = _points(identifiers, IdentifierKind.EMAIL, last_seen)
    phones = _points(identifiers, IdentifierKind.PHONE, last_seen)
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

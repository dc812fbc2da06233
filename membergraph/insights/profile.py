"""One profile from many records: survivorship with lineage.

Names, birth date, address and language come from the CRM (the most recently updated
contact first); e-mails and phones list every known value with the sources that gave them.
Empty values never win.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from membergraph.connectors.models import Address, CrmContact
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordKey

__all__ = ["ContactPoint", "Profile", "profile_of"]


@dataclass(frozen=True, slots=True)
class ContactPoint:
    """An e-mail or phone with the records it was seen on."""

    value: str
    sources: tuple[str, ...]
    records: tuple[RecordKey, ...]


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


def _first(contacts: Sequence[CrmContact], field: str) -> tuple[object, CrmContact | None]:
    for contact in contacts:
        value = getattr(contact, field)
        if value not in (None, "", []):
            return value, contact
    return None, None


def _points(
    identifiers: Iterable[tuple[RecordKey, Identifier]], kind: IdentifierKind
) -> tuple[ContactPoint, ...]:
    seen: dict[str, list[RecordKey]] = defaultdict(list)
    for ref, ident in identifiers:
        if ident.kind is kind and ref not in seen[ident.value]:
            seen[ident.value].append(ref)
    return tuple(
        ContactPoint(value, tuple(sorted({r[0] for r in refs})), tuple(sorted(refs)))
        for value, refs in sorted(seen.items())
    )


def profile_of(
    contacts: Iterable[CrmContact], identifiers: Iterable[tuple[RecordKey, Identifier]]
) -> Profile:
    """Build a member's profile from its CRM contacts and all its identifiers."""
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
    return Profile(
        first_name=first_name,  # type: ignore[arg-type]
        last_name=last_name,  # type: ignore[arg-type]
        birth_date=birth_date,  # type: ignore[arg-type]
        address=address,  # type: ignore[arg-type]
        preferred_language=language,  # type: ignore[arg-type]
        emails=_points(identifiers, IdentifierKind.EMAIL),
        phones=_points(identifiers, IdentifierKind.PHONE),
        source_record=source.contact_id if source else None,
        updated_at=newest[0].updated_at if newest else None,
    )

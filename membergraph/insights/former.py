"""E-mails and phones a member's CRM contact no longer carries: *former* values.

A CRM is the system of record of a contact's contact data: when a newer version of a
contact drops an e-mail or a phone, the person withdrew it, or it went to someone else.
Identity keeps linking on it (her purchases and visits under the old address are still
hers, and a split on an address change would lose them), but the value is former: the
profile lists it as such, after the current ones, never as its e-mail or phone, no channel
reaches her on it, and a lookup by it does not find her unless asked to.

A value is former for a member when a CRM contact of the member held it, no current
version of the member's CRM contacts (read from the source at query time) carries it, and
no other source gave it after the contact's current version was written (a purchase, a
visit or a call under it since says she still uses it; her older ones do not). Nothing is
stored: whether a value is former follows the sources' current lines, so it survives a
restart and is the same over every store adapter. Values are compared by match key, as
lookups and links compare them (a Gmail address written with dots is the address without).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from membergraph.connectors.models import SourceName
from membergraph.identity.normalize import BadIdentifier, IdentifierKind, normalize
from membergraph.identity.records import Identifier, RecordKey, identifier_key

__all__ = ["FORMER_KINDS", "Former", "carried_keys", "carries", "former_values"]

FORMER_KINDS = (IdentifierKind.EMAIL, IdentifierKind.PHONE)
"""The kinds a CRM contact's newer version can drop: its contact data."""

Former = Mapping[tuple[IdentifierKind, str], datetime | None]
"""Former values by (kind, match key), each with the update time of the CRM contact's
current version, which no longer carries it (None: the contact is undated)."""

_CRM = SourceName.CRM.value


def carried_keys(contacts: Iterable[Any], region: str) -> set[tuple[IdentifierKind, str]]:
    """The (kind, match key) of every e-mail and phone the contacts' lines carry."""
    carried: set[tuple[IdentifierKind, str]] = set()
    for contact in contacts:
        for kind, values in (
            (IdentifierKind.EMAIL, contact.emails),
            (IdentifierKind.PHONE, contact.phones),
        ):
            for raw in values:
                try:
                    carried.add((kind, identifier_key(kind, normalize(kind, raw, region))))
                except BadIdentifier:
                    continue
    return carried


def carries(contacts: Iterable[Any], kind: IdentifierKind, key: str, region: str) -> bool:
    """Whether one of the contacts' lines carries the value of match key ``key``: a
    lookup's check, which most often ends at the first value it reads."""
    for contact in contacts:
        for raw in contact.emails if kind is IdentifierKind.EMAIL else contact.phones:
            try:
                if identifier_key(kind, normalize(kind, raw, region)) == key:
                    return True
            except BadIdentifier:
                continue
    return False


def former_values(
    contacts: Iterable[Any],
    identifiers: Iterable[tuple[RecordKey, Identifier]],
    region: str,
    last_seen: Mapping[tuple[IdentifierKind, str], datetime] | None = None,
) -> dict[tuple[IdentifierKind, str], datetime | None]:
    """The former e-mails and phones among a member's identifiers (:data:`Former`).

    Args:
        contacts: the current lines of the member's CRM contacts (light or whole).
        identifiers: the member's identifiers with the record holding each.
        region: the default region phones are read in, as at ingestion.
        last_seen: when each (kind, normalized value) was last given by a line of the
            member (``profile.last_seen_of``); a value given after its drop is current.
    """
    dropping: dict[tuple[IdentifierKind, str], list[str]] = {}
    values: dict[tuple[IdentifierKind, str], list[str]] = {}
    for (source, key), ident in identifiers:
        if ident.kind in FORMER_KINDS and ident.via != "agent":
            value = (ident.kind, ident.key)
            if value in values:
                values[value].append(ident.value)
            else:
                values[value] = [ident.value]
            if source == _CRM:
                dropping.setdefault(value, []).append(key)
    if not dropping:
        return {}
    contacts = list(contacts)
    dated: dict[str, datetime | None] = {c.contact_id: c.updated_at for c in contacts}
    last_seen = last_seen or {}
    carried: set[tuple[IdentifierKind, str]] | None = None
    former: dict[tuple[IdentifierKind, str], datetime | None] = {}
    for value, keys in dropping.items():
        # Plain loops: this runs for every profile read, on the personalization path.
        dropped: datetime | None = None
        readable = True
        for k in keys:
            if k not in dated:
                # A contact whose line cannot be read (none held) says nothing: it stays.
                readable = False
                break
            at = dated[k]
            if at is not None and (dropped is None or at > dropped):
                dropped = at
        if not readable:
            continue
        # Given since the contact's current version (by that version itself, most often:
        # no value to normalize then), or by another source after it: current.
        given = False
        for v in values[value]:
            at = last_seen.get((value[0], v))
            if at is not None and (dropped is None or at >= dropped):
                given = True
                break
        if given:
            continue
        if carried is None:
            carried = carried_keys(contacts, region)
        if value not in carried:
            former[value] = dropped
    return former

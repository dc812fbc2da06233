"""A device several people log in on: one record per login, and the device's own.

A web visitor's events are split by who was logged in (``records.visitor_record``): each
login's events are a record of their own, ``<anonymous_id>|login:<contact id>``, which joins
that login's member; the events of no one logged in stay the device's, ``<anonymous_id>``.
Whose those are is what the device's logins say: the engine resolves the device's record as
if it carried them (:func:`with_device_logins`), so on a device one person logs in on, they
are hers; on one two people log in on (a family computer, a library PC, a mail privacy
proxy opening links for many readers), nobody's (``shared_devices_identify_no_one``),
while each login's own events are still its person's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordData, RecordKey

__all__ = ["device_of", "with_device_logins"]


def device_of(record: RecordData) -> str | None:
    """The device (its anonymous id's matching key) of a web visitor record; None for any
    other record."""
    if record.source != "web_analytics":
        return None
    for ident in record.identifiers:
        if ident.kind is IdentifierKind.ANONYMOUS_ID:
            return ident.key
    return None


def with_device_logins(
    records: Mapping[RecordKey, RecordData], is_junk: Callable[[IdentifierKind, str], bool]
) -> Mapping[RecordKey, RecordData]:
    """``records``, where each device's own records (events of no one logged in, or of a
    login that is a placeholder: ``is_junk``) also carry the logins of that device's login
    records among ``records``: copies, never the records given (the store keeps what the
    lines said)."""
    logins: dict[str, set[Identifier]] = {}
    own: list[tuple[str, RecordData]] = []
    for record in records.values():
        device = device_of(record)
        if device is None:
            continue
        real = {
            i
            for i in record.identifiers
            if i.kind is IdentifierKind.CRM_ID and i.via == "login" and not is_junk(i.kind, i.key)
        }
        if real:
            logins.setdefault(device, set()).update(real)
        else:
            own.append((device, record))
    if not logins:
        return records
    given: dict[RecordKey, RecordData] | None = None
    for device, record in own:
        theirs = logins.get(device)
        if theirs:
            if given is None:
                given = dict(records)
            given[record.ref] = replace(record, identifiers=record.identifiers | theirs)
    return records if given is None else given

"""A device several people use: one record per person it names, and the device's own.

A web visitor's events are split by whom they name (``line_records.visitor_record``): each
login's events are a record of their own, ``<anonymous_id>|login:<contact id>``, which
joins that login's member; so are the events of no one logged in that carry their own
person's e-mail (an e-mail open names its recipient), ``<anonymous_id>|email:<digest>``;
the events that name no one stay the device's, ``<anonymous_id>``. Whose those are is what
the device's other records say: the engine resolves the device's record as if it carried
their logins and e-mails (:func:`with_device_logins`), so on a device only one person is
seen on, they are hers; on one several people are seen on (a family computer, a library
PC, a mail privacy proxy opening every reader's mail), nobody's
(``shared_devices_identify_no_one``, ``leaves.py``), while each person's own events are
still that person's.

A device that names more people than a family has (``rules.device_max_names``, a mail
privacy proxy opening every reader's mail) or that is on more records than any value may be
(``rules.hub_max_records``) is *crowded* (:func:`crowded_devices`): its records that name no
one borrow no names and belong to no one, and it confirms no e-mail. That needs no member
to decide, so a change's closure need not walk through the device
(``identity/hub_stops.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import replace

from membergraph.connectors.models import EMAIL_MARK, LOGIN_MARK
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import Identifier, RecordData, RecordKey
from membergraph.identity.rules import Rules

__all__ = [
    "borrows",
    "confirmed_by_device",
    "crowded_devices",
    "device_names",
    "device_of",
    "devices_own",
    "with_device_logins",
]


def device_of(record: RecordData) -> str | None:
    """The device (its anonymous id's matching key) of a web visitor record; None for any
    other record."""
    if record.source != "web_analytics":
        return None
    for ident in record.identifiers:
        if ident.kind is IdentifierKind.ANONYMOUS_ID:
            return ident.key
    return None


def devices_own(record: RecordData) -> bool:
    """Whether a web visitor record holds a device's events that name no one (its key is
    the anonymous id alone, :func:`~membergraph.connectors.models.visitor_key`)."""
    key = record.key
    return record.source == "web_analytics" and LOGIN_MARK not in key and EMAIL_MARK not in key


def _names(record: RecordData, is_junk: Callable[[IdentifierKind, str], bool]) -> set[Identifier]:
    """The people a device's record names: its real logins, else (an event of no one logged
    in) its real e-mail; placeholders (``is_junk``: a login ``0``, ``na@na.com``) name no one."""
    logins = {
        i
        for i in record.identifiers
        if i.kind is IdentifierKind.CRM_ID and i.via == "login" and not is_junk(i.kind, i.key)
    }
    if logins or devices_own(record):
        return logins
    return {
        i
        for i in record.identifiers
        if i.kind is IdentifierKind.EMAIL and i.via == "identify" and not is_junk(i.kind, i.key)
    }


def borrows(record: RecordData, is_junk: Callable[[IdentifierKind, str], bool]) -> bool:
    """Whether a device's record names no one (its events of no one logged in, or a login
    that is a placeholder), so that it is resolved with the names of the device's others."""
    if _names(record, is_junk):
        return False
    return devices_own(record) or LOGIN_MARK in record.key


def device_names(
    records: Iterable[RecordData], is_junk: Callable[[IdentifierKind, str], bool]
) -> set[tuple[IdentifierKind, str]]:
    """The values (logins, e-mails) that the given records of one device name someone by."""
    return {(i.kind, i.key) for record in records for i in _names(record, is_junk)}


def crowded_devices(
    records: Iterable[RecordData], rules: Rules, known: Iterable[tuple[IdentifierKind, str]]
) -> frozenset[str]:
    """The devices among ``records`` that many people use: their records name more values
    than ``rules.device_max_names`` or are more than ``rules.hub_max_records``; and those
    of ``known`` (anonymous ids a change's closure found crowded on records it left out)."""
    names: dict[str, set[tuple[IdentifierKind, str]]] = defaultdict(set)
    count: dict[str, int] = defaultdict(int)
    for record in records:
        device = device_of(record)
        if device is not None:
            count[device] += 1
            names[device] |= device_names((record,), rules.is_junk)
    crowded = {key for kind, key in known if kind is IdentifierKind.ANONYMOUS_ID}
    crowded.update(
        device
        for device, n in count.items()
        if n > rules.hub_max_records or len(names[device]) > rules.device_max_names
    )
    return frozenset(crowded)


def with_device_logins(
    records: Mapping[RecordKey, RecordData],
    is_junk: Callable[[IdentifierKind, str], bool],
    crowded: Set[str] = frozenset(),
) -> Mapping[RecordKey, RecordData]:
    """``records``, where each device's own records (events naming no one, or only a
    placeholder: ``is_junk``) also carry the logins and e-mails of that device's records
    naming someone among ``records``: copies, never the records given (the store keeps what
    the lines said). The records of a ``crowded`` device borrow nothing: theirs are many
    people's names."""
    named: dict[str, set[Identifier]] = {}
    own: list[tuple[str, RecordData]] = []
    for record in records.values():
        device = device_of(record)
        if device is None or device in crowded:
            continue
        real = _names(record, is_junk)
        if real:
            named.setdefault(device, set()).update(real)
        elif devices_own(record) or LOGIN_MARK in record.key:
            # (An event naming an e-mail that cannot be read, ``ann @x.org``, names someone
            # all the same: never the device's others.)
            own.append((device, record))
    if not named:
        return records
    given: dict[RecordKey, RecordData] | None = None
    for device, record in own:
        theirs = named.get(device)
        if theirs:
            if given is None:
                given = dict(records)
            given[record.ref] = replace(record, identifiers=record.identifiers | theirs)
    return records if given is None else given


def confirmed_by_device(
    unplaced: Iterable[RecordData],
    placed: Mapping[RecordKey, RecordKey],
    carriers: Mapping[tuple[IdentifierKind, str], list[RecordData]],
    usable: Callable[[tuple[IdentifierKind, str]], bool],
    root_of: Callable[[RecordKey], RecordKey],
    crowded: Set[str] = frozenset(),
) -> list[tuple[RecordData, Identifier, RecordKey]]:
    """The events naming an e-mail that led to no member by itself (carried by two CRM
    people's contacts, or by no profile) whose device confirms one: the device's logins
    lead to one member, and that member carries the e-mail too (on a contact, or on the
    events of a login). Each as ``(record, its e-mail, the login's record to join)``.

    ``unplaced``: web records that joined no member; ``placed``: each leaf that joined a
    member, with that member's root; ``usable``: whether a value may say who someone is
    (not a placeholder or a hub); ``root_of``: a profile record's member root. An e-mail
    typed on a family computer by someone who never logs in, and known to no one's member,
    says nothing: it stays apart; so does one opened on a ``crowded`` device."""
    logins: dict[str, dict[RecordKey, RecordKey]] = {}  # device -> {root: a login's record}
    for ref, root in placed.items():
        if ref[0] == "web_analytics" and LOGIN_MARK in ref[1]:
            device = ref[1].partition(LOGIN_MARK)[0]
            logins.setdefault(device, {}).setdefault(root, ref)
    found = []
    for record in unplaced:
        if EMAIL_MARK not in record.key:
            continue
        seen = logins.get(record.key.partition(EMAIL_MARK)[0])
        if seen is None or len(seen) != 1 or device_of(record) in crowded:
            continue  # no login on the device, or two members' (a family computer)
        ((root, login),) = seen.items()
        for ident in sorted(record.identifiers):
            key = (ident.kind, ident.key)
            if ident.kind is not IdentifierKind.EMAIL or not usable(key):
                continue
            if any(
                (root_of(c.ref) if c.role == "profile" else placed.get(c.ref)) == root
                for c in carriers.get(key, ())
            ):
                found.append((record, ident, login))
                break
    return found

"""Card-less online orders under an e-mail her own device gives.

A person who orders online as a guest types the address her marketing e-mails go to; she
opens them on the phone or the computer she logs in on. The opens are a record of their
own (``<anonymous_id>|email:<digest>``, :mod:`~membergraph.identity.devices`), the logins
another, and when no CRM contact carries the address (she gave the CRM another one, or
none) nothing else joins her guest orders to her: the logins claim only the orders under
the address a logged-in session gives itself (``logins_claim_online_orders``). Her device
says it: its logins lead to her member alone. A family computer, logged in as two members,
says nothing; nor a crowded device (a mail privacy proxy opening every reader's mail); nor
an address naming a relative of hers (her son's, opened on the family computer she alone
logs in on).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Set
from typing import TYPE_CHECKING

from membergraph.connectors.models import EMAIL_MARK, LOGIN_MARK
from membergraph.identity.devices import device_of
from membergraph.identity.email_names import a_relatives_email, names_her
from membergraph.identity.member_emails import online_customers, online_orders_of_logins
from membergraph.identity.normalize import IdentifierKind

if TYPE_CHECKING:
    from membergraph.identity.partition import Partition
    from membergraph.identity.records import RecordData, RecordKey
    from membergraph.identity.rules import Rules
    from membergraph.identity.values import ValueKey

__all__ = ["claimed_online_orders", "online_orders_of_devices"]

_CRM_ID = IdentifierKind.CRM_ID


def _device_logins(
    carriers: Mapping[ValueKey, list[RecordData]],
    lines_records: Mapping[RecordKey, RecordData],
    crowded: Set[str],
) -> dict[str, set[str]]:
    """Each device (not crowded) with the contact ids its logged-in records log in as."""
    logins: dict[str, set[str]] = defaultdict(set)
    for key, carried in carriers.items():
        if key[0] is not _CRM_ID:
            continue
        for record in carried:
            if record.source != "web_analytics" or LOGIN_MARK not in record.key:
                continue
            device = device_of(record)
            if device is None or device in crowded:
                continue
            given = lines_records[record.ref].identifiers
            if any(i.kind is _CRM_ID and i.via == "login" for i in given):
                logins[device].add(key[1])
    return logins


def online_orders_of_devices(
    carriers: Mapping[ValueKey, list[RecordData]],
    status: Mapping[ValueKey, str],
    partition: Partition,
    records: Mapping[RecordKey, RecordData],
    lines_records: Mapping[RecordKey, RecordData],
    rules: Rules,
    crowded: Set[str] = frozenset(),
) -> Iterator[tuple[RecordKey, RecordKey, ValueKey]]:
    """``(online customer, contact, e-mail)`` for each online customer no contact's member
    holds whose e-mail the events of no one logged in give (an e-mail open, a click) on
    devices whose logins all lead to one member (the contact is one of its holders), the
    address naming no relative of that contact. ``lines_records``: the records as the lines
    said; ``crowded``: devices that name too many people to say whose anything is."""
    find = partition.find
    logins_of: dict[str, set[str]] | None = None
    for key, carried, online in online_customers(carriers, status, "linkable"):
        devices = {
            device
            for r in carried
            if r.source == "web_analytics" and EMAIL_MARK in r.key
            if (device := device_of(r)) is not None
        }
        if not devices:
            continue
        if logins_of is None:
            logins_of = _device_logins(carriers, lines_records, crowded)
        logins = set().union(*(logins_of.get(device, set()) for device in devices))
        holders = {
            find(c.ref): c.ref
            for login in sorted(logins)
            if status.get((_CRM_ID, login)) == "linkable"
            for c in carriers.get((_CRM_ID, login), ())
            if c.source == "crm"
        }
        if len(holders) != 1:
            continue  # no one logs in there, or two members (a family computer)
        ((root, holder),) = holders.items()
        contact = records[holder]
        if rules.relatives_emails and a_relatives_email(
            key[1],
            contact.first_name or "",
            contact.last_name or "",
            rules.near_duplicates,
            first_names_not_slips=rules.relatives_emails_not_slips,
        ):
            continue  # a relative's address, opened on her computer
        if not names_her(key[1], contact.first_name, contact.last_name, rules.near_duplicates):
            continue  # a handle or another's name: a relative's, read on her computer
        for ref in online:
            if find(ref) != root and not any(
                m[0] == "crm" for m in partition.groups[find(ref)].members
            ):
                yield ref, holder, key


def claimed_online_orders(
    carriers: Mapping[ValueKey, list[RecordData]],
    status: Mapping[ValueKey, str],
    partition: Partition,
    records: Mapping[RecordKey, RecordData],
    lines_records: Mapping[RecordKey, RecordData],
    rules: Rules,
    crowded: Set[str] = frozenset(),
) -> Iterator[tuple[RecordKey, RecordKey, ValueKey, str]]:
    """``(online customer, contact, e-mail, via)``: the online customers her logged-in
    sessions claim (``rules.logins_claim_online_orders``,
    :func:`~membergraph.identity.member_emails.online_orders_of_logins`, via ``login``),
    then those her devices claim (``rules.devices_claim_online_orders``, via ``device``),
    each read against the partition as the caller's links leave it."""
    if rules.logins_claim_online_orders:
        for ref, contact, key in online_orders_of_logins(
            carriers, status, partition, records, lines_records, rules
        ):
            yield ref, contact, key, "login"
    if rules.devices_claim_online_orders:
        for ref, contact, key in online_orders_of_devices(
            carriers, status, partition, records, lines_records, rules, crowded
        ):
            yield ref, contact, key, "device"

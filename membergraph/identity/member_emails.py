"""E-mails that link once the profile records' members are known (the engine's profile
phase, after its duplicates and shared values; ``rules``' two keys below).

- A ``shared`` e-mail (on contacts that read as two people: ``Jhnny``, ``John`` and ``Jihn
  Moore``, Jhnny and Jihn no pair, each close to John) whose contacts all ended in one
  member is that member's (``shared_emails_of_one_member``).
- An online customer (card-less orders under an e-mail) that no contact's member holds is
  the member's whose logged-in events give that e-mail, when those logins lead to one
  member and the address names no relative of its holder (``logins_claim_online_orders``:
  her guest checkouts under the address she types when logged in).

Each is a generator of the links to try, read against the partition as it is when the
caller asks for the next: a link the caller made moves what the next one sees.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator, Mapping
from typing import TYPE_CHECKING

from membergraph.connectors.models import LOGIN_MARK
from membergraph.identity.email_names import a_relatives_email
from membergraph.identity.normalize import IdentifierKind

if TYPE_CHECKING:
    from membergraph.identity.partition import Partition
    from membergraph.identity.records import RecordData, RecordKey
    from membergraph.identity.rules import Rules
    from membergraph.identity.values import ValueKey

__all__ = ["online_orders_of_logins", "shared_emails_of_one_member"]

Carriers = Mapping["ValueKey", list["RecordData"]]


def _held_by_a_contact(partition: Partition, ref: RecordKey) -> bool:
    return any(m[0] == "crm" for m in partition.groups[partition.find(ref)].members)


def shared_emails_of_one_member(
    carriers: Carriers,
    status: dict[ValueKey, str],
    partition: Partition,
    given: Callable[[ValueKey, list[RecordData]], bool],
    strangers: Callable[[RecordKey, str], bool],
    unnamed: Container[ValueKey] = (),
) -> Iterator[tuple[RecordKey, RecordKey, ValueKey]]:
    """``(record, contact, e-mail)`` for each profile record no contact's member holds that
    carries a shared e-mail whose contacts are all in one member, which the e-mail then
    links (its ``status`` becomes ``linkable``). ``given``: whether the customer gave the
    value (not staff typing it each time); ``strangers``: whether an e-mail on a card's
    purchases is someone else's than the holder's (a guest's); ``unnamed``: e-mails some
    contact carries as a relative's that name none of the others (another young adult of
    the household's): no one's to take."""
    find = partition.find
    for key, carried in carriers.items():
        if key[0] is not IdentifierKind.EMAIL or status[key] != "shared":
            continue
        if key in unnamed:
            continue
        contacts = [r.ref for r in carried if r.source == "crm"]
        if len({find(ref) for ref in contacts}) != 1 or not given(key, carried):
            continue
        status[key] = "linkable"
        root = find(contacts[0])
        for record in carried:
            if record.role != "profile" or find(record.ref) == root:
                continue
            if _held_by_a_contact(partition, record.ref) or strangers(record.ref, key[1]):
                continue
            yield record.ref, contacts[0], key


def online_orders_of_logins(
    carriers: Carriers,
    status: Mapping[ValueKey, str],
    partition: Partition,
    records: Mapping[RecordKey, RecordData],
    lines_records: Mapping[RecordKey, RecordData],
    rules: Rules,
) -> Iterator[tuple[RecordKey, RecordKey, ValueKey]]:
    """``(online customer, contact, e-mail)`` for each online customer no contact's member
    holds whose e-mail logged-in events give, their logins leading to one member (the
    contact is one of its holders) and the address naming no relative of that contact.
    ``lines_records``: the records as the lines said (a device's own record names no one:
    the engine reads it as carrying the device's logins and e-mails, ``records``)."""
    find = partition.find
    for key, carried in carriers.items():
        if key[0] is not IdentifierKind.EMAIL or status[key] != "linkable":
            continue
        online = [r.ref for r in carried if r.role == "profile" and r.key.startswith("online:")]
        if not online:
            continue
        # Logged-in events that give it themselves.
        logins = {
            i.key
            for r in carried
            if r.source == "web_analytics" and LOGIN_MARK in r.key
            for i in lines_records[r.ref].identifiers
            if i.kind is IdentifierKind.CRM_ID and i.via == "login"
        }
        holders = {
            find(c.ref): c.ref
            for login in sorted(logins)
            if status.get((IdentifierKind.CRM_ID, login)) == "linkable"
            for c in carriers.get((IdentifierKind.CRM_ID, login), ())
            if c.source == "crm"
        }
        if len(holders) != 1:
            continue  # no contact logged in with it, or two members' (a family's)
        ((root, holder),) = holders.items()
        contact = records[holder]
        if rules.relatives_emails and a_relatives_email(
            key[1], contact.first_name or "", contact.last_name or "", rules.near_duplicates
        ):
            continue  # a relative's address she typed for him (his orders, not hers)
        for ref in online:
            if find(ref) != root and not _held_by_a_contact(partition, ref):
                yield ref, holder, key

"""E-mails that link once the profile records' members are known (the engine's profile
phase, after its duplicates and shared values; ``rules``' two keys below).

- A ``shared`` e-mail (on contacts that read as two people: ``Jhnny``, ``John`` and ``Jihn
  Moore``, Jhnny and Jihn no pair, each close to John) whose contacts all ended in one
  member is that member's (``shared_emails_of_one_member``).
- A ``shared`` e-mail whose contacts are seen using it (given with their cards' purchases,
  by their logged-in sessions) only in one member, as their only address, naming them or no
  one, is that member's for the card-less online orders under it
  (``shared_emails_of_users``): a parent's handle on a student's contact, given with the
  parent's card only.
- A ``shared`` e-mail whose contacts all but one member's never order under it (it names
  them not, and each is seen using addresses of her own and never this one), holding no
  family name of theirs unless it names the rest, is the rest's for the card-less
  online orders under it (``shared_emails_given_for_others``): a parent's handle given at
  a student's enrolment, a clerk's own address typed on a guest's contact.
- An online customer (card-less orders under an e-mail) that no contact's member holds is
  the member's whose logged-in events give that e-mail, when those logins lead to one
  member and the address names no relative of its holder (``logins_claim_online_orders``:
  her guest checkouts under the address she types when logged in).

Each is a generator of the links to try, read against the partition as it is when the
caller asks for the next: a link the caller made moves what the next one sees.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING

from membergraph.connectors.models import LOGIN_MARK
from membergraph.identity.email_names import a_relatives_email, names_anyone, names_her
from membergraph.identity.normalize import IdentifierKind, fold_name
from membergraph.identity.ordering_emails import seen_using

if TYPE_CHECKING:
    from membergraph.identity.near_duplicates import NearDuplicates
    from membergraph.identity.partition import Partition
    from membergraph.identity.records import RecordData, RecordKey
    from membergraph.identity.rules import Rules
    from membergraph.identity.values import ValueKey

__all__ = [
    "online_customers",
    "online_orders_of_logins",
    "shared_emails_given_for_others",
    "shared_emails_of_one_member",
    "shared_emails_of_users",
]

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


def shared_emails_of_users(
    carriers: Carriers,
    status: Mapping[ValueKey, str],
    partition: Partition,
    records: Mapping[RecordKey, RecordData],
    strangers: Callable[[RecordKey, str], bool],
    names: NearDuplicates,
) -> Iterator[tuple[RecordKey, RecordKey, ValueKey]]:
    """``(online customer, contact, e-mail)`` for each online customer no contact's member
    holds under a shared e-mail whose contacts seen using it
    (:func:`~membergraph.identity.ordering_emails.seen_using`: given with their cards'
    purchases as the holders' own, not a guest's on a clerk's card, or by their logged-in
    sessions) are all in one member, when it is the only address of each of them
    (``records``) and names them or no one (``names``): a family's (``thejordanfamily@``,
    or beside her own address), which any of the household orders under, links nothing; so
    does one each uses (several members) or no contact is seen using."""
    find = partition.find
    for key, carried, online in online_customers(carriers, status, "shared"):
        users = [
            r.ref
            for r in carried
            if r.source == "crm" and seen_using(r, key[1], carriers, _holders_own(strangers))
        ]
        if any(_another_email(records[ref], key, status) for ref in users):
            continue  # her own address beside it: the shared one is the family's
        if names_anyone(key[1], names) and not all(
            names_her(key[1], records[ref].first_name, records[ref].last_name, names)
            for ref in users
        ):
            continue  # a family's name (thejordanfamily@), or another person's
        if len({find(ref) for ref in users}) != 1:
            continue
        root = find(users[0])
        for ref in online:
            if find(ref) != root and not _held_by_a_contact(partition, ref):
                yield ref, users[0], key


def shared_emails_given_for_others(
    carriers: Carriers,
    status: Mapping[ValueKey, str],
    partition: Partition,
    records: Mapping[RecordKey, RecordData],
    never_orders: Callable[[RecordKey, str], bool],
    names: NearDuplicates,
) -> Iterator[tuple[RecordKey, RecordKey, ValueKey]]:
    """``(online customer, contact, e-mail)`` for each online customer no contact's member
    holds under a shared e-mail whose contacts but one member's never order under it
    (``never_orders``: it names her not, and she is seen using addresses of her own and
    never it: :meth:`~membergraph.identity.profile_edges.ProfileEvidence.never_orders`),
    unless it holds a family name (theirs or a common one) and names not that member's
    contacts (``names``: the household's, which any of them orders under): a parent's handle on a
    student's contact (``bluejay7574@`` on José Hernández's, who orders under
    ``jose.hernandez@``), a clerk's own address typed on a guest's contact. Those set
    aside are one member's: a clerk's address typed for several guests (``penap@`` on three
    guests' contacts, his own not among them) leaves a guest who gave no other address."""
    find = partition.find
    for key, carried, online in online_customers(carriers, status, "shared"):
        contacts = [r.ref for r in carried if r.source == "crm"]
        rest = [ref for ref in contacts if not never_orders(ref, key[1])]
        if len(rest) in (0, len(contacts)) or len({find(ref) for ref in rest}) != 1:
            continue
        if len({find(ref) for ref in contacts if ref not in rest}) != 1:
            continue  # a clerk's own address typed for guests: on several, his not among them
        if _a_family_name(key[1], (records[ref] for ref in contacts), names) and not all(
            names_her(key[1], records[ref].first_name, records[ref].last_name, names)
            for ref in rest
        ):
            continue  # the household's (thereeds80@), which any of them orders under
        root = find(rest[0])
        for ref in online:
            if find(ref) != root and not _held_by_a_contact(partition, ref):
                yield ref, rest[0], key


def _a_family_name(email: str, contacts: Iterable[RecordData], names: NearDuplicates) -> bool:
    """Whether an e-mail's part before ``@`` holds a word of three letters or more of the
    family name of a contact carrying it (``thereeds80@``), or a common family name of four
    or more (``names.family_names``: ``the.myers.family813@`` on the Martins', a mother's
    maiden name). Not ``names_anyone``'s first names: a handle's words hold them
    (``mapleleaf2520@``, ``sunshine5173@``)."""
    local = fold_name(email.rpartition("@")[0].split("+", 1)[0])
    theirs = (
        word
        for contact in contacts
        for word in map(fold_name, (contact.last_name or "").replace("-", " ").split())
        if len(word) >= 3
    )
    common = (word for word in map(fold_name, names.family_names) if len(word) >= 4)
    return any(word in local for word in (*theirs, *common))


def online_customers(
    carriers: Carriers, status: Mapping[ValueKey, str], wanted: str
) -> Iterator[tuple[ValueKey, list[RecordData], list[RecordKey]]]:
    """Each e-mail of status ``wanted`` with its carriers and the online customers (card-less
    orders' records) among them, for e-mails that have some."""
    for key, carried in carriers.items():
        if key[0] is not IdentifierKind.EMAIL or status[key] != wanted:
            continue
        online = [r.ref for r in carried if r.role == "profile" and r.key.startswith("online:")]
        if online:
            yield key, carried, online


def _another_email(contact: RecordData, key: ValueKey, status: Mapping[ValueKey, str]) -> bool:
    """Whether a contact has an e-mail on file besides ``key`` that identifies someone."""
    return any(
        i.kind is IdentifierKind.EMAIL
        and (i.kind, i.key) != key
        and status.get((i.kind, i.key)) in ("linkable", "shared")
        for i in contact.identifiers
    )


def _holders_own(strangers: Callable[[RecordKey, str], bool]) -> Callable[[RecordKey, str], bool]:
    return lambda ref, email: not strangers(ref, email)


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
    for key, carried, online in online_customers(carriers, status, "linkable"):
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
            key[1],
            contact.first_name or "",
            contact.last_name or "",
            rules.near_duplicates,
            first_names_not_slips=rules.relatives_emails_not_slips,
        ):
            continue  # a relative's address she typed for him (his orders, not hers)
        for ref in online:
            if find(ref) != root and not _held_by_a_contact(partition, ref):
                yield ref, holder, key

"""Records and values the engine sets aside before linking: they weigh in a value's status
but link no one.

A purchase record whose own lines show many people's purchases (a bag: a card scanned for
many guests, a till's own card) is nobody's; a CRM contact that gives a relative's e-mail (a
parent's address for a student) is not linked through it. Both leave the carriers the
engine links through, after the values' status was weighed with them.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence

from membergraph.identity.email_names import a_relatives_email, names_her
from membergraph.identity.normalize import IdentifierKind
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.values import ValueKey, bag_reason

__all__ = ["names_its_contacts", "set_bags_aside", "set_relatives_emails_aside"]

Carriers = MutableMapping[ValueKey, list[RecordData]]


def set_bags_aside(
    records: Mapping[RecordKey, RecordData],
    order: Sequence[RecordKey],
    carriers: Carriers,
    rules: Rules,
) -> dict[RecordKey, str]:
    """The purchase records whose own lines show many people's purchases
    (:func:`~membergraph.identity.values.bag_reason`: a card scanned for many guests, a
    till's own card or address used many times a day), each with why. Such a record is
    nobody's and links nothing: it leaves ``carriers`` (the values' status was weighed
    with it, as one more person who typed them at a till)."""
    bags = {}
    for ref in order:
        record = records[ref]
        if record.source == "transactions" and (why := bag_reason(record, rules)):
            bags[ref] = why
    for ref in bags:
        for ident in records[ref].identifiers:
            key = (ident.kind, ident.key)
            if key in carriers:
                carriers[key] = [r for r in carriers[key] if r.ref not in bags]
    return bags


def set_relatives_emails_aside(
    records: Mapping[RecordKey, RecordData],
    order: Sequence[RecordKey],
    carriers: Carriers,
    rules: Rules,
) -> set[ValueKey]:
    """A CRM contact leaves the carriers of an e-mail that names another person of her
    family (``rules.relatives_emails``: a parent's address given for a student): it
    links her to no one, and no one to her (the value's status was weighed with her,
    as for a bag). Answers the e-mails some contact left."""
    left: set[ValueKey] = set()
    if not rules.relatives_emails:
        return left
    names = rules.near_duplicates
    for ref in order:
        record = records[ref]
        if record.source != "crm" or not record.first_name or not record.last_name:
            continue
        for ident in record.identifiers:
            if ident.kind is not IdentifierKind.EMAIL:
                continue
            key = (ident.kind, ident.key)
            if key in carriers and a_relatives_email(
                ident.value,
                record.first_name,
                record.last_name,
                names,
                first_names_not_slips=rules.relatives_emails_not_slips,
            ):
                carriers[key] = [r for r in carriers[key] if r.ref != ref]
                left.add(key)
    return left


def names_its_contacts(
    key: ValueKey, carriers: Mapping[ValueKey, list[RecordData]], rules: Rules
) -> bool:
    """Whether an e-mail names every CRM contact still carrying it
    (:func:`~membergraph.identity.email_names.names_her`)."""
    near = rules.near_duplicates
    return all(
        names_her(key[1], r.first_name, r.last_name, near)
        for r in carriers[key]
        if r.source == "crm"
    )

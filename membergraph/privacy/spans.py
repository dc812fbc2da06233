"""Whether the member an erasure is asked for holds more than one person.

A member is what the identity engine and the stewards made of the records: a steward's
wrong ``linkRecords`` puts another customer's contact in it, and erasing the member would
erase him too, for good (his values suppressed). So before a member is erased whole, its
CRM contacts are read as the engine reads two contacts (:meth:`NearDuplicates.same_person`:
names written differently, a family name changed under one birth date) and grouped into
the people they stand for, and the stewards' links inside it are listed. A member whose
contacts are more than one person, or that a steward's link holds together, is erased
only once the officer says which of its records are hers, or that all of them are.
A contact without a full name, or one a till typed for no one (``Walk-In Customer``),
says nothing of who it is and is nobody's person.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date

from membergraph.connectors.models import SourceName
from membergraph.identity.people import crm_signatures
from membergraph.identity.records import RecordData, RecordKey
from membergraph.identity.rules import Rules
from membergraph.identity.store.port import IdentityStore

__all__ = [
    "Contact",
    "NotInMember",
    "Spans",
    "SpansPeople",
    "erasure_scope",
    "people_in",
    "read_people",
]


@dataclass(frozen=True, slots=True)
class Contact:
    """One CRM contact of the member, and which person (``0``, ``1``, ...) it reads as;
    ``None``: it names no one (no full name)."""

    key: str
    first_name: str | None
    last_name: str | None
    birth_date: str | None
    person: int | None


@dataclass(frozen=True, slots=True)
class Spans:
    """The member's CRM contacts, how many people they read as, and its stewards' links."""

    contacts: tuple[Contact, ...]
    people: int
    steward_links: tuple[tuple[RecordKey, RecordKey], ...]

    def __bool__(self) -> bool:
        """Whether erasing the member whole may erase someone else."""
        return self.people > 1 or bool(self.steward_links)

    def contact_ids(self) -> list[str]:
        """The CRM ids of the contacts, when they read as more than one person."""
        return [c.key for c in self.contacts] if self.people > 1 else []


async def people_in(store: IdentityStore, member_id: str, rules: Rules) -> Spans:
    """The people the member ``member_id`` (live) holds, as its contacts read."""
    [refs] = await store.member_records([member_id])
    crm = [ref for ref in refs if ref[0] == SourceName.CRM.value]
    contacts, people = read_people((await store.load_records(crm)).values(), rules)
    held = set(refs)
    links = {
        (min(link.a, link.b), max(link.a, link.b))
        for link in await store.manual_links(refs)
        if link.a in held and link.b in held
    }
    return Spans(contacts, people, tuple(sorted(links)))


def read_people(records: Iterable[RecordData], rules: Rules) -> tuple[tuple[Contact, ...], int]:
    """CRM contacts as the people they read as: each contact with its person's number, and
    how many people there are."""
    listed = {record.ref: record for record in records if record.source == SourceName.CRM.value}
    signed = {ref: sig for ref, sig in crm_signatures(listed.values(), rules).items() if sig}
    same = rules.near_duplicates.same_person
    people: list[list[RecordKey]] = []  # contacts read as one person, each group sorted
    for ref, sig in sorted(signed.items()):
        joined = [p for p in people if any(same(sig, signed[other]) for other in p)]
        rest = [p for p in people if p not in joined]
        people = [*rest, sorted([ref, *(r for p in joined for r in p)])]
    people.sort()
    person_of = {ref: n for n, group in enumerate(people) for ref in group}
    contacts = tuple(
        Contact(r.key, r.first_name, r.last_name, _iso(r.birth_date), person_of.get(ref))
        for ref, r in sorted(listed.items())
    )
    return contacts, len(people)


def _iso(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


class SpansPeople(ValueError):
    """The member holds more than one person's contacts, or records a steward linked: an
    erasure of it names the records that are hers, or confirms the whole member."""

    def __init__(self, member_id: str, spans: Spans) -> None:
        self.member_id, self.spans = member_id, spans
        super().__init__(f"member {member_id} may hold more than one person")


class NotInMember(ValueError):
    """Records named hers that the member does not hold."""

    def __init__(self, member_id: str, refs: list[RecordKey]) -> None:
        self.member_id, self.refs = member_id, refs
        super().__init__(f"{len(refs)} record(s) named are not in member {member_id}")


async def erasure_scope(
    store: IdentityStore,
    rules: Rules,
    member_id: str,
    only: Collection[RecordKey] | None,
    whole: bool,
) -> list[RecordKey] | None:
    """The records a new erasure of the live member ``member_id`` is narrowed to (None: the
    whole member), once the officer said enough.

    Raises:
        NotInMember: ``only`` names a record the member does not hold.
        SpansPeople: neither ``only`` nor ``whole``, and the member may hold two people.
    """
    if only:
        [held] = await store.member_records([member_id])
        outside = sorted(set(only) - set(held))
        if outside:
            raise NotInMember(member_id, outside)
        return None if set(held) <= set(only) else sorted(set(only))
    if not whole and (spans := await people_in(store, member_id, rules)):
        raise SpansPeople(member_id, spans)
    return None

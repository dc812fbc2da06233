"""An erasure's dry run in the schema (``eraseMember(dryRun: true)``): what would go, and the
people the member's CRM contacts read as, masked as the caller's scopes mask."""

from __future__ import annotations

import strawberry

from membergraph.privacy.preview import ErasurePreview
from membergraph.schema.enums import Source
from membergraph.schema.permissions import MaskPII
from membergraph.schema.types import IdentifierKind, Record, as_record

__all__ = ["ErasurePreviewType", "preview_of"]


@strawberry.type(description="How many, of one source.")
class SourceCount:
    source: Source = strawberry.field(description="The source.")
    count: int = strawberry.field(description="How many.")


@strawberry.type(description="How many identifiers, of one kind.")
class KindCount:
    kind: IdentifierKind = strawberry.field(description="The kind.")
    count: int = strawberry.field(description="How many.")


@strawberry.type(description="One CRM contact of the member, and the person it reads as.")
class ErasureContact:
    crm_id: str = strawberry.field(description="The contact's `contact_id`.")
    first_name: str | None = strawberry.field(
        extensions=[MaskPII("text")], description="First name."
    )
    last_name: str | None = strawberry.field(extensions=[MaskPII("text")], description="Last name.")
    birth_date: str | None = strawberry.field(
        extensions=[MaskPII("text")], description="Birth date (ISO), if given."
    )
    person: int | None = strawberry.field(
        description="Which person it reads as (0, 1, ...: contacts of one number read as one "
        "person by the identity rules' own name and birth-date comparison); null: no full "
        "name, so it says nothing of who it is."
    )


@strawberry.type(description="Two records a steward's link holds together in the member.")
class StewardLinked:
    a: Record = strawberry.field(description="One record.")
    b: Record = strawberry.field(description="The other.")


@strawberry.type(
    name="ErasurePreview",
    description="What an erasure would take, changing nothing (`eraseMember(dryRun: true)`).",
)
class ErasurePreviewType:
    member_id: strawberry.ID = strawberry.field(description="The member it would erase from.")
    spans_people: bool = strawberry.field(
        description="Whether the member may hold more than one person (its CRM contacts read "
        "as several, or a steward's link holds records together): erased whole only with "
        "`wholeMember: true`, else name her `records`."
    )
    people: int = strawberry.field(description="How many people its CRM contacts read as.")
    contacts: list[ErasureContact] = strawberry.field(description="The member's CRM contacts.")
    steward_links: list[StewardLinked] = strawberry.field(
        description="The stewards' links inside the member."
    )
    records: list[SourceCount] = strawberry.field(
        description="The records that would go, by source (hers elsewhere included)."
    )
    suppressed: list[KindCount] = strawberry.field(
        description="The identifiers that would be suppressed, by kind."
    )
    left_to_others: int = strawberry.field(
        description="Her values another live member carries too: left unsuppressed."
    )
    lines: list[SourceCount] = strawberry.field(
        description="The source lines that would go, by source (her records' own, hers on a "
        "shared device, kept for no one and naming her; lines failing validation are found "
        "only as the erasure rewrites the files)."
    )
    members_elsewhere: int = strawberry.field(
        description="Other members that would lose a record of hers, or the rest of them."
    )


def preview_of(found: ErasurePreview) -> ErasurePreviewType:
    """The schema's view of a dry run."""
    spans = found.spans
    return ErasurePreviewType(
        member_id=strawberry.ID(found.member_id),
        spans_people=bool(spans),
        people=spans.people,
        contacts=[
            ErasureContact(
                crm_id=c.key,
                first_name=c.first_name,
                last_name=c.last_name,
                birth_date=c.birth_date,
                person=c.person,
            )
            for c in spans.contacts
        ],
        steward_links=[
            StewardLinked(a=as_record(a), b=as_record(b)) for a, b in spans.steward_links
        ],
        records=[SourceCount(source=Source(s), count=n) for s, n in sorted(found.records.items())],
        suppressed=[
            KindCount(kind=IdentifierKind(k), count=n) for k, n in sorted(found.suppressed.items())
        ],
        left_to_others=found.left_to_others,
        lines=[SourceCount(source=Source(s), count=n) for s, n in sorted(found.lines.items())],
        members_elsewhere=found.members_elsewhere,
    )

"""GraphQL object types. Resolvers hand back domain objects; these types read them.

Every type, field and argument has a description: GraphiQL shows them to analysts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from enum import Enum
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from membergraph.identity.line_records import typed_record_key
from membergraph.identity.normalize import IdentifierKind as _IdentifierKind
from membergraph.identity.undo import undoable
from membergraph.masking import meaning_of_kind
from membergraph.resolvers.context import RequestContext
from membergraph.resolvers.errors import bad_input
from membergraph.resolvers.store_keys import store_keys
from membergraph.schema.enums import (
    Source,
)
from membergraph.schema.permissions import MaskPII


@strawberry.enum(description="The kinds of identifier a member can be looked up by.")
class IdentifierKind(Enum):
    EMAIL = strawberry.enum_value("EMAIL", description="E-mail address (trimmed, lower-cased).")
    PHONE = strawberry.enum_value(
        "PHONE", description="Phone number (E.164; local numbers read in the default region)."
    )
    LOYALTY_ID = strawberry.enum_value(
        "LOYALTY_ID", description="Loyalty card number (upper case, no separators)."
    )
    CRM_ID = strawberry.enum_value("CRM_ID", description="CRM contact_id.")
    ANONYMOUS_ID = strawberry.enum_value(
        "ANONYMOUS_ID", description="Web analytics anonymous (device) id."
    )

    def domain(self) -> _IdentifierKind:
        return _IdentifierKind(self.value)  # type: ignore[arg-type]  # enum_value("EMAIL")


Ctx = Info[RequestContext, None]

_REF = (
    "What to key this {this} by: opaque (16 characters), the same for the same {what} in "
    "every answer, for every caller and scope, different for different ones (two members "
    "holding one value show one ref), and telling nothing of the value (a keyed "
    "hash under the store's secret), so never masked. Masked values may read alike "
    "(`s***@gmail.com` twice); refs do not (docs/security.md)."
)

_PROFILE_MEANING = {
    "email": "email",
    "phone": "phone",
    "first_name": "text",
    "last_name": "text",
    "birth_date": "text",
    "address": "text",
}
"""How a surviving profile field's value is masked in its lineage, as the field itself is."""


def value_of(kind: Any) -> Any:
    """A kind as its plain value, whether given as an enum member or as written."""
    return getattr(kind, "value", kind)


@strawberry.type(description="A source's own notion of a customer: a node of the identity graph.")
class Record:
    source: Source = strawberry.field(description="The source it comes from.")
    key: str = strawberry.field(
        extensions=[MaskPII("key")],
        description="The record's key in its source: a contact_id, `loyalty:<card>`, "
        "`online:<email>`, an anonymous_id (a device's events of no one logged in), "
        "`<anonymous_id>|login:<contact_id>` (a login's events on that device) or an "
        "interaction_id.",
    )

    @strawberry.field(description=_REF.format(this="record", what="source and key"))
    async def ref(self, root: strawberry.Parent[Any], info: Ctx) -> strawberry.ID:
        keys = await store_keys(info.context)
        return strawberry.ID(keys.ref("record", str(value_of(root.source)), root.key))


def as_record(ref: tuple[str, str]) -> Record:
    return Record(source=Source(ref[0]), key=ref[1])


@strawberry.type(description="An identifier value and the records that carry it.")
class Identifier:
    kind: IdentifierKind = strawberry.field(description="What kind of identifier this is.")
    value: str = strawberry.field(
        # By its kind, never its look: a card of digits only is no phone (docs/security.md).
        extensions=[MaskPII(lambda root: meaning_of_kind(value_of(root.kind)))],
        description="The value, normalized as at ingestion.",
    )
    records: list[Record] = strawberry.field(description="Records carrying this value.")

    @strawberry.field(description=_REF.format(this="identifier", what="kind and value"))
    async def ref(self, root: strawberry.Parent[Any], info: Ctx) -> strawberry.ID:
        keys = await store_keys(info.context)
        return strawberry.ID(keys.ref("identifier", str(value_of(root.kind)), root.value))


@strawberry.type(description="A postal address.")
class Address:
    line1: str | None = strawberry.field(
        extensions=[MaskPII("text")], description="Street and number."
    )
    city: str | None = strawberry.field(description="City.")
    postal_code: str | None = strawberry.field(
        extensions=[MaskPII("text")], description="Postal code."
    )
    country: str | None = strawberry.field(description="Country code.")


@strawberry.type(description="An e-mail or phone with the sources it was seen in.")
class ContactPoint:
    value: str = strawberry.field(
        extensions=[MaskPII("contact")], description="The normalized value."
    )
    sources: list[Source] = strawberry.field(description="Sources that gave this value.")
    last_seen: datetime | None = strawberry.field(description="When a source last gave it.")
    current: bool = strawberry.field(
        description="False: former. The CRM is the system of record of contact data, and "
        "the current version of every CRM contact that gave this value no longer carries "
        "it (withdrawn, or now someone else's), nor does any other record of the member. A "
        "former value still links the member's older facts, but it is listed after the "
        "current ones, is never `Profile.email` or `Profile.phone`, reaches no channel, and "
        "finds no one in `memberByIdentifier` unless `includeFormer` is true."
    )
    dropped_at: datetime | None = strawberry.field(
        description="When a former value stopped being current: the update time of the CRM "
        "contact's current version, which no longer carries it (null: current, or the "
        "contact is undated)."
    )

    @strawberry.field(
        description=_REF.format(this="value", what="value")
        + " The `ref` of the same value in `identifiers` (an EMAIL or a PHONE)."
    )
    async def ref(self, root: strawberry.Parent[Any], info: Ctx) -> strawberry.ID:
        kind = _IdentifierKind.EMAIL if "@" in root.value else _IdentifierKind.PHONE
        keys = await store_keys(info.context)
        return strawberry.ID(keys.ref("identifier", kind.value, root.value))


@strawberry.type(description="Where a surviving profile field came from.")
class FieldLineage:
    field: str = strawberry.field(description="Profile field (snake_case).")
    value: str | None = strawberry.field(
        extensions=[MaskPII(lambda root: _PROFILE_MEANING.get(root.field, "found"))],
        description="The surviving value.",
    )
    source: Source | None = strawberry.field(description="Source it came from.")
    record: str | None = strawberry.field(
        extensions=[MaskPII("key")], description="Record key in that source."
    )
    updated_at: datetime | None = strawberry.field(description="When that source last said so.")


@strawberry.type(description="One profile built from all the member's records, with lineage.")
class Profile:
    first_name: str | None = strawberry.field(
        extensions=[MaskPII("text")],
        description="First name (CRM, newest contact); `***` without pii:read.",
    )
    last_name: str | None = strawberry.field(
        extensions=[MaskPII("text")],
        description="Last name (CRM, newest contact); `***` without pii:read.",
    )
    birth_date: date | None = strawberry.field(
        extensions=[MaskPII("text")], description="Birth date (CRM); null without pii:read."
    )
    address: Address | None = strawberry.field(description="Postal address (CRM).")
    preferred_language: str | None = strawberry.field(description="Preferred language (CRM).")
    emails: list[ContactPoint] = strawberry.field(
        description="Every known e-mail, with its sources: the current ones first, then the "
        "former ones (`current: false`)."
    )
    phones: list[ContactPoint] = strawberry.field(
        description="Every known phone (E.164), with its sources: the current ones first, "
        "then the former ones (`current: false`)."
    )
    source_record: str | None = strawberry.field(
        description="The CRM contact_id the names came from (null: no CRM contact)."
    )
    updated_at: datetime | None = strawberry.field(description="When that CRM contact was updated.")
    email: ContactPoint | None = strawberry.field(
        description="The current e-mail seen most recently."
    )
    phone: ContactPoint | None = strawberry.field(
        description="The current phone seen most recently."
    )
    lineage: list[FieldLineage] = strawberry.field(
        description="Where each surviving field came from."
    )


@strawberry.type(description="Something that happened to a member's identity, with provenance.")
class IdentityEvent:
    id: strawberry.ID = strawberry.field(
        description="Event id (for undo). Opaque: digits today; for a token bound to one "
        "member sealed (the same at every reading, telling nothing of other members' changes)."
    )
    kind: str = strawberry.field(
        description="The rules': linked, unlinked, merged, conflict, value_blocked, "
        "unattributed; a steward's: steward (a change, with its rule), unmerged, "
        "suggestion_rejected; an upgrade's: rekeyed (records keyed anew by `membergraph "
        "reresolve`: what went where, and any steward's decision that could not follow)."
    )
    at: datetime = strawberry.field(description="When.")
    actor: str = strawberry.field(description="Rule engine run or person that made the change.")
    rule: str | None = strawberry.field(description="The rule (or conflict kind) involved.")
    reason: str | None = strawberry.field(
        extensions=[MaskPII("text", bound_too=True)],
        description="A person's stated reason: free text, `***` without pii:read and for a "
        "token bound to one member.",
    )
    evidence: JSON = strawberry.field(
        extensions=[MaskPII("evidence")],
        description="Identifier values and attributes compared. An `unlinked` event whose "
        "two records were parted names each one's member now (`member_ids`, in `records` "
        "order): the member that kept the ID names the one the other record went to.",
    )
    records: list[Record] = strawberry.field(description="The records concerned.")
    undoable: bool = strawberry.field(
        description="Whether `undo(eventId:)` takes this event: a steward's change (`steward`) "
        "or a merge (`merged`), unless it was undone since (see `undoneBy`). The rules' own "
        "decisions are not undone (split the member instead); a `suggestion_rejected` or "
        "`unmerged` decision is undone through the `steward` event written with it, and so is "
        "a conflict resolved by a link; a dismissed conflict (`conflict_resolved`, rule "
        "`dismiss`) is undone by its own event, and opens again. A later "
        "change resting on it is checked when undoing (LATER_CHANGES_DEPEND)."
    )
    undone_by: strawberry.ID | None = strawberry.field(
        default=None,
        description="The event that undid this one, when it stays undone (`undoable` is then "
        "false and `undo` answers `ALREADY_UNDONE`; undoing that event makes the change again). "
        "A merge whose two sides were parted since by a split or by the undo of the change "
        "that caused it is not undoable either, with no `undoneBy`.",
    )
    member_id: strawberry.Private[str | None] = None  # whose values it shows (the audit)


def identity_event(
    event: Any,
    taken_back: Mapping[int, int | None] | None = None,
    shown: Callable[[int], str] = str,
) -> IdentityEvent:
    """An event as the schema shows it; ``taken_back``: the events of its history that undo
    no longer takes, each with the undo that took it back, if one did; ``shown``: an event
    ID as the caller is shown it (sealed for a token bound to one member)."""
    taken_back = taken_back or {}
    undone_by = taken_back.get(event.id)
    return IdentityEvent(
        member_id=event.member_id,
        id=strawberry.ID(shown(event.id)),
        kind=event.kind,
        at=event.at,
        actor=event.actor,
        rule=event.rule,
        reason=event.reason,
        evidence=event.evidence,
        records=[as_record(r) for r in event.records],
        undoable=undoable(event) and event.id not in taken_back,
        undone_by=strawberry.ID(shown(undone_by)) if undone_by is not None else None,
    )


@strawberry.type(description="A link between two records, with its provenance.")
class Link:
    a: Record = strawberry.field(description="One record.")
    b: Record = strawberry.field(description="The other record.")
    rule: str = strawberry.field(description="The rule that made it (manual: a steward).")
    evidence: JSON = strawberry.field(
        extensions=[MaskPII("evidence")],
        description="Identifier values and attributes compared. An `unlinked` event whose "
        "two records were parted names each one's member now (`member_ids`, in `records` "
        "order): the member that kept the ID names the one the other record went to.",
    )
    actor: str = strawberry.field(description="Engine run or person.")
    created_at: datetime = strawberry.field(description="When.")


@strawberry.input(description="A record as `records { source key }` shows it.")
class RecordRefInput:
    source: Source = strawberry.field(description="The source it comes from.")
    key: str = strawberry.field(
        description="The record's key in its source. A purchase record's card or e-mail is "
        "read as a line's is: `loyalty:ld-1111-0001` is `loyalty:LD11110001`."
    )

    def ref(self) -> tuple[str, str]:
        """The record's key in the store (BAD_USER_INPUT if empty; the source is known: the
        enum's validation refused any other), a purchase record's card or e-mail normalized
        as a line's is (``loyalty:ld-1111-0001`` is ``loyalty:LD11110001``)."""
        if not self.key.strip():
            raise bad_input("a record key must not be empty")
        source = str(self.source.value)
        return (source, typed_record_key(source, self.key))

"""GraphQL object types. Resolvers hand back domain objects; these types read them.

Every type, field and argument has a description: GraphiQL shows them to analysts.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import Any, NewType

import strawberry
from graphql import GraphQLError, ValueNode, value_from_ast_untyped
from strawberry.scalars import JSON
from strawberry.types import Info

from membergraph.identity.normalize import IdentifierKind as _IdentifierKind
from membergraph.identity.undo import undoable
from membergraph.resolvers.context import RequestContext
from membergraph.resolvers.errors import bad_input
from membergraph.resolvers.paging import Page
from membergraph.schema.enums import (
    AccountKind,
    PurchaseChannel,
    Source,
    TransactionStatus,
    WebEventType,
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

_IDENTIFIER_MEANING = {"EMAIL": "email", "PHONE": "phone"}
"""How an identifier's value is masked, by its kind (a card or an id is not personal)."""
_PROFILE_MEANING = {
    "email": "email",
    "phone": "phone",
    "first_name": "text",
    "last_name": "text",
    "birth_date": "text",
    "address": "text",
}
"""How a surviving profile field's value is masked in its lineage, as the field itself is."""


def _value_of(kind: Any) -> Any:
    """A kind as its plain value, whether given as an enum member or as written."""
    return getattr(kind, "value", kind)


@strawberry.type(description="A source's own notion of a customer: a node of the identity graph.")
class Record:
    source: Source = strawberry.field(description="The source it comes from.")
    key: str = strawberry.field(
        extensions=[MaskPII("key")],
        description="The record's key in its source: a contact_id, `loyalty:<card>`, "
        "`online:<email>`, an anonymous_id or an interaction_id.",
    )


def as_record(ref: tuple[str, str]) -> Record:
    return Record(source=Source(ref[0]), key=ref[1])


@strawberry.type(description="An identifier value and the records that carry it.")
class Identifier:
    kind: IdentifierKind = strawberry.field(description="What kind of identifier this is.")
    value: str = strawberry.field(
        extensions=[MaskPII(lambda root: _IDENTIFIER_MEANING.get(_value_of(root.kind), "found"))],
        description="The value, normalized as at ingestion.",
    )
    records: list[Record] = strawberry.field(description="Records carrying this value.")


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
        description="Every known e-mail, with its sources."
    )
    phones: list[ContactPoint] = strawberry.field(
        description="Every known phone (E.164), with its sources."
    )
    source_record: str | None = strawberry.field(
        description="The CRM contact_id the names came from (null: no CRM contact)."
    )
    updated_at: datetime | None = strawberry.field(description="When that CRM contact was updated.")
    email: ContactPoint | None = strawberry.field(description="The e-mail seen most recently.")
    phone: ContactPoint | None = strawberry.field(description="The phone seen most recently.")
    lineage: list[FieldLineage] = strawberry.field(
        description="Where each surviving field came from."
    )


def _big_int(value: Any) -> int:
    whole = not isinstance(value, bool) and isinstance(value, int | str)
    try:
        number = int(value) if whole else None
    except ValueError:
        number = None
    if number is None:
        raise ValueError(f"BigInt cannot represent {value!r}: not a whole number")
    if abs(number) > 2**53 - 1:  # beyond what a JavaScript number holds exactly
        raise ValueError(f"BigInt {number} is beyond 2^53-1 (9007199254740991)")
    return number


def _big_int_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> int:
    # Raised as a GraphQLError, validation says it as it is: any other exception would be
    # wrapped as an unexpected one, masked ("Unexpected error.") and logged as a failure.
    try:
        return _big_int(value_from_ast_untyped(node, variables))
    except ValueError as exc:
        raise GraphQLError(str(exc), node) from None


BigInt = NewType("BigInt", int)
BIG_INT = strawberry.scalar(
    name="BigInt",
    description="A whole number up to 2^53-1 (exact in JavaScript), sent as a JSON number: "
    "sums of amounts and points, which GraphQL's 32-bit Int cannot always carry.",
    serialize=_big_int,
    parse_value=_big_int,
    parse_literal=_big_int_literal,
)
"""The scalar of :data:`BigInt` (``StrawberryConfig.scalar_map``)."""


@strawberry.type(description="A member's standing in the loyalty program.")
class Loyalty:
    points_balance: BigInt = strawberry.field(
        description="Points earned minus redeemed (and expired, when points expire) over "
        "completed transactions; refunds and cancellations reverse theirs, a refund line "
        "takes its points back."
    )
    points_earned: BigInt = strawberry.field(description="Points earned on completed transactions.")
    points_redeemed: BigInt = strawberry.field(
        description="Points redeemed on completed transactions."
    )
    lifetime_spend_cents: BigInt = strawberry.field(
        description="Spend over completed transactions."
    )
    points_expired: BigInt = strawberry.field(
        description="Points that expired unspent (MEMBERGRAPH_POINTS_EXPIRY_DAYS; 0 when "
        "points never expire)."
    )
    tier: str = strawberry.field(
        description="Tier reached by the qualifying spend (lifetime spend, or that of the "
        "qualification window: MEMBERGRAPH_TIER_QUALIFICATION_DAYS)."
    )
    qualifying_spend_cents: BigInt = strawberry.field(
        description="The spend the tier is reached by: lifetime, or that of the last "
        "MEMBERGRAPH_TIER_QUALIFICATION_DAYS days before the reference."
    )
    next_tier: str | None = strawberry.field(description="The next tier, if any.")
    spend_to_next_tier_cents: BigInt | None = strawberry.field(
        description="Qualifying spend still needed for it."
    )
    loyalty_ids: list[str] = strawberry.field(description="The member's loyalty numbers.")
    rolling_12m_spend_cents: BigInt = strawberry.field(
        description="Spend over the last 365 days before the reference (the window `rfm` uses)."
    )
    anomalies: list[str] = strawberry.field(
        description="What the loyalty team must look at: NEGATIVE_BALANCE (more points "
        "redeemed than earned, or than held once expired points are gone). List them "
        "with `members(filter: {pointsBalance: {max: -1}})`."
    )

    @strawberry.field(description="Points earned per channel (store, online).")
    def points_by_channel(self, root: strawberry.Parent[Any]) -> list[ChannelPoints]:
        return [ChannelPoints(channel=c, points=p) for c, p in root.points_by_channel]


@strawberry.type(description="Points earned on one channel.")
class ChannelPoints:
    channel: PurchaseChannel = strawberry.field(description="The channel.")
    points: BigInt = strawberry.field(description="Points earned there.")


@strawberry.type(description="One item of a transaction.")
class LineItem:
    sku: str = strawberry.field(description="Stock keeping unit.")
    category: str | None = strawberry.field(description="Product category.")
    quantity: int = strawberry.field(description="Units bought.")
    unit_price_cents: int = strawberry.field(description="Price of one unit.")


@strawberry.type(description="A purchase, refund or cancellation from the transaction system.")
class Transaction:
    transaction_id: str = strawberry.field(description="The source's id.")
    loyalty_id: str | None = strawberry.field(description="Card scanned, as given.")
    email: str | None = strawberry.field(
        extensions=[MaskPII("email")], description="E-mail of an online order, as given."
    )
    store_id: str | None = strawberry.field(description="Store, for in-store purchases.")
    channel: PurchaseChannel = strawberry.field(description="Where it was made.")
    occurred_at: datetime = strawberry.field(description="When it happened.")
    amount_cents: int = strawberry.field(description="Amount in cents.")
    currency: str = strawberry.field(description="ISO 4217 currency.")
    points_earned: int = strawberry.field(description="Points earned.")
    points_redeemed: int = strawberry.field(description="Points redeemed.")
    status: TransactionStatus = strawberry.field(description="Where it stands.")
    items: list[LineItem] = strawberry.field(description="What was bought.")


@strawberry.type(description="A web analytics event.")
class WebEvent:
    event_id: str = strawberry.field(description="The source's id.")
    anonymous_id: str = strawberry.field(description="The visitor (device) id.")
    user_id: str | None = strawberry.field(description="CRM contact_id once logged in.")
    type: WebEventType = strawberry.field(description="The kind of event.")
    name: str | None = strawberry.field(description="Event name, e.g. Offer Redeemed.")
    occurred_at: datetime = strawberry.field(description="When it happened.")
    properties: JSON = strawberry.field(
        extensions=[MaskPII()], description="Event properties as sent."
    )


@strawberry.type(description="The account an agent typed.")
class AccountRef:
    kind: AccountKind = strawberry.field(description="What was typed.")
    value: str = strawberry.field(
        extensions=[MaskPII(lambda root: "email" if _value_of(root.kind) == "email" else "found")],
        description="As typed.",
    )


@strawberry.type(description="A call-center interaction.")
class CallInteraction:
    interaction_id: str = strawberry.field(description="The source's id.")
    caller_phone: str | None = strawberry.field(
        extensions=[MaskPII("phone")], description="Caller number from the switch."
    )
    account_ref: AccountRef | None = strawberry.field(description="Account typed by the agent.")
    agent_id: str | None = strawberry.field(description="Agent.")
    started_at: datetime = strawberry.field(description="When the call started.")
    duration_s: int = strawberry.field(description="Duration in seconds.")
    reason: str | None = strawberry.field(description="Reason for the call.")
    sentiment: float | None = strawberry.field(description="Sentiment from -1 to 1.")
    resolved: bool | None = strawberry.field(description="Whether the issue was resolved.")


@strawberry.type(description="Something that happened to a member's identity, with provenance.")
class IdentityEvent:
    id: strawberry.ID = strawberry.field(description="Event id (for undo).")
    kind: str = strawberry.field(
        description="The rules': linked, unlinked, merged, conflict, value_blocked, "
        "unattributed; a steward's: steward (a change, with its rule), unmerged, "
        "suggestion_rejected."
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
        extensions=[MaskPII()], description="Identifier values and attributes compared."
    )
    records: list[Record] = strawberry.field(description="The records concerned.")
    undoable: bool = strawberry.field(
        description="Whether `undo(eventId:)` takes this event: a steward's change (`steward`) "
        "or a merge (`merged`). The rules' own decisions are not undone (split the member "
        "instead); a `suggestion_rejected` or `unmerged` decision is undone through the "
        "`steward` event written with it. A later change resting on it is checked when "
        "undoing (LATER_CHANGES_DEPEND)."
    )
    member_id: strawberry.Private[str | None] = None  # whose values it shows (the audit)


def identity_event(event: Any) -> IdentityEvent:
    return IdentityEvent(
        member_id=event.member_id,
        id=strawberry.ID(str(event.id)),
        kind=event.kind,
        at=event.at,
        actor=event.actor,
        rule=event.rule,
        reason=event.reason,
        evidence=event.evidence,
        records=[as_record(r) for r in event.records],
        undoable=undoable(event.kind),
    )


@strawberry.type(description="A link between two records, with its provenance.")
class Link:
    a: Record = strawberry.field(description="One record.")
    b: Record = strawberry.field(description="The other record.")
    rule: str = strawberry.field(description="The rule that made it (manual: a steward).")
    evidence: JSON = strawberry.field(
        extensions=[MaskPII()], description="Identifier values and attributes compared."
    )
    actor: str = strawberry.field(description="Engine run or person.")
    created_at: datetime = strawberry.field(description="When.")


@strawberry.input(description="A record as `records { source key }` shows it.")
class RecordRefInput:
    source: Source = strawberry.field(description="The source it comes from.")
    key: str = strawberry.field(description="The record's key in its source.")

    def ref(self) -> tuple[str, str]:
        """The record's key in the store (BAD_USER_INPUT if empty; the source is known: the
        enum's validation refused any other)."""
        if not self.key.strip():
            raise bad_input("a record key must not be empty")
        return (str(self.source.value), self.key)


@strawberry.type(description="Paging information of a connection.")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More items follow.")
    has_previous_page: bool = strawberry.field(description="Items precede this page.")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item.")
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item; pass as `after`."
    )


def _page_info(page: Page[Any]) -> PageInfo:
    cursors = [cursor for cursor, _ in page.items]
    return PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=cursors[0] if cursors else None,
        end_cursor=cursors[-1] if cursors else None,
    )


@strawberry.type(description="A transaction and its cursor.")
class TransactionEdge:
    cursor: str = strawberry.field(description="Opaque cursor.")
    node: Transaction = strawberry.field(description="The transaction.")


@strawberry.type(description="A page of transactions, newest first.")
class TransactionConnection:
    edges: list[TransactionEdge] = strawberry.field(description="This page.")
    page_info: PageInfo = strawberry.field(description="Paging information.")
    total_count: int = strawberry.field(description="All of the member's transactions.")

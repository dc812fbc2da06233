"""GraphQL types of insights: lineage, loyalty extras, RFM, segments, consent, timeline."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from membergraph.insights.segment_words import DESCRIPTIONS
from membergraph.schema.enums import ActivityKind, Source
from membergraph.schema.facts import BigInt, CallInteraction, PageInfo, Transaction, WebEvent
from membergraph.schema.permissions import MaskPII


@strawberry.enum(
    description="Segments, computed against the population (definitions in "
    "membergraph/insights/rfm.py; day counts are the defaults, MEMBERGRAPH_SEGMENTS)."
)
class Segment(Enum):
    HYPERACTIVE = strawberry.enum_value("HYPERACTIVE", description=DESCRIPTIONS["HYPERACTIVE"])
    LOYAL = strawberry.enum_value("LOYAL", description=DESCRIPTIONS["LOYAL"])
    NEW = strawberry.enum_value("NEW", description=DESCRIPTIONS["NEW"])
    AT_RISK = strawberry.enum_value("AT_RISK", description=DESCRIPTIONS["AT_RISK"])
    ZOMBIE = strawberry.enum_value("ZOMBIE", description=DESCRIPTIONS["ZOMBIE"])
    FADING_STAR = strawberry.enum_value("FADING_STAR", description=DESCRIPTIONS["FADING_STAR"])


@strawberry.enum(description="Contact channels.")
class Channel(Enum):
    EMAIL = strawberry.enum_value("EMAIL", description="E-mail.")
    SMS = strawberry.enum_value("SMS", description="Text messages.")
    PUSH = strawberry.enum_value("PUSH", description="Web or app push notifications.")
    PHONE = strawberry.enum_value("PHONE", description="Phone calls.")


@strawberry.type(
    description="Recency, frequency, monetary and engagement scores, 1-5 by population quintiles."
)
class Rfm:
    recency: int = strawberry.field(description="5: the most recent fifth of buyers.")
    frequency: int = strawberry.field(description="5: the most frequent fifth (last 365 days).")
    monetary: int = strawberry.field(description="5: the highest-spending fifth (last 365 days).")
    engagement: int = strawberry.field(
        description="5: the most engaged fifth (e-mail opens and clicks, 90 days)."
    )
    recency_days: int | None = strawberry.field(
        description="Days since the last completed purchase."
    )
    purchases_12m: int = strawberry.field(description="Completed purchases in the last 365 days.")
    spend_12m_cents: BigInt = strawberry.field(description="Spend in the last 365 days.")
    reference_date: datetime = strawberry.field(description="The moment scores are computed as of.")


@strawberry.type(description="A member's standing choice for one channel.")
class Consent:
    channel: Channel = strawberry.field(description="The channel.")
    granted: bool | None = strawberry.field(
        description="Opted in (true), out (false), or never asked (null)."
    )
    source: Source | None = strawberry.field(description="Source of the choice.")
    record: str | None = strawberry.field(
        extensions=[MaskPII("key")], description="Record key of the choice."
    )
    at: datetime | None = strawberry.field(description="When it was made.")
    line: str | None = strawberry.field(
        default=None, description="The source line that made it (a contact id, an event id)."
    )
    history: list[ConsentChange] = strawberry.field(
        default_factory=list,
        description="Every choice on the channel, oldest first: a line's first value and each "
        "change of it (a CRM snapshot repeating its value is no new choice).",
    )


@strawberry.type(description="One choice on a channel: what a source line changed it to, when.")
class ConsentChange:
    granted: bool = strawberry.field(description="Opted in (true) or out (false).")
    at: datetime | None = strawberry.field(description="When (the line's time).")
    source: Source = strawberry.field(description="Source of the line.")
    record: str = strawberry.field(
        extensions=[MaskPII("key")], description="Record key the line belongs to."
    )
    line: str = strawberry.field(description="The line's id.")


@strawberry.type(
    description="One fact on the member's timeline; exactly one of the fact fields is set."
)
class ActivityItem:
    kind: ActivityKind = strawberry.field(description="What the item is.")
    at: datetime = strawberry.field(description="When it happened.")
    transaction: Transaction | None = strawberry.field(description="The purchase, for PURCHASE.")
    web_event: WebEvent | None = strawberry.field(description="The event, for WEB.")
    call: CallInteraction | None = strawberry.field(description="The call, for CALL.")


@strawberry.type(description="A timeline item and its cursor.")
class ActivityEdge:
    cursor: str = strawberry.field(description="Opaque cursor.")
    node: ActivityItem = strawberry.field(description="The item.")


@strawberry.type(description="The member's purchases, web events and calls, newest first.")
class ActivityConnection:
    edges: list[ActivityEdge] = strawberry.field(description="This page.")
    page_info: PageInfo = strawberry.field(description="Paging information.")
    total_count: int = strawberry.field(description="All items.")


@strawberry.enum(description="How far an offer went.")
class OfferState(Enum):
    ISSUED = strawberry.enum_value("ISSUED", description="Given to the member, not sent yet.")
    SENT = strawberry.enum_value("SENT", description="Sent on at least one channel.")
    VIEWED = strawberry.enum_value("VIEWED", description="The member saw it.")
    REDEEMED = strawberry.enum_value(
        "REDEEMED", description="Used: online, at the till or through the call center."
    )
    EXPIRED = strawberry.enum_value("EXPIRED", description="Past its expiry, never used.")


@strawberry.type(description="One offer of the member's ledger: its state and where it was used.")
class OfferStatus:
    offer: str = strawberry.field(description="Offer name or code.")
    state: OfferState = strawberry.field(description="How far it went.")
    sent_on: list[str] = strawberry.field(description="Channels it was sent on (email, sms, ...).")
    expires_at: datetime | None = strawberry.field(description="Until when it may be used.")
    redeemed: bool = strawberry.field(description="Used (by any source).")
    redeemed_at: datetime | None = strawberry.field(description="When it was first used.")
    redeemed_via: str | None = strawberry.field(
        description="Where it was used: web, store (the till), online or call."
    )
    redeemed_ref: str | None = strawberry.field(
        description="The line that used it (event, transaction or interaction id)."
    )
    last_seen_at: datetime = strawberry.field(description="Last line about it.")


@strawberry.type(description="The call-center view of a member.")
class CallCenterSummary:
    calls: int = strawberry.field(description="Calls on record.")
    open_complaints: int = strawberry.field(description="Complaints not resolved.")
    last_contact_at: datetime | None = strawberry.field(description="Last call.")
    average_sentiment: float | None = strawberry.field(description="Mean sentiment, -1 to 1.")
    sentiment_trend: float | None = strawberry.field(
        description="Mean of the last 3 calls minus the 3 before."
    )


@strawberry.type(description="How many members a segment holds.")
class SegmentCount:
    segment: Segment = strawberry.field(description="The segment.")
    members: int = strawberry.field(description="Members in it.")

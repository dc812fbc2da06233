"""GraphQL types of the analyst's lists: member filters and orders, ``memberStats`` groups,
and ``identityConflicts`` as a connection."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any, cast

import strawberry

from membergraph.identity.store.conflict_state import ConflictState as ConflictStateName
from membergraph.identity.store.metrics_port import (
    ConflictQuery,
    GroupKey,
    MemberQuery,
    OrderField,
    Range,
    StatsRow,
)
from membergraph.resolvers.errors import bad_input
from membergraph.resolvers.paging import Page
from membergraph.schema.enums import PurchaseChannel, Source
from membergraph.schema.facts import BigInt, PageInfo, page_info
from membergraph.schema.insights import Channel, Segment
from membergraph.schema.types import IdentityEvent, identity_event
from membergraph.settings import Settings

__all__ = [
    "AmountRange",
    "ConflictFilter",
    "ConflictKind",
    "ConflictState",
    "IdentityConflictConnection",
    "MemberFilter",
    "MemberOrder",
    "MemberStatsGroup",
    "StatsDimension",
    "conflict_connection",
    "conflict_query",
    "member_query",
    "order_of",
    "stats_group",
]


@strawberry.input(description="Inclusive bounds; either may be left out.")
class AmountRange:
    min: BigInt | None = strawberry.field(default=None, description="At least this.")
    max: BigInt | None = strawberry.field(default=None, description="At most this.")


@strawberry.input(description="Which members to list: every condition given must hold.")
class MemberFilter:
    source: Source | None = strawberry.field(
        default=None, description="Only members with a record from this source."
    )
    segment: Segment | None = strawberry.field(
        default=None, description="Only members in this segment."
    )
    tier: str | None = strawberry.field(
        default=None, description="Only members in this loyalty tier (e.g. GOLD)."
    )
    lifetime_spend_cents: AmountRange | None = strawberry.field(
        default=None, description="Lifetime spend, in cents."
    )
    spend_12m_cents: AmountRange | None = strawberry.field(
        default=None, description="Spend in the last 12 months, in cents."
    )
    points_balance: AmountRange | None = strawberry.field(
        default=None, description="Points balance."
    )
    last_purchase_after: datetime | None = strawberry.field(
        default=None, description="Last purchase strictly after this moment."
    )
    last_purchase_before: datetime | None = strawberry.field(
        default=None, description="Last purchase strictly before this moment (buyers only)."
    )
    consent: Channel | None = strawberry.field(
        default=None, description="Opted in on this channel."
    )
    reachable: Channel | None = strawberry.field(
        default=None, description="Opted in on this channel, with an identifier to reach."
    )

    def needs_metrics(self) -> bool:
        """Anything beyond the source: the store's metrics answer it."""
        return any(v is not None for k, v in vars(self).items() if k != "source")


@strawberry.enum(description="What `members` can be ordered by.")
class MemberOrderField(Enum):
    ID = strawberry.enum_value("member_id", description="Member ID (the default).")
    LIFETIME_SPEND = strawberry.enum_value("lifetime_spend_cents", description="Lifetime spend.")
    SPEND_12M = strawberry.enum_value("monetary_cents", description="Spend, last 12 months.")
    POINTS_BALANCE = strawberry.enum_value("points_balance", description="Points balance.")
    LAST_PURCHASE = strawberry.enum_value(
        "last_purchase_at",
        description="Last purchase (members who never bought rank lowest: first ascending, "
        "last descending).",
    )
    MEMBER_SINCE = strawberry.enum_value(
        "member_since",
        description="When the member began (the members of one load began together: among "
        "them, by ID).",
    )


@strawberry.enum(description="Order direction.")
class OrderDirection(Enum):
    ASC = strawberry.enum_value("ASC", description="Smallest first.")
    DESC = strawberry.enum_value("DESC", description="Largest first.")


@strawberry.input(description="An order of `members`; ties go by member ID, the same way.")
class MemberOrder:
    field: MemberOrderField = strawberry.field(description="What to order by.")
    direction: OrderDirection = strawberry.field(
        default=OrderDirection.ASC, description="ASC or DESC."
    )


@strawberry.enum(description="What `memberStats` groups by.")
class StatsDimension(Enum):
    SEGMENT = strawberry.enum_value(
        "segment",
        description="Segment (a member may be in several; the members in none are their own "
        "group, its segment null).",
    )
    TIER = strawberry.enum_value("tier", description="Loyalty tier.")
    CHANNEL = strawberry.enum_value(
        "channel",
        description="Purchase channel: store or online (the members with no purchase are "
        "their own group, `noPurchase`).",
    )
    MONTH = strawberry.enum_value(
        "month",
        description="Month of the purchase, YYYY-MM (the members with no purchase are their "
        "own group, `noPurchase`).",
    )
    STORE = strawberry.enum_value(
        "store",
        description="Store of the purchase (null: a purchase of no store, an online order; "
        "the members with no purchase are their own group, `noPurchase`).",
    )


@strawberry.type(description="One group of `memberStats`: its key and its sums.")
class MemberStatsGroup:
    segment: Segment | None = strawberry.field(
        description="The group's segment, if grouped (null, grouped by SEGMENT: the members in "
        "no segment)."
    )
    tier: str | None = strawberry.field(description="The group's tier, if grouped.")
    channel: PurchaseChannel | None = strawberry.field(
        description="The group's channel, if grouped."
    )
    month: str | None = strawberry.field(description="The group's month, if grouped.")
    store: str | None = strawberry.field(
        description="The group's store, if grouped (null in a group of buyers: purchases of "
        "no store, online orders)."
    )
    no_purchase: bool = strawberry.field(
        description="True for the group of the members without any purchase or refund line "
        "(by the reference), when grouped by CHANNEL, MONTH or STORE: its channel, month and "
        "store are null. Online buyers are never in it. False for every other group."
    )
    members: int = strawberry.field(
        description="Members in the group (by channel, month or store: those with a purchase "
        "in it; a member who bought in two months is in both)."
    )
    purchases: int = strawberry.field(description="Purchases (completed, by the reference).")
    spend_cents: BigInt = strawberry.field(
        description="Spend, refund lines taken off the purchases they refund (in the "
        "purchase's month, channel and store; never below 0)."
    )
    points_issued: BigInt = strawberry.field(description="Points earned on purchases.")
    points_redeemed: BigInt = strawberry.field(description="Points redeemed on purchases.")


def stats_group(row: StatsRow) -> MemberStatsGroup:
    segment = row.key.get("segment")
    return MemberStatsGroup(
        segment=Segment(segment) if segment else None,
        tier=row.key.get("tier"),
        channel=PurchaseChannel(row.key["channel"]) if row.key.get("channel") else None,
        month=row.key.get("month"),
        store=row.key.get("store"),
        no_purchase=row.no_purchase,
        members=row.members,
        purchases=row.purchases,
        spend_cents=BigInt(row.spend_cents),
        points_issued=BigInt(row.points_earned),
        points_redeemed=BigInt(row.points_redeemed),
    )


def _range(bounds: AmountRange | None, argument: str) -> Range | None:
    if bounds is None:
        return None
    if bounds.min is not None and bounds.max is not None and bounds.min > bounds.max:
        raise bad_input(f"{argument}: min is above max", argument=f"filter.{argument}")
    return Range(bounds.min, bounds.max)


def _micros(moment: datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1_000_000)


def member_query(found: MemberFilter | None, settings: Settings) -> MemberQuery:
    """The store's query for a filter; an unknown source or tier is BAD_USER_INPUT."""
    if found is None:
        return MemberQuery()
    if found.tier is not None and found.tier not in settings.tiers:
        known = ", ".join(settings.tiers)
        raise bad_input(f"unknown tier {found.tier!r}; use one of {known}", argument="filter.tier")
    bought = None
    if found.last_purchase_after is not None or found.last_purchase_before is not None:
        after, before = found.last_purchase_after, found.last_purchase_before
        if after is not None and before is not None and _micros(after) >= _micros(before):
            # (both bounds are exclusive: no moment lies between them; a spend range with
            # min above max is refused alike, user31b 10b)
            raise bad_input(
                "lastPurchaseAfter is not before lastPurchaseBefore: no moment lies between",
                argument="filter.lastPurchaseAfter",
            )
        bought = Range(
            _micros(after) + 1 if after else None, _micros(before) - 1 if before else None
        )
    return MemberQuery(
        segment=str(found.segment.value) if found.segment else None,
        tier=found.tier,
        source=str(found.source.value) if found.source else None,
        lifetime_spend_cents=_range(found.lifetime_spend_cents, "lifetimeSpendCents"),
        monetary_cents=_range(found.spend_12m_cents, "spend12mCents"),
        points_balance=_range(found.points_balance, "pointsBalance"),
        last_purchase_at=bought,
        consented=str(found.consent.value) if found.consent else None,
        reachable=str(found.reachable.value) if found.reachable else None,
    )


def order_of(order: MemberOrder | None) -> tuple[OrderField, bool]:
    if order is None:
        return OrderField.MEMBER_ID, False
    return OrderField(str(order.field.value)), order.direction is OrderDirection.DESC


def group_keys(dimensions: list[StatsDimension]) -> list[GroupKey]:
    return [cast(GroupKey, str(d.value)) for d in dimensions]


@strawberry.enum(
    description="Kinds of identity conflict: evidence the engine did not follow, listed for "
    "stewards. A conflict event's `rule` holds its kind."
)
class ConflictKind(Enum):
    LIMIT = strawberry.enum_value(
        "limit", description="A link would give a member a second CRM id or loyalty number."
    )
    CANNOT_LINK = strawberry.enum_value(
        "cannot_link", description="A rule would join records a steward kept apart."
    )
    SHARED_DEVICE = strawberry.enum_value(
        "shared_device",
        description="A web visitor whose evidence names two members (logged in as both).",
    )
    CALL_MISMATCH = strawberry.enum_value(
        "call_mismatch",
        description="A call whose caller's phone and the account the agent typed disagree.",
    )
    AMBIGUOUS = strawberry.enum_value(
        "ambiguous", description="A call whose evidence names several members equally."
    )
    BIRTHS_APART = strawberry.enum_value(
        "births_apart",
        description="A duplicate link that would put two CRM contacts whose birth dates "
        "disagree in one member, through a contact that gave no date (two namesakes).",
    )
    CARDS_APART = strawberry.enum_value(
        "cards_apart",
        description="A duplicate link that would put in one member two cards that each order "
        "online under an address of its own over the same months (a son and his father).",
    )


@strawberry.enum(description="Where a conflict stands with the stewards (`resolveConflict`).")
class ConflictState(Enum):
    OPEN = strawberry.enum_value(
        "open", description="Not decided, or opened again by an undo of its decision."
    )
    RESOLVED = strawberry.enum_value(
        "resolved",
        description="A steward linked its records or dismissed it (its `conflict_resolved` "
        "event is in the member's `identityHistory`).",
    )
    ALL = strawberry.enum_value("all", description="Both.")


@strawberry.enum(description="The order of `identityConflicts`.")
class ConflictOrder(Enum):
    NEWEST = strawberry.enum_value("newest", description="Newest first (the default).")
    OLDEST = strawberry.enum_value(
        "oldest", description="Oldest first: those that have waited longest."
    )


@strawberry.input(description="Which identity conflicts: every condition given must hold.")
class ConflictFilter:
    kind: ConflictKind | None = strawberry.field(
        default=None,
        description="Only conflicts of this kind (the event's `rule`; every conflict event's "
        "own `kind` is `conflict`).",
    )
    since: datetime | None = strawberry.field(default=None, description="At or after this.")
    until: datetime | None = strawberry.field(default=None, description="Before this.")
    member_id: strawberry.ID | None = strawberry.field(
        default=None, description="Only this member's conflicts."
    )
    state: ConflictState = strawberry.field(
        default=ConflictState.OPEN,
        description="Open ones (the default: the stewards' queue), resolved ones, or all. "
        "Evidence that comes back after a decision is a new conflict, open.",
    )


def conflict_query(found: ConflictFilter | None) -> ConflictQuery:
    if found is None:
        return ConflictQuery(state="open")

    def utc(moment: datetime | None) -> datetime | None:
        # In UTC, as events are kept: compared as text, 11:34+02:00 came after 10:00+00:00.
        if moment is None:
            return None
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        try:
            return moment.astimezone(UTC)
        except OverflowError:  # before year 1 or after 9999 in UTC: before or after all
            return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)

    member = str(found.member_id) if found.member_id is not None else None
    kind = str(found.kind.value) if found.kind is not None else None
    state = cast(ConflictStateName, str(found.state.value))
    return ConflictQuery(kind, utc(found.since), utc(found.until), member, state)


@strawberry.type(description="A conflict and its cursor.")
class IdentityConflictEdge:
    cursor: str = strawberry.field(description="Opaque cursor.")
    node: IdentityEvent = strawberry.field(description="The conflict event.")


@strawberry.type(description="Identity conflicts, newest first (or oldest: `orderBy`).")
class IdentityConflictConnection:
    edges: list[IdentityConflictEdge] = strawberry.field(description="This page.")
    page_info: PageInfo = strawberry.field(description="Paging information.")
    total_count: int = strawberry.field(description="Conflicts matching the filter.")


def conflict_connection(page: Page[Any]) -> IdentityConflictConnection:
    return IdentityConflictConnection(
        edges=[IdentityConflictEdge(cursor=c, node=identity_event(e)) for c, e in page.items],
        page_info=page_info(page),
        total_count=page.total,
    )

"""GraphQL types of what happened to a member: purchases, visits, calls, and the loyalty
standing they add up to; the ``BigInt`` scalar their sums need; Relay paging.

Resolvers hand back domain objects; these types read them (see :mod:`.types` for the
identity graph's types).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any, NewType

import strawberry
from graphql import GraphQLError, ValueNode, value_from_ast_untyped
from strawberry.scalars import JSON

from membergraph.connectors.models import SourceName
from membergraph.masking import meaning_of_kind
from membergraph.resolvers.paging import Page
from membergraph.schema.enums import (
    AccountKind,
    PurchaseChannel,
    TransactionStatus,
    WebEventType,
)
from membergraph.schema.permissions import MaskPII
from membergraph.schema.types import Ctx, Record, as_record, value_of

_LARGEST = 2**53 - 1  # what a JavaScript number holds exactly


_WHOLE = re.compile(r"[-+]?[0-9]+")  # ASCII digits: int() would take "1_000" and "١٢٣" too
_DECIMAL = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")


def _big_int(value: Any, typed: str | None = None) -> int:
    """``value`` as a whole number (``typed``: the literal as the query wrote it)."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and _WHOLE.fullmatch(value):
        if len(value.lstrip("+-0")) > len(str(_LARGEST)):
            # Before int(): past 4,300 digits it raises Python's own advice, not ours.
            raise ValueError(f"BigInt {value} is beyond 2^53-1 ({_LARGEST})")
        number = int(value)
    else:
        shown = typed or repr(value)
        written = _whole_as_written(value)
        if written is None:
            raise ValueError(f"BigInt cannot represent {shown}: not a whole number")
        if written.copy_abs() > _LARGEST:  # copy_abs: no context, no overflow at 1e999999999
            raise ValueError(f"BigInt {shown} is beyond 2^53-1 ({_LARGEST})")
        # 1e3 and 1000.0 are floats to GraphQL, which no whole-number type takes; "1e3" in a
        # string is the same number, refused the same way.
        what = "a float to GraphQL" if isinstance(value, float) else "not written as one"
        raise ValueError(
            f"BigInt takes whole numbers only, and {shown} is {what}: "
            f"write {int(written)}, without a decimal point or an exponent"
        )
    if abs(number) > _LARGEST:
        raise ValueError(f"BigInt {number} is beyond 2^53-1 ({_LARGEST})")
    return number


def _whole_as_written(value: Any) -> Decimal | None:
    """A whole number written with a decimal point or an exponent (a float, or a string
    such as ``"1e3"``); None for anything else (``1.5``, ``"abc"``, infinity)."""
    if isinstance(value, float):
        return Decimal(value) if value.is_integer() else None
    if isinstance(value, str) and _DECIMAL.fullmatch(value):
        number = Decimal(value)
        if number.copy_abs() > _LARGEST or number == number.to_integral_value():
            return number
    return None


def _big_int_literal(node: ValueNode, variables: dict[str, Any] | None = None) -> int:
    # Raised as a GraphQLError, validation says it as it is: any other exception would be
    # wrapped as an unexpected one, masked ("Unexpected error.") and logged as a failure.
    try:
        return _big_int(value_from_ast_untyped(node, variables), getattr(node, "value", None))
    except ValueError as exc:
        raise GraphQLError(str(exc), node) from None


BigInt = NewType("BigInt", int)
BIG_INT = strawberry.scalar(
    name="BigInt",
    description="A whole number up to 2^53-1 (exact in JavaScript), sent as a JSON number: "
    "sums of amounts and points, which GraphQL's 32-bit Int cannot always carry. Taken as a "
    'whole number or a string of ASCII digits; `1e3`, `1000.0` and `"1e3"` are refused, '
    "saying what to write.",
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
        description="Spend over completed transactions, each net of the refund lines that "
        "refund it (never below 0: a refund whose purchase is not held counts nothing until "
        "it arrives)."
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

    @strawberry.field(
        description="The member's record it belongs to, as `records` lists it (its card, "
        "or its online customer): the store's attribution, which the card or e-mail as "
        "given may not show (`ld.1234.5678` is card `LD12345678`)."
    )
    def record(self, root: strawberry.Parent[Any], info: Ctx) -> Record | None:
        return _record_of(info, SourceName.TRANSACTIONS, root)


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

    @strawberry.field(
        description="The member's visitor record it belongs to, as `records` lists it (the "
        "device, or the device under a login)."
    )
    def record(self, root: strawberry.Parent[Any], info: Ctx) -> Record | None:
        return _record_of(info, SourceName.WEB_ANALYTICS, root)


def _record_of(info: Ctx, source: SourceName, line: Any) -> Record | None:
    found = info.context.record_of(source, line)
    return None if found is None else as_record(found)


@strawberry.type(description="The account an agent typed.")
class AccountRef:
    kind: AccountKind = strawberry.field(description="What was typed.")
    value: str = strawberry.field(
        extensions=[MaskPII(lambda root: meaning_of_kind(value_of(root.kind)))],
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
    reason: str | None = strawberry.field(
        # A reason code, or whatever the agent typed there: an e-mail in it is masked.
        extensions=[MaskPII()],
        description="Reason for the call.",
    )
    sentiment: float | None = strawberry.field(description="Sentiment from -1 to 1.")
    resolved: bool | None = strawberry.field(description="Whether the issue was resolved.")


@strawberry.type(description="Paging information of a connection.")
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="Items follow this page: pass `endCursor` as `after` to read them."
    )
    has_previous_page: bool = strawberry.field(
        description="Items precede this page. On `transactions` and `activity` exact, "
        "whichever way the page was read (pass `startCursor` as `before`, with `last`, to "
        "read them); on lists that page forward only, true on every page read after a cursor."
    )
    start_cursor: str | None = strawberry.field(
        description="Cursor of the first item; pass as `before` where a list takes it."
    )
    end_cursor: str | None = strawberry.field(
        description="Cursor of the last item; pass as `after`."
    )


def page_info(page: Page[Any]) -> PageInfo:
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
